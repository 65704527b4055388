"""Helpers shared by the import tests of the native API and of the Flownally face."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.settings import Settings


@contextlib.asynccontextmanager
async def client_with_import_limit(
    engine: AsyncEngine, database_url: str, max_import_bytes: int
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server on the test database whose imports may be at most
    ``max_import_bytes`` bytes."""
    app = create_app(Settings(database_url, max_import_bytes=max_import_bytes), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
