"""The native API's error shape: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from crm.api.common.problems import ErrorShape, Problem

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


def _body(problem: Problem) -> dict[str, Any]:
    return error_body(problem.code, problem.message, problem.details)


SHAPE = ErrorShape(body=_body, schema=ERROR_SCHEMA)
