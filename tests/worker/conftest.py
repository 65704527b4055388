"""What the tests of webhook sending share: a server that may call loopback, a client of
it, receivers on loopback, and no subscription left behind by a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.db.engine import transaction
from crm.db.schema import webhook_subscriptions
from tests.worker.receiver import Receiver, receiving
from tests.worker.webhook_support import hook_settings


@pytest.fixture(scope="module")
def hook_app(engine: AsyncEngine, database_url: str) -> Any:
    return create_app(hook_settings(database_url), engine=engine)


@pytest.fixture
async def api(hook_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start receivers; each stops when the test ends."""
    with contextlib.ExitStack() as stack:
        yield lambda **kw: stack.enter_context(receiving(Receiver(**kw)))


@pytest.fixture
async def forget_subscriptions(engine: AsyncEngine) -> AsyncIterator[None]:
    """No subscription outlives its test (its receiver is gone)."""
    yield
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.delete(webhook_subscriptions))
