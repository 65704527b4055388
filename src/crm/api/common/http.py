"""Per-request units of work and JSON in and out.

A handler opens exactly one transaction with :func:`unit`, which also resolves the caller,
and the transaction commits before the response is built, so a client is only ever told
of writes that are durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.clients import bearer_token
from crm.core.auth.principal import Principal
from crm.core.auth.service import authenticate, note_key_use, record_key_use
from crm.core.errors import CRMError
from crm.core.storable import require_storable
from crm.db.engine import transaction


class MalformedBody(CRMError):
    """The body is not what the content type says (400)."""

    def __init__(self, message: str = "The request body is not valid JSON") -> None:
        super().__init__(message, [], "malformed_request")


class UnsupportedMedia(CRMError):
    """The body comes in a content type the endpoint does not read (415)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], "unsupported_media_type")


def engine_of(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


@asynccontextmanager
async def unit(
    request: Request, key: str | None, *, write: bool
) -> AsyncIterator[tuple[AsyncConnection, Principal]]:
    """A transaction with the caller resolved from ``key``; commits on leaving the block.

    A key's use is recorded inside a writing unit, and after a reading one in a short
    write transaction of its own, so reads never need the write lock; once recorded and
    committed, this process's cache of keys is told.
    """
    engine = engine_of(request)
    async with transaction(engine, write=write) as conn:
        principal, use_due = await authenticate(conn, key)
        if use_due and write and principal.key_id is not None:
            await record_key_use(conn, principal.key_id)
        yield conn, principal
    if not use_due or key is None or principal.key_id is None:
        return
    if not write:
        async with transaction(engine, write=True) as conn:
            await record_key_use(conn, principal.key_id)
    note_key_use(engine, key)


@asynccontextmanager
async def received_unit(
    request: Request, key: str | None
) -> AsyncIterator[tuple[AsyncConnection, Principal]]:
    """A writing unit of work whose body is received first, so no transaction waits on the
    network, and read inside it, so a bad key is answered before a bad body."""
    await request.body()
    async with unit(request, key, write=True) as pair:
        yield pair


def bearer(request: Request) -> str | None:
    """The key from ``Authorization: Bearer ak_...``."""
    return bearer_token(request.headers.get("authorization", ""))


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower-cased ("" when none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def declares_json(media: str) -> bool:
    """Whether a content type (as :func:`media_type` gives it) says the body is JSON."""
    return media == "application/json" or media.endswith("+json")


def require_json(request: Request, accepted: str = "JSON") -> None:
    """UnsupportedMedia (415) unless the body is declared as JSON."""
    media = media_type(request)
    if not declares_json(media):
        raise UnsupportedMedia(f"Send {accepted}; {media or 'no content type'} is not read")


async def json_body(request: Request) -> Any:
    """The parsed JSON body; MalformedBody (400) when it does not parse, ValidationFailed
    (422) naming the field when it holds what cannot be stored or nests too deeply."""
    raw = await request.body()
    if not raw.strip():
        raise MalformedBody("A JSON body is required")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedBody() from None
    require_storable(parsed)
    return parsed


def _default(value: Any) -> Any:
    return str(value)


def json_bytes(data: Any) -> bytes:
    """Serialise with orjson; UUIDs and datetimes render natively, anything else as text."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_UTC_Z)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response of ``data`` (see :func:`json_bytes`)."""
    return Response(
        json_bytes(data),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def send_early(
    send: Any, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Answer with a JSON ``body`` from middleware, before any handler runs."""
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*head, *headers]})
    await send({"type": "http.response.body", "body": body})


#: Room for a multipart body's boundaries and small fields around an uploaded file.
UPLOAD_SLACK = 64 * 1024


class JsonByDefault:
    """ASGI middleware: a body sent without a Content-Type is read as JSON.

    Clients that post JSON without declaring it (many scripts do) are then understood, and
    a malformed body gets the same 400 as declared JSON does.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = scope["headers"]
            if not any(name == b"content-type" for name, _ in headers):
                scope["headers"] = [*headers, (b"content-type", b"application/json")]
        await self.app(scope, receive, send)
