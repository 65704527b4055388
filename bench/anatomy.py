"""Where a point read's time goes: its layers timed one by one, in this process.

Each step is called sequentially (no concurrency, no network) and reported in µs per call:
the ASGI callables alone (a bare one, a one-route FastAPI app with no middleware), the
database driver's floor (an empty transaction, ``SELECT 1``), the core's pieces
(``authenticate``, ``get_record`` in its own transaction) and the whole application
answering ``GET /api/v1/objects/contact/records/{id}``. The differences between the lines
are what each layer costs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.core.auth.service import authenticate
from crm.core.ratelimits import DatabaseBuckets, MemoryBuckets, Rate
from crm.core.records.service import get_record
from crm.db.engine import transaction
from crm.settings import Settings

CALLS = 2000


def scope_of(path: str, key: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def call(app: Any, scope: dict[str, Any]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def per_call(step: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(calls // 10):
        await step()
    t0 = time.perf_counter()
    for _ in range(calls):
        await step()
    return round((time.perf_counter() - t0) / calls * 1e6, 1)


def _fastapi_hello(body: bytes) -> FastAPI:
    hello = FastAPI()

    @hello.get("/api/v1/objects/contact/records/{record_id}")
    async def one(record_id: str) -> Response:
        return Response(body, media_type="application/json")

    return hello


async def measure(engine: AsyncEngine, url: str, key: str, record_id: str) -> list[dict[str, Any]]:
    """Each layer's µs per call, slowest last."""
    path = f"/api/v1/objects/contact/records/{record_id}"
    scope = scope_of(path, key)
    app = create_app(Settings(url, inline_worker=False, rate_limit=0, auth_failures=0), engine)
    body = b"{}"

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    hello = _fastapi_hello(body)

    async def empty() -> None:
        async with transaction(engine, write=False):
            pass

    async def select_1() -> None:
        async with transaction(engine, write=False) as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def auth() -> None:
        async with transaction(engine, write=False) as conn:
            await authenticate(conn, key)

    async with transaction(engine, write=False) as conn:
        principal = (await authenticate(conn, key)).principal

    async def core_read() -> None:
        async with transaction(engine, write=False) as conn:
            await get_record(conn, principal, "contact", record_id)

    unmet = Rate(1e9, 10**9)
    in_memory, in_database = MemoryBuckets(), DatabaseBuckets(engine)

    assert await call(app, scope) == 200
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("bare ASGI callable", lambda: call(bare, scope)),
        ("FastAPI, one route, no middleware", lambda: call(hello, scope)),
        ("rate limit: a key's token, in memory", lambda: in_memory.take("key:k", unmet)),
        ("rate limit: a key's token, in the database", lambda: in_database.take("key:k", unmet)),
        ("empty read transaction", empty),
        ("SELECT 1 in a read transaction", select_1),
        ("authenticate in a read transaction", auth),
        ("get_record in a read transaction", core_read),
        ("the application: GET one contact", lambda: call(app, scope)),
    ]
    return [{"step": name, "us": await per_call(step, CALLS)} for name, step in steps]
