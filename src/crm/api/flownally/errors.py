"""Flownally's error body: ``{"error": {"code": 404, "status": "NOT_FOUND", "message",
"details"}}``, the HTTP status as a number and its canonical name."""

from __future__ import annotations

from typing import Any

from crm.api.common.problems import ErrorShape, Problem

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


def _body(problem: Problem) -> dict[str, Any]:
    details: dict[str, dict[str, Any]] = {}
    for d in problem.details:  # two core names may become one: keep its first problem
        details.setdefault(d.get("field", ""), d)
    return {
        "error": {
            "code": problem.status,
            "status": STATUS_NAMES.get(problem.status, "UNKNOWN"),
            "message": problem.message,
            "details": list(details.values()),
        }
    }


SHAPE = ErrorShape(body=_body, schema=ERROR_SCHEMA)
