"""Flexie's error shape: ``{"errors": [{"code": 400, "message": ..., "type": ..., "field": ...}]}``.

Flexie documents 400 for every bad input: a refused value, a taken unique value and a
body the server cannot read are all 400s, each item naming the offending field (as the
client sent it) where there is one.
"""

from __future__ import annotations

from typing import Any

from crm.api.common.problems import ErrorShape, Problem

_MESSAGES = {
    400: "Bad request",
    401: "API key is missing or invalid",
    403: "You do not have access to this resource",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body is too large",
    415: "Send JSON with Content-Type: application/json",
}

#: The JSON schema of every Flexie error answer, for the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message", "type"],
                "properties": {
                    "code": {"type": "integer", "description": "The HTTP status"},
                    "message": {"type": "string"},
                    "type": {"type": "string", "description": "A stable code of the error"},
                    "field": {"type": "string", "description": "The offending field"},
                },
            },
        }
    },
}


def _item(status: int, code: str, message: str, field: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"code": status, "message": message, "type": code}
    if field:
        out["field"] = field
    return out


def _body(problem: Problem) -> dict[str, Any]:
    details = [d for d in problem.details if d.get("field")]
    if not details:
        return {"errors": [_item(problem.status, problem.code, problem.message)]}
    return {
        "errors": [
            _item(
                problem.status,
                d.get("code") or problem.code,
                f"{d['field']}: {d.get('message', problem.message)}",
                d["field"],
            )
            for d in details
        ]
    }


SHAPE = ErrorShape(
    body=_body,
    schema=ERROR_SCHEMA,
    http_messages=_MESSAGES,
    internal_message="Something went wrong on our side",
    statuses={409: 400, 415: 400, 422: 400},
)
