"""Migration 0023 gives every workspace's admin role the management of webhooks, and
downgrade takes it back with the webhook tables."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from crm.db.schema import roles

PERMISSION = "admin:webhooks:manage"


async def _managing(engine: AsyncEngine, workspace_id: int) -> set[str]:
    """The workspace's roles that hold the permission to manage webhooks by name."""
    async with transaction(engine, write=False) as conn:
        rows = await conn.execute(
            sa.select(roles.c.key, roles.c.permissions).where(roles.c.workspace_id == workspace_id)
        )
        return {key for key, permissions in rows if PERMISSION in permissions}


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))


async def test_admins_manage_webhooks_after_the_migration_and_not_before(
    spare_database_url: str,
) -> None:
    url = spare_database_url
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url, pool_size=1)
    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Old")
        workspace_id = made["workspace"].id
        assert await _managing(engine, workspace_id) == {"admin"}
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0022")
        assert await _managing(engine, workspace_id) == set()
        assert not {"webhook_subscriptions", "webhook_deliveries"} & await _tables(engine)
        await asyncio.to_thread(upgrade, url)
        assert await _managing(engine, workspace_id) == {"admin"}
        assert {"webhook_subscriptions", "webhook_deliveries"} <= await _tables(engine)
    finally:
        await engine.dispose()
