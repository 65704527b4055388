"""An API key's ``last_used_at``: refreshed by use, never at the cost of a request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from crm.core.auth import service
from crm.core.auth.credentials import key_digest
from crm.core.clock import utcnow
from crm.db.engine import transaction
from crm.db.schema import api_keys
from tests.conftest import Workspace, bearer


async def _age_keys(ws: Workspace, by: timedelta) -> None:
    async with transaction(ws.engine, write=True) as conn:
        await conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.workspace_id == ws.id)
            .values(last_used_at=utcnow() - by)
        )


async def _last_used(ws: Workspace, key: str | None = None) -> list[object]:
    """When the workspace's keys (or ``key`` alone) were last used."""
    async with transaction(ws.engine, write=False) as conn:
        rows = await conn.execute(
            sa.select(api_keys.c.last_used_at).where(
                api_keys.c.workspace_id == ws.id,
                api_keys.c.key_hash == key_digest(key) if key else sa.true(),
            )
        )
        return [row.last_used_at for row in rows]


async def test_a_read_refreshes_a_stale_last_used(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _age_keys(ws, timedelta(hours=2))
    answer = await client.get("/api/v1/objects/contact/records", headers=ws.auth)
    assert answer.status_code == 200
    (used,) = await _last_used(ws)
    assert utcnow() - used < timedelta(minutes=1)


async def test_a_fresh_last_used_is_left_alone(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _age_keys(ws, timedelta(seconds=20))
    (before,) = await _last_used(ws)
    assert (await client.get("/api/v1/objects/contact/records", headers=ws.auth)).status_code == 200
    assert await _last_used(ws) == [before]


async def test_concurrent_reads_across_the_refresh_all_succeed(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for _ in range(8):
        key = await ws.add_key()
        answers = await asyncio.gather(
            *(client.get("/api/v1/objects/contact/records", headers=bearer(key)) for _ in range(24))
        )
        assert [a.status_code for a in answers] == [200] * 24
        (used,) = await _last_used(ws, key)
        assert utcnow() - used < timedelta(minutes=1)


async def test_a_key_in_use_is_refreshed_as_time_passes(
    client: httpx.AsyncClient, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await client.get("/api/v1/objects/contact/records", headers=ws.auth)).status_code == 200
    (first,) = await _last_used(ws)
    for minutes in (0.5, 2, 2.5):
        monkeypatch.setattr(service, "utcnow", lambda m=minutes: first + timedelta(minutes=m))
        answer = await client.get("/api/v1/objects/contact/records", headers=ws.auth)
        assert answer.status_code == 200
    # Refreshed two minutes on (more than a minute stale), not half a minute before or after.
    assert await _last_used(ws) == [first + timedelta(minutes=2)]


async def test_a_write_refreshes_last_used(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _age_keys(ws, timedelta(hours=2))
    answer = await client.post(
        "/api/v1/objects/contact/records",
        headers=ws.auth,
        json={"fields": {"first_name": "Ada", "email": "ada@example.com"}},
    )
    assert answer.status_code == 201
    (used,) = await _last_used(ws)
    assert utcnow() - used < timedelta(minutes=1)
