"""SQLite's trigram table over the search text: filled by the migration for the records
already stored, kept in step by its triggers, and dropped and rebuilt by downgrade/upgrade."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from crm.core.auth.service import principal_for_user
from crm.core.records import plans
from crm.core.records.model import RecordQuery
from crm.core.records.service import bulk_create, delete_record, find_records, update_record
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade


async def test_the_migration_indexes_stored_records_and_triggers_follow_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    monkeypatch.setattr(plans, "BOUND", 10**9)  # always through the index

    async def found(q: str) -> list[str]:
        async with transaction(engine, write=False) as conn:
            page = await find_records(conn, owner, "contact", RecordQuery(q=q))
        return [r.display_name for r in page.records]

    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Acme")
            owner = await principal_for_user(conn, made["owner"]["id"])
            items = [
                {"fields": {"first_name": "Ada", "last_name": n}} for n in ("Lovelace", "Byron")
            ]
            ada, byron = [b.record for b in await bulk_create(conn, owner, "contact", items)]
        assert ada is not None
        assert byron is not None
        # Stored before the trigram table existed: the migration indexes them.
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0011")
        await asyncio.to_thread(upgrade, url)
        assert await found("lovel") == ["Ada Lovelace"]
        async with transaction(engine, write=True) as conn:
            await update_record(conn, owner, "contact", ada.id, fields={"last_name": "King"})
            await delete_record(conn, owner, "contact", byron.id)
        assert await found("lovel") == []
        assert await found("da ki") == ["Ada King"]
        async with transaction(engine, write=True) as conn:
            await conn.execute(sa.text("DELETE FROM records"))
            fts = await conn.execute(
                sa.text("SELECT count(*) FROM records_fts WHERE records_fts MATCH '\"ada\"'")
            )
            assert fts.scalar_one() == 0
            await bulk_create(conn, owner, "contact", items)
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0011")
        async with transaction(engine, write=False) as conn:
            tables = await conn.execute(
                sa.text("SELECT name FROM sqlite_master WHERE name LIKE 'records_fts%'")
            )
            assert tables.all() == []
        await asyncio.to_thread(upgrade, url)
        assert await found("ovela") == ["Ada Lovelace"]
    finally:
        await engine.dispose()


async def test_the_values_table_follows_writes_and_downgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    monkeypatch.setattr(plans, "BOUND", 10**9)  # always through the index

    async def found(fragment: str) -> list[str]:
        where = {"field": "email", "op": "contains", "value": fragment}
        async with transaction(engine, write=False) as conn:
            page = await find_records(conn, owner, "contact", RecordQuery(filter=where))
        return [r.display_name for r in page.records]

    async def indexed(fragment: str) -> int:
        async with transaction(engine, write=False) as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT count(*) FROM records_values_fts WHERE records_values_fts MATCH :m"
                ),
                {"m": f'"{fragment}"'},
            )
            return int(rows.scalar_one())

    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Acme")
            owner = await principal_for_user(conn, made["owner"]["id"])
            items = [
                {"fields": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@one.org"}},
                {"fields": {"first_name": "Lord", "last_name": "Byron", "email": "lb@two.org"}},
            ]
            ada, byron = [b.record for b in await bulk_create(conn, owner, "contact", items)]
        assert ada is not None
        assert byron is not None
        # Stored before the values table existed: the migration indexes them.
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0012")
        await asyncio.to_thread(upgrade, url)
        assert await found("a@one.o") == ["Ada Lovelace"]
        async with transaction(engine, write=True) as conn:
            await update_record(conn, owner, "contact", ada.id, fields={"email": "ada@six.org"})
            await delete_record(conn, owner, "contact", byron.id)
        assert await found("a@one.o") == []
        assert await found("a@six.o") == ["Ada Lovelace"]
        assert await found("two.org") == []
        async with transaction(engine, write=True) as conn:
            await conn.execute(sa.text("DELETE FROM records"))
        assert [await indexed(g) for g in ("six", "two", "one", "ove")] == [0, 0, 0, 0]
        async with transaction(engine, write=True) as conn:
            await bulk_create(conn, owner, "contact", items)
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0012")
        async with transaction(engine, write=False) as conn:
            tables = await conn.execute(
                sa.text("SELECT name FROM sqlite_master WHERE name LIKE 'records_values%'")
            )
            assert tables.all() == []
        await asyncio.to_thread(upgrade, url)
        assert await found("lb@tw") == ["Lord Byron"]
    finally:
        await engine.dispose()
