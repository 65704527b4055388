"""``crm serve``'s rate limits: one process counts in memory; ``--workers 2`` counts in the
database, so that a limit holds for the server as a whole, whichever process a
connection reaches."""

from __future__ import annotations

import http.client

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from crm.cli.main import app
from crm.core.auth.credentials import key_digest
from crm.db.engine import transaction
from crm.db.schema import rate_buckets
from tests.api.served_support import served
from tests.conftest import Workspace


def _status(port: int, key: str) -> int:
    """The status of one request on a connection of its own (any process may take it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/api/v1/objects", headers={"Authorization": f"Bearer {key}"})
        return conn.getresponse().status
    finally:
        conn.close()


async def _bucket_stored(ws: Workspace) -> bool:
    async with transaction(ws.engine, write=False) as conn:
        name = f"key:{key_digest(ws.key).hex()}"
        found = await conn.execute(
            sa.select(rate_buckets.c.name).where(rate_buckets.c.name == name)
        )
        return found.first() is not None


@pytest.mark.parametrize(("workers", "in_database"), [("1", False), ("2", True)])
async def test_a_keys_burst_is_counted_where_every_process_sees_it(
    database_url: str, ws: Workspace, workers: str, in_database: bool
) -> None:
    options = ["--workers", workers, "--rate-limit", "0.01"]
    with served(options, {"CRM_RATE_BURST": "5"}, database_url) as port:
        statuses = [_status(port, ws.key) for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    assert await _bucket_stored(ws) is in_database


def test_an_unknown_store_is_refused_before_serving() -> None:
    done = CliRunner().invoke(app, ["serve"], env={"CRM_RATE_LIMIT_STORE": "redis"})
    assert done.exit_code == 1
    assert "CRM_RATE_LIMIT_STORE must be one of memory, database" in done.output
