"""Leadflip's error shape: ``{"status": "error", "message": ...}``, plus ``errors`` on 422.

Validation errors list messages per field, ``{"email": ["The email field is required."]}``.
A unique value taken by another record is a validation error here (Leadflip documents no
409), and so is a stage that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.responses import Response

from crm.api.common.problems import ErrorShape, Problem
from crm.core import errors as e

#: Leadflip's words for the errors of the framework (an unknown route, a refused method).
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


def _sentence(field: str, message: str) -> str:
    """``("email", "is required")`` reads "The email field is required."."""
    name = field.replace("_", " ")
    if message.startswith(("is ", "must ", "has ", "links ", "matches ")):
        return f"The {name} field {message}."
    return f"{message[:1].upper()}{message[1:]}."


def _field_errors(details: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Error details as Leadflip's ``errors`` object: sentences per field."""
    out: dict[str, list[str]] = defaultdict(list)
    for d in details:
        field = d.get("field", "") or "body"
        message = "is required" if d.get("code") == "required" else d.get("message", "")
        if d.get("code") == "duplicate":
            message = "has already been taken"
        out[field].append(_sentence(field, message))
    return dict(out)


def _body(problem: Problem) -> dict[str, Any]:
    if problem.status == 422:
        return {
            "status": "error",
            "message": "Validation error",
            "errors": _field_errors(problem.details),
        }
    return {"status": "error", "message": problem.message}


SHAPE = ErrorShape(
    body=_body,
    schema=ERROR_SCHEMA,
    http_messages=_MESSAGES,
    internal_message="Server error",
    statuses={409: 422},
)


def described(exc: e.CRMError) -> dict[str, Any]:
    """A core error as Leadflip's message (and ``errors``), for one item of a batch."""
    shown = _body(SHAPE.problem(exc))
    return {k: v for k, v in shown.items() if k != "status"}


def answer(exc: e.CRMError, *, not_found: str = "") -> Response:
    """The Leadflip answer to a core error; a 404 says ``not_found`` where it is given."""
    problem = SHAPE.problem(exc)
    if problem.status == 404 and not_found:
        problem = Problem(404, problem.code, not_found, problem.details, problem.headers)
    return SHAPE.respond(problem)
