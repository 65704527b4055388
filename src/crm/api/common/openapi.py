"""Every face's OpenAPI document, completed by one set of rules so that it tells the truth.

FastAPI documents only the success answer of an operation (and a 422 in its own
``{"detail": ...}`` shape, which no face uses). :func:`complete` gives every operation the
error answers the server can actually send, each in the face's own error shape, declares the
bearer key every operation needs, and drops FastAPI's own validation schemas. A face serves
its completed document at ``/openapi.json`` under its own base (:func:`serve_document`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response

__all__ = [
    "ERRORS",
    "WRITE_ERRORS",
    "complete",
    "document",
    "json_body",
    "request_body",
    "serve_document",
    "words",
]

#: What each error status means, the same on every face.
_MEANINGS = {
    400: "Malformed request: the body is not what its content type says",
    401: "No key, or an unknown or revoked key",
    403: "The key lacks the scope or permission",
    404: "No such resource in the key's workspace",
    409: "Conflicts with the current state (a taken unique value, already archived, ...)",
    413: "The request body is too large",
    415: "The body comes in a content type the operation does not read",
    422: "Validation failed; the error names each field",
    429: "Too many requests; retry after the number of seconds in Retry-After",
    503: "The database was too busy with other writes; retry after Retry-After seconds",
}

#: Statuses every operation can answer: any request may be malformed, unauthenticated,
#: forbidden, aimed at a missing resource, oversized, invalid, rate limited, or meet a
#: database too busy to record it (SQLite's write lock; a read records its key's use).
ERRORS = (400, 401, 403, 404, 413, 422, 429, 503)
#: Statuses only a request that changes something can answer (PUT, POST, PATCH, DELETE).
WRITE_ERRORS = (409,)
#: Statuses only an operation that reads a body can answer.
BODY_ERRORS = (415,)

_METHODS = ("get", "put", "post", "patch", "delete")
_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before retrying",
    }
}
#: How a client presents its key unless a face says otherwise.
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key, `ak_...`"}}
_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


def words(max_length: int) -> dict[str, Any]:
    """The JSON schema facets of a name or label: not blank, at most ``max_length`` long.

    Pass as ``json_schema_extra``: the document then says what the core checks, and the core
    still answers with its own message.
    """
    return {"minLength": 1, "maxLength": max_length, "pattern": r"\S"}


def json_body(
    properties: dict[str, Any],
    *,
    required: Iterable[str] = (),
    free_form: bool = False,
    forms: bool = False,
) -> dict[str, Any]:
    """The ``openapi_extra`` of an operation that reads its JSON object body by hand.

    ``free_form`` bodies take keys beyond ``properties`` (intake matches them to fields);
    ``forms`` bodies may also come URL-encoded or as multipart form data.
    """
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": free_form,
    }
    return request_body(schema, forms=forms)


def request_body(schema: dict[str, Any], *, forms: bool = False) -> dict[str, Any]:
    """The ``openapi_extra`` of an operation reading a body of ``schema`` (``forms``: also
    URL-encoded or as multipart form data)."""
    media = ["application/json"]
    if forms:
        media += ["application/x-www-form-urlencoded", "multipart/form-data"]
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in media}}}


def _error_answers(statuses: Iterable[int], schema_ref: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status in sorted(statuses):
        answer: dict[str, Any] = {
            "description": _MEANINGS[status],
            "content": {"application/json": {"schema": schema_ref}},
        }
        if status in _HEADERS:
            answer["headers"] = _HEADERS[status]
        answers[str(status)] = answer
    return answers


def complete(
    doc: dict[str, Any],
    *,
    error_name: str,
    error_schema: dict[str, Any],
    statuses: Mapping[int, int] | None = None,
    security: Mapping[str, dict[str, Any]] = BEARER,
) -> dict[str, Any]:
    """A copy of ``doc`` whose every operation lists every error it can answer.

    Errors render as ``error_schema`` (stored as component ``error_name``); ``statuses``
    are those the face answers differently (a face whose conflicts are validation errors
    lists no 409). ``security`` names the ways a key may be presented, any one of which
    will do.
    """
    remap = statuses or {}
    out = copy.deepcopy(doc)
    components = out.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas[error_name] = error_schema
    components["securitySchemes"] = dict(security)
    out["security"] = [{name: []} for name in security]
    ref = {"$ref": f"#/components/schemas/{error_name}"}
    for item in out.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            answered = set(ERRORS)
            if method != "get":
                answered.update(WRITE_ERRORS)
            if "requestBody" in operation:
                answered.update(BODY_ERRORS)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's, in a shape no face answers
            responses.update(_error_answers({remap.get(s, s) for s in answered}, ref))
    return out


def document(
    app: FastAPI,
    *,
    error_name: str,
    error_schema: dict[str, Any],
    statuses: Mapping[int, int] | None = None,
    security: Mapping[str, dict[str, Any]] = BEARER,
) -> Callable[[], dict[str, Any]]:
    """Make ``app.openapi()`` return its completed document (built once, then kept)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            raw = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(
                raw,
                error_name=error_name,
                error_schema=error_schema,
                statuses=statuses,
                security=security,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi


def serve_document(app: FastAPI) -> None:
    """Serve ``app.openapi()`` at ``/openapi.json`` under the app's base, which the document
    names as its server so that a client resolves every path from it."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        base = request.scope.get("root_path", "").rstrip("/")
        return json_response({**app.openapi(), "servers": [{"url": base or "/"}]})
