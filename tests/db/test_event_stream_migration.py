"""Migration 0022 keeps the events written before it readable from the start of the
stream, and each event written after it carries its transaction on PostgreSQL;
downgrade takes the column away and upgrade brings it back."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from crm.core.events.service import append_event
from crm.core.events.stream import START, read_after, settle
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade


async def test_events_from_before_and_after_the_migration_are_read_in_order(
    spare_database_url: str,
) -> None:
    url = spare_database_url
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0021")
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:  # the schema of 0021 has no ``tx``
            made = await conn.execute(
                sa.text(
                    "INSERT INTO workspaces (uuid, name, subdomain, created_at)"
                    " VALUES (:u, 'Old', 'old', CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"u": "01890000-0000-7000-8000-000000000001"},
            )
            workspace_id = made.scalar_one()
            await conn.execute(
                sa.text(
                    "INSERT INTO events (workspace_id, uuid, type, payload, created_at)"
                    " VALUES (:w, :u, 'old.event', '{}', CURRENT_TIMESTAMP)"
                ),
                {"w": workspace_id, "u": "01890000-0000-7000-8000-000000000002"},
            )
        await asyncio.to_thread(upgrade, url)
        async with transaction(engine, write=True) as conn:
            await append_event(conn, workspace_id, "new.event", actor=None)
        assert await settle(engine)
        async with transaction(engine, write=False) as conn:
            found = await read_after(conn, START, limit=10, workspace_id=workspace_id)
        assert [s.event.type for s in found] == ["old.event", "new.event"]
        if engine.dialect.name == "postgresql":
            assert found[0].position.tx == 0
            assert found[1].position.tx > 0
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0021")
        async with transaction(engine, write=False) as conn:
            columns = await conn.run_sync(
                lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("events")]
            )
        assert "tx" not in columns
        await asyncio.to_thread(upgrade, url)
        async with transaction(engine, write=True) as conn:
            await create_workspace(conn, name="After")
    finally:
        await engine.dispose()
