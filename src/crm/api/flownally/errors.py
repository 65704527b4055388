"""Flownally's error body: ``{"error": {"code": 404, "status": "NOT_FOUND", "message",
"details"}}``, the HTTP status as a number and its canonical name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.errors import server_trouble, status_of
from crm.api.common.http import json_response
from crm.api.common.methods import error_headers
from crm.api.common.retry import RetryTransient
from crm.core import errors as e

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


#: The JSON schema of every Flownally error answer, for the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "status", "message", "details"],
            "properties": {
                "code": {"type": "integer", "description": "The HTTP status"},
                "status": {"type": "string", "enum": sorted({*STATUS_NAMES.values(), "UNKNOWN"})},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "status": STATUS_NAMES.get(status, "UNKNOWN"),
            "message": message,
            "details": details or [],
        }
    }


@contextmanager
def renamed(names: dict[str, str]) -> Iterator[None]:
    """Validation errors raised inside name what the client sent, not the core's names."""
    try:
        yield
    except e.ValidationFailed as exc:
        details: dict[str, dict[str, Any]] = {}
        for d in exc.details:  # two core names may become one: keep its first problem
            field = names.get(d["field"], d["field"])
            details.setdefault(field, {**d, "field": field})
        raise e.ValidationFailed(exc.message, list(details.values())) from None


def render_status(status: int, message: str) -> bytes:
    """A bare error body, for middleware that answers before routing."""
    return orjson.dumps(body(status, message))


async def _crm_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.CRMError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response(body(status, exc.message, exc.details), status, headers)


async def _request_invalid(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    if any(p["type"] == "json_invalid" for p in problems):
        return json_response(body(400, "The request body is not valid JSON"), 400)
    details = [
        {
            "field": ".".join(str(p) for p in problem["loc"][1:]) or "body",
            "code": "unknown" if problem["type"] == "extra_forbidden" else "invalid",
            "message": problem["msg"],
        }
        for problem in problems
    ]
    return json_response(body(422, "Validation failed", details), 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "No such endpoint", 405: "Method not allowed"}.get(
        exc.status_code, str(exc.detail)
    )
    return json_response(
        body(exc.status_code, message), exc.status_code, error_headers(request, exc)
    )


async def _unexpected(_request: Request, exc: Exception) -> Response:
    status, headers, message = server_trouble(exc)
    return json_response(body(status, message), status, headers)


def install(app: FastAPI) -> None:
    """Register Flownally's error handlers on ``app``, and the net that runs a request
    again after a transient database abort."""
    app.add_exception_handler(e.CRMError, _crm_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RetryTransient)
