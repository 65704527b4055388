"""Migration 0026 gives the users and roles made before it their creation time as the time
of their last change; downgrade takes the column away and upgrade brings it back."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from crm.db.schema import roles, users


async def test_older_users_and_roles_last_changed_when_they_were_made(
    spare_database_url: str,
) -> None:
    url = spare_database_url
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0025")
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:  # the schema of 0025 has no ``updated_at``
            ws = await conn.execute(
                sa.text(
                    "INSERT INTO workspaces (uuid, name, subdomain, created_at)"
                    " VALUES (:u, 'Old', 'old', '2024-01-02 03:04:05') RETURNING id"
                ),
                {"u": "01890000-0000-7000-8000-000000000001"},
            )
            workspace_id = ws.scalar_one()
            role = await conn.execute(
                sa.text(
                    "INSERT INTO roles (workspace_id, key, name, permissions, is_system,"
                    " created_at) VALUES (:w, 'agent', 'Agent', '[]', :t,"
                    " '2024-01-02 03:04:05') RETURNING id"
                ),
                {"w": workspace_id, "t": True},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO users (workspace_id, uuid, email, name, role_id, active,"
                    " created_at) VALUES (:w, :u, 'a@x.io', 'A', :r, :t,"
                    " '2024-01-02 03:04:05')"
                ),
                {
                    "w": workspace_id,
                    "u": "01890000-0000-7000-8000-000000000002",
                    "r": role.scalar_one(),
                    "t": True,
                },
            )
        await asyncio.to_thread(upgrade, url)
        async with transaction(engine, write=False) as conn:
            for table in (users, roles):
                row = (await conn.execute(sa.select(table.c.created_at, table.c.updated_at))).one()
                assert row.updated_at == row.created_at
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0025")
        async with transaction(engine, write=False) as conn:
            columns = await conn.run_sync(
                lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("users")]
            )
        assert "updated_at" not in columns
        await asyncio.to_thread(upgrade, url)
    finally:
        await engine.dispose()
