"""Migration 0024 lets every workspace's Administrator role manage workflows, as a new
workspace's does, and downgrade takes that away with the workflow tables."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from crm.db.schema import roles

MANAGE = "admin:workflows:manage"


async def _admin_permissions(engine: AsyncEngine) -> list[list[str]]:
    async with transaction(engine, write=False) as conn:
        rows = await conn.execute(sa.select(roles.c.permissions).where(roles.c.key == "admin"))
        return [list(r.permissions) for r in rows]


async def test_administrators_manage_workflows_after_the_migration(
    spare_database_url: str,
) -> None:
    url = spare_database_url
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url, pool_size=1)
    try:
        async with transaction(engine, write=True) as conn:
            await create_workspace(conn, name="Acme")
        (made,) = await _admin_permissions(engine)
        assert MANAGE in made
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0023")
        (before,) = await _admin_permissions(engine)
        assert MANAGE not in before
        async with transaction(engine, write=False) as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert not {"workflows", "workflow_runs", "event_consumers"} & set(tables)
        await asyncio.to_thread(upgrade, url)
        (after,) = await _admin_permissions(engine)
        assert after.count(MANAGE) == 1
    finally:
        await engine.dispose()
