"""Servers with rate limits of a test's choosing, and clients calling from given addresses.

The suite's own server has limits no test meets; these have small ones, on the test
database, counting in memory or (``rate_limit_store="database"``) in its ``rate_buckets``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from tests.conftest import suite_settings


def some_address() -> str:
    """An address no other test calls from, so buckets in the shared database stay apart."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def limited_app(engine: AsyncEngine, database_url: str, **limits: Any) -> Any:
    """A server on the test database with these settings (limits off unless given)."""
    off = {"rate_limit": 0.0, "auth_failures": 0}
    return create_app(suite_settings(database_url, **{**off, **limits}), engine=engine)


@asynccontextmanager
async def calling(app: Any, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_throttled(answer: httpx.Response) -> int:
    """A 429 with a whole number of seconds in ``Retry-After``; that number."""
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/json"
    seconds = int(answer.headers["retry-after"])
    assert seconds >= 1
    assert f"retry after {seconds} s" in answer.text
    return seconds


async def refusals(
    engine: AsyncEngine, database_url: str, key: str, path: str, store: str
) -> tuple[httpx.Response, httpx.Response]:
    """``GET path`` refused twice: once for ``key`` past a burst of one, once for an
    address past one failed authentication."""
    limits = {"rate_limit": 0.01, "rate_burst": 1, "auth_failures": 1, "auth_failure_window": 60}
    app = limited_app(engine, database_url, rate_limit_store=store, **limits)
    async with calling(app, some_address()) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert (await client.get(path, headers=auth)).status_code == 200
        by_key = await client.get(path, headers=auth)
    async with calling(app, some_address()) as client:
        assert (await client.get(path)).status_code == 401
        by_address = await client.get(path)
    assert_throttled(by_key)
    assert_throttled(by_address)
    return by_key, by_address
