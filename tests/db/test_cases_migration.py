"""Migration 0018 on a database holding workspaces: downgraded, the task fields category and
completed_by go with their values; upgraded, every workspace's task object gets them back
at the end of its fields (but a field of that key it had already), its metadata version
moves, and the tables of replies, templates and reminders come and go."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.service import principal_for_user
from crm.core.metadata.service import create_field
from crm.core.records.service import create_record, get_record
from crm.core.tasks.service import complete_task
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from crm.db.schema import fields, object_types, workspaces


async def _task_fields(conn: AsyncConnection, workspace_id: int) -> dict[str, Any]:
    found = await conn.execute(
        sa.select(fields.c.key, fields.c.position, fields.c.type, fields.c.is_standard)
        .join(object_types, object_types.c.id == fields.c.object_type_id)
        .where(object_types.c.workspace_id == workspace_id, object_types.c.key == "task")
    )
    return {row.key: (row.position, row.type, row.is_standard) for row in found}


async def _version(conn: AsyncConnection, workspace_id: int) -> int:
    found = await conn.execute(
        sa.select(workspaces.c.metadata_version).where(workspaces.c.id == workspace_id)
    )
    return int(found.scalar_one())


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_the_task_fields_go_and_come_back_with_migration_0018(
    spare_database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, spare_database_url)
    engine = make_engine(spare_database_url)
    new = {"category": (10, "select", True), "completed_by": (11, "user", True)}
    try:
        async with transaction(engine, write=True) as conn:
            made = [await create_workspace(conn, name=n) for n in ("Acme", "Globex")]
            acme, globex = (m["workspace"].id for m in made)
            owner = await principal_for_user(conn, made[0]["owner"]["id"])
            task = await create_record(
                conn, owner, "task", fields={"task": "Call", "category": "Call"}
            )
            await complete_task(conn, owner, task.id)
            seeded = await _task_fields(conn, acme)
            assert {k: seeded[k] for k in new} == new
            before = await _version(conn, acme)
        assert {"case_replies", "reply_templates", "task_reminders"} <= await _tables(engine)

        await asyncio.to_thread(command.downgrade, alembic_config(spare_database_url), "0017")
        assert not {"case_replies", "reply_templates", "task_reminders"} & await _tables(engine)
        async with transaction(engine, write=True) as conn:
            assert await _task_fields(conn, acme) == {
                k: v for k, v in seeded.items() if k not in new
            }
            assert await _version(conn, acme) == before + 1
            owner = await principal_for_user(conn, made[0]["owner"]["id"])
            stripped = await get_record(conn, owner, "task", task.id)
            assert set(stripped.data) == {"task", "is_completed", "completed_at"}
            # A workspace that made a field of one of the keys meanwhile keeps its own.
            other = await principal_for_user(conn, made[1]["owner"]["id"])
            spec = {"key": "category", "label": "Kind", "type": "text"}
            await create_field(conn, other, "task", spec)

        await asyncio.to_thread(upgrade, spare_database_url)
        assert {"case_replies", "reply_templates", "task_reminders"} <= await _tables(engine)
        async with transaction(engine, write=False) as conn:
            assert await _task_fields(conn, acme) == seeded
            assert await _version(conn, acme) == before + 3  # 0018 and 0019 each move it
            theirs = await _task_fields(conn, globex)
            assert theirs["category"] == (10, "text", False)
            assert theirs["completed_by"] == (11, "user", True)
    finally:
        await engine.dispose()
