"""Leadflip's error shape: ``{"status": "error", "message": ...}``, plus ``errors`` on 422.

Validation errors list messages per field, ``{"email": ["The email field is required."]}``.
A unique value taken by another record is a validation error here (Leadflip documents no
409), and so is a stage that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
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

_MESSAGES = {
    400: "Malformed request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation error",
}


#: The JSON schema of every Leadflip error answer, for the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "message"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "message": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Messages per field, on 422",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def body(message: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "error", "message": message}
    if errors is not None:
        out["errors"] = errors
    return out


def render_status(status: int, message: str) -> bytes:
    """A bare error body, for middleware that answers before routing."""
    return orjson.dumps(body(message))


def _sentence(field: str, message: str) -> str:
    """``("email", "is required")`` reads "The email field is required."."""
    name = field.replace("_", " ")
    if message.startswith(("is ", "must ", "has ", "links ", "matches ")):
        return f"The {name} field {message}."
    return f"{message[:1].upper()}{message[1:]}."


def field_errors(details: list[dict[str, Any]], rename: dict[str, str]) -> dict[str, list[str]]:
    """Core error details as Leadflip's ``errors`` object, with core field names renamed."""
    out: dict[str, list[str]] = defaultdict(list)
    for d in details:
        field = rename.get(d.get("field", ""), d.get("field", "") or "body")
        message = "is required" if d.get("code") == "required" else d.get("message", "")
        if d.get("code") == "duplicate":
            message = "has already been taken"
        out[field].append(_sentence(field, message))
    return dict(out)


def described(exc: e.CRMError, rename: dict[str, str] | None = None) -> dict[str, Any]:
    """A core error as Leadflip's message (and ``errors``), for one item of a batch."""
    if isinstance(exc, e.ValidationFailed | e.Conflict):
        return {
            "message": "Validation error",
            "errors": field_errors(exc.details, rename or {}),
        }
    return {"message": exc.message}


def answer(
    exc: e.CRMError, *, not_found: str = "", rename: dict[str, str] | None = None
) -> Response:
    """The Leadflip answer to a core error."""
    if isinstance(exc, e.ValidationFailed | e.Conflict):
        return json_response({"status": "error", **described(exc, rename)}, 422)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    message = not_found if status == 404 and not_found else exc.message
    return json_response(body(message), status, headers)


async def _crm_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.CRMError)
    return answer(exc)


async def _request_invalid(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, list[str]] = defaultdict(list)
    for problem in exc.errors():
        field = ".".join(str(p) for p in problem["loc"][1:]) or "body"
        errors[field].append(f"{problem['msg']}.")
    return json_response(body("Validation error", dict(errors)), 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _MESSAGES.get(exc.status_code, str(exc.detail))
    return json_response(body(message), exc.status_code, error_headers(request, exc))


async def _unexpected(_request: Request, exc: Exception) -> Response:
    status, headers, message = server_trouble(exc)
    return json_response(body("Server error" if status == 500 else message), status, headers)


def install(app: FastAPI) -> None:
    """Register Leadflip's error handlers on ``app``, and the net that runs a request
    again after a transient database abort."""
    app.add_exception_handler(e.CRMError, _crm_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RetryTransient)
