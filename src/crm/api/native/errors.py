"""The native API's error shape: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.errors import server_trouble, status_of
from crm.api.common.http import json_response, media_type
from crm.api.common.methods import error_headers
from crm.api.common.retry import RetryTransient
from crm.core import errors as e

_HTTP_CODES = {
    400: "malformed_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


#: The JSON schema of every native error answer, for the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["not_found"]},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def render_status(status: int, message: str) -> bytes:
    """A bare error body for a status, for middleware that answers before routing."""
    return orjson.dumps(error_body(_HTTP_CODES.get(status, "error"), message))


async def _crm_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.CRMError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.Unauthenticated) else None
    return json_response(error_body(exc.code, exc.message, exc.details), status_of(exc), headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path")
        else [str(p) for p in loc]
    )
    return ".".join(parts) or str(loc[0] if loc else "body")


def _sends_other_than_json(request: Request) -> bool:
    media = media_type(request)
    return bool(media) and media != "application/json" and not media.endswith("+json")


async def _request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    if _sends_other_than_json(request) and any(p["loc"][:1] == ("body",) for p in problems):
        return json_response(
            error_body("unsupported_media_type", "Send JSON with Content-Type: application/json"),
            415,
        )
    if any(p["type"] == "json_invalid" for p in problems):
        return json_response(
            error_body("malformed_request", "The request body is not valid JSON"), 400
        )
    if any(p["type"] == "missing" and tuple(p["loc"]) == ("body",) for p in problems):
        return json_response(error_body("malformed_request", "A JSON body is required"), 400)
    details = [
        {
            "field": _location(tuple(p["loc"])),
            "code": "unknown" if p["type"] == "extra_forbidden" else "invalid",
            "message": p["msg"],
        }
        for p in problems
    ]
    return json_response(error_body("validation_failed", "Validation failed", details), 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "No such endpoint", 405: "Method not allowed"}.get(
        exc.status_code, str(exc.detail)
    )
    return json_response(
        error_body(_HTTP_CODES.get(exc.status_code, "error"), message),
        exc.status_code,
        error_headers(request, exc),
    )


async def _unexpected(_request: Request, exc: Exception) -> Response:
    status, headers, message = server_trouble(exc)
    code = "unavailable" if status == 503 else "internal_error"
    return json_response(error_body(code, message), status, headers)


def install(app: FastAPI) -> None:
    """Register the native error handlers on ``app``, and the net that runs a request
    again after a transient database abort."""
    app.add_exception_handler(e.CRMError, _crm_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RetryTransient)
