"""Every face's error answers from one description.

What went wrong is worked out here once for every face, as a :class:`Problem`: its status,
a stable code, the message, the details naming each offending field, and any headers. A
face only says how its body looks and which messages it words its own way
(:class:`ErrorShape`), then :func:`install` answers every error of its app in that shape:
the core's errors, bodies and parameters the framework refused, unknown routes and
methods, and anything unexpected (a busy database is a 503 with ``Retry-After``, anything
else a 500 that tells nothing of the server).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.errors import server_trouble, status_of
from crm.api.common.http import declares_json, json_response, media_type
from crm.api.common.methods import error_headers
from crm.api.common.retry import RetryTransient
from crm.core import errors as e

#: The code of each status when no core error names one (routing, the framework, middleware).
CODES = MappingProxyType(
    {
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
        500: "internal_error",
        503: "unavailable",
    }
)
#: Messages of the errors the framework raises, unless a face words them its own way.
HTTP_MESSAGES = MappingProxyType({404: "No such endpoint", 405: "Method not allowed"})


class Refusal(HTTPException):
    """An error raised where only the framework's errors pass through (while a body is
    read), answered with its own message rather than the face's word for its status."""


@dataclass(frozen=True)
class Problem:
    """One error answer before a face gives it its shape."""

    status: int
    code: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] | None = None

    @classmethod
    def bare(cls, status: int, message: str) -> Problem:
        return cls(status, CODES.get(status, "error"), message)


@dataclass(frozen=True)
class ErrorShape:
    """How a face writes its errors."""

    #: The body of an error answer.
    body: Callable[[Problem], dict[str, Any]]
    #: The JSON schema of that body, for the face's OpenAPI document.
    schema: dict[str, Any]
    #: The face's own message for an error of the framework's, by status.
    http_messages: Mapping[int, str] = field(default_factory=lambda: HTTP_MESSAGES)
    #: The face's message for an unexpected error (a 500).
    internal_message: str = "Something went wrong on our side"
    #: Statuses the face documents differently, by the status the kit gives: a face that
    #: documents no 409 answers a conflict 422 (``{409: 422}``), one whose every bad input
    #: is a 400 says ``{409: 400, 422: 400}``.
    statuses: Mapping[int, int] = field(default_factory=dict)

    def status(self, status: int) -> int:
        return self.statuses.get(status, status)

    def problem(self, exc: e.CRMError) -> Problem:
        """The problem of a core error."""
        status = self.status(status_of(exc))
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return Problem(status, exc.code, exc.message, exc.details, headers)

    def respond(self, problem: Problem) -> Response:
        return json_response(self.body(problem), problem.status, problem.headers)

    def answer(self, exc: e.CRMError) -> Response:
        """The answer to a core error, for a route that handles one itself."""
        return self.respond(self.problem(exc))

    def render_status(self, status: int, message: str) -> bytes:
        """A bare error body, for middleware that answers before routing."""
        return orjson.dumps(self.body(Problem.bare(status, message)))


def _location(loc: tuple[Any, ...]) -> str:
    """A refused input's place as the client wrote it: ``fields.email``, not ``body``."""
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    return ".".join(str(p) for p in parts) or str(loc[0] if loc else "body")


def _sends_other_than_json(request: Request) -> bool:
    media = media_type(request)
    return bool(media) and not declares_json(media)


def refused_input(request: Request, exc: RequestValidationError) -> Problem:
    """The problem of a body or parameters the framework refused: 415 for a body that is
    not JSON, 400 for JSON that does not parse or a body that is missing, else 422 with a
    detail per offending field."""
    problems = exc.errors()
    if _sends_other_than_json(request) and any(p["loc"][:1] == ("body",) for p in problems):
        return Problem.bare(415, "Send JSON with Content-Type: application/json")
    if any(p["type"] == "json_invalid" for p in problems):
        return Problem.bare(400, "The request body is not valid JSON")
    if any(p["type"] == "missing" and tuple(p["loc"]) == ("body",) for p in problems):
        return Problem.bare(400, "A JSON body is required")
    details = [
        {
            "field": _location(tuple(p["loc"])),
            "code": "unknown" if p["type"] == "extra_forbidden" else "invalid",
            "message": p["msg"],
        }
        for p in problems
    ]
    return Problem(422, "validation_failed", "Validation failed", details)


@contextmanager
def renamed(names: Mapping[str, str]) -> Iterator[None]:
    """Core errors raised inside name the fields as the client sent them, not as the core
    calls them."""
    try:
        yield
    except (e.ValidationFailed, e.Conflict) as exc:
        details = [
            {**d, "field": names.get(d.get("field", ""), d.get("field", ""))} for d in exc.details
        ]
        raise dataclasses.replace(exc, details=details) from None


def install(app: FastAPI, shape: ErrorShape) -> None:
    """Answer every error of ``app`` in ``shape``, and run a request again after a
    transient database abort."""

    async def core_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.CRMError)
        return shape.answer(exc)

    async def input_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problem = refused_input(request, exc)
        return shape.respond(dataclasses.replace(problem, status=shape.status(problem.status)))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        message = str(exc.detail)
        if not isinstance(exc, Refusal):
            message = shape.http_messages.get(status, message)
        return shape.respond(
            Problem(status, CODES.get(status, "error"), message, [], error_headers(request, exc))
        )

    async def unexpected(_request: Request, exc: Exception) -> Response:
        status, headers, message = server_trouble(exc)
        if status == 500:
            message = shape.internal_message
        return shape.respond(Problem(status, CODES[status], message, [], headers))

    app.add_exception_handler(e.CRMError, core_error)
    app.add_exception_handler(RequestValidationError, input_refused)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_middleware(RetryTransient)
