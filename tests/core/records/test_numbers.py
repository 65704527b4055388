"""Record numbers: 1, 2, ... per object type and workspace, found by number, given to the
records stored before they existed by the migration, in the order they were created."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import principal_for_user
from crm.core.errors import NotFound
from crm.core.records.model import Numbered
from crm.core.records.service import bulk_create, create_record, get_record
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from tests.conftest import Workspace


async def _owner(engine: AsyncEngine, ws: Workspace) -> Principal:
    async with transaction(engine, write=False) as conn:
        return await principal_for_user(conn, ws.owner_id)


async def _create(engine: AsyncEngine, owner: Principal, object_key: str, **fields: str) -> int:
    async with transaction(engine, write=True) as conn:
        made = await create_record(conn, owner, object_key, fields=fields)
    assert made.number is not None
    return made.number


async def test_each_workspace_numbers_each_object_types_records_from_one(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    ours, theirs = await _owner(engine, ws), await _owner(engine, other_ws)
    assert [await _create(engine, ours, "contact", first_name=n) for n in "abc"] == [1, 2, 3]
    assert await _create(engine, theirs, "contact", first_name="x") == 1
    assert await _create(engine, ours, "deal", name="Big one") == 1
    assert await _create(engine, ours, "contact", first_name="d") == 4


async def test_a_batch_is_numbered_in_order_and_refused_items_take_no_number(
    engine: AsyncEngine, ws: Workspace
) -> None:
    owner = await _owner(engine, ws)
    items = [{"fields": {"name": "A"}}, {"fields": {}}, {"fields": {"name": "B"}}]
    async with transaction(engine, write=True) as conn:
        done = await bulk_create(conn, owner, "company", items)
    assert [d.record.number if d.record else None for d in done] == [1, None, 2]
    assert await _create(engine, owner, "company", name="C") == 3


async def test_a_write_that_is_rolled_back_takes_no_number_that_another_record_holds(
    engine: AsyncEngine, ws: Workspace, dialect: str
) -> None:
    """On SQLite its number comes back; on PostgreSQL, where numbers are taken apart from
    the writer's transaction as from a sequence, it stays unused."""
    owner = await _owner(engine, ws)

    async def create_then_fail() -> None:
        async with transaction(engine, write=True) as conn:
            await create_record(conn, owner, "contact", fields={"first_name": "Gone"})
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await create_then_fail()
    assert await _create(engine, owner, "contact", first_name="Kept") == (
        1 if dialect == "sqlite" else 2
    )


async def test_a_record_is_found_by_its_number_only_within_its_type_and_workspace(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    ours, theirs = await _owner(engine, ws), await _owner(engine, other_ws)
    await _create(engine, ours, "contact", first_name="Ana")
    async with transaction(engine, write=False) as conn:
        found = await get_record(conn, ours, "contact", Numbered(1))
        assert found.data["first_name"] == "Ana"
        for principal, object_key in ((ours, "deal"), (theirs, "contact")):
            with pytest.raises(NotFound):
                await get_record(conn, principal, object_key, Numbered(1))


async def test_the_migration_numbers_stored_records_in_the_order_they_were_made(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Acme")
            owner = await principal_for_user(conn, made["owner"]["id"])
            items = [{"fields": {"first_name": n}} for n in ("Ada", "Bob", "Cy")]
            await bulk_create(conn, owner, "contact", items)
            await create_record(conn, owner, "deal", fields={"name": "Big one"})
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0013")
        await asyncio.to_thread(upgrade, url)
        async with transaction(engine, write=False) as conn:
            named = [
                (await get_record(conn, owner, "contact", Numbered(n))).data["first_name"]
                for n in (1, 2, 3)
            ]
            deal = await get_record(conn, owner, "deal", Numbered(1))
        assert named == ["Ada", "Bob", "Cy"]
        assert deal.data["name"] == "Big one"
        assert await _create(engine, owner, "contact", first_name="Di") == 4
    finally:
        await engine.dispose()


async def test_records_of_a_workspace_made_in_the_same_transaction_are_numbered(
    engine: AsyncEngine,
) -> None:
    async with transaction(engine, write=True) as conn:
        made = await create_workspace(conn, name="Fresh")
        owner = await principal_for_user(conn, made["owner"]["id"])
        first = create_record(conn, owner, "contact", fields={"first_name": "Ana"})
        record = await asyncio.wait_for(first, 10)
    assert record.number == 1
