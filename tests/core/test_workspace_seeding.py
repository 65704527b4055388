"""Seeding a workspace's standard objects in one statement per table stores exactly what
storing them one row at a time (the fields and pipelines API's own path) stores."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import utcnow
from crm.core.ids import uuid7
from crm.core.metadata.service import category_row, insert_field, insert_object
from crm.core.metadata.standard import STANDARD_OBJECTS
from crm.core.pipelines.service import insert_pipeline
from crm.core.workspaces.seeding import (
    seed_standard_objects,
    standard_categories,
    standard_field,
    standard_object,
    standard_stages,
)
from crm.core.workspaces.service import create_workspace
from crm.db import jsonsql
from crm.db.engine import transaction
from crm.db.schema import field_categories, fields, object_types, pipelines, stages, workspaces
from tests.conftest import Workspace

#: The tables seeding fills, parents first, and each one's references to another's ids.
SEEDED = {
    object_types: {},
    field_categories: {"object_type_id": object_types},
    pipelines: {"object_type_id": object_types},
    stages: {"pipeline_id": pipelines},
    fields: {"object_type_id": object_types},
}


async def seed_row_by_row(conn: AsyncConnection, workspace_id: int) -> None:
    """The standard objects stored one row at a time, in ``STANDARD_OBJECTS`` order."""
    for spec in STANDARD_OBJECTS:
        object_id = await insert_object(conn, workspace_id, **standard_object(spec))
        for category in standard_categories(spec):
            row = category_row(workspace_id, object_id, **category)
            await conn.execute(sa.insert(field_categories).values(**row))
        for position, field in enumerate(spec["fields"], start=1):
            await insert_field(
                conn, workspace_id, object_id, standard_field(field, position), is_standard=True
            )
        if "pipeline" in spec:
            await insert_pipeline(
                conn,
                workspace_id,
                object_id,
                key=spec["pipeline"]["key"],
                label=spec["pipeline"]["label"],
                stage_specs=standard_stages(spec["pipeline"]),
                is_standard=True,
            )


async def bare_workspace(conn: AsyncConnection) -> int:
    row = {
        "uuid": uuid7(),
        "name": "Seeding",
        "subdomain": f"seeding-{uuid.uuid4().hex[:12]}",
        "metadata_version": 1,
        "created_at": utcnow(),
    }
    made = await conn.execute(sa.insert(workspaces).values(**row).returning(workspaces.c.id))
    return int(made.scalar_one())


def _masked(value: Any, names: dict[str, str]) -> Any:
    """``value`` with each UUID of a seeded row replaced by that row's name."""
    if isinstance(value, dict):
        return {k: _masked(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, names) for v in value]
    return names.get(str(value), value)


async def dump(conn: AsyncConnection, workspace_id: int) -> dict[str, list[dict[str, Any]]]:
    """The seeded rows of a workspace, in id order, each id (and each reference to one,
    by id or by UUID) replaced by ``table#n``, the row's place in its table; without
    creation times."""
    tables: dict[str, list[dict[str, Any]]] = {}
    places: dict[tuple[str, int], str] = {}
    names: dict[str, str] = {}
    for table in SEEDED:
        found = await conn.execute(
            sa.select(table).where(table.c.workspace_id == workspace_id).order_by(table.c.id)
        )
        tables[table.name] = [dict(row._mapping) for row in found]
        for n, row in enumerate(tables[table.name]):
            places[table.name, row["id"]] = names[str(row["uuid"])] = f"{table.name}#{n}"
    for table, refs in SEEDED.items():
        for row in tables[table.name]:
            for column, parent in refs.items():
                row[column] = places[parent.name, row[column]]
            row["id"] = places[table.name, row["id"]]
            for column in ("uuid", "workspace_id", "created_at"):
                row.pop(column, None)
        tables[table.name] = _masked(tables[table.name], names)
    return tables


async def test_seeding_in_batches_stores_what_row_by_row_stores(engine: AsyncEngine) -> None:
    async with transaction(engine, write=True) as conn:
        one_by_one = await bare_workspace(conn)
        await seed_row_by_row(conn, one_by_one)
        batched = await bare_workspace(conn)
        await seed_standard_objects(conn, batched)
        expected, found = await dump(conn, one_by_one), await dump(conn, batched)
    assert found == expected
    assert [len(found[t.name]) for t in SEEDED] == [
        len(STANDARD_OBJECTS),
        sum(len(s["categories"]) + ("pipeline" in s) for s in STANDARD_OBJECTS),
        sum("pipeline" in s for s in STANDARD_OBJECTS),
        sum(len(s["pipeline"]["stages"]) for s in STANDARD_OBJECTS if "pipeline" in s),
        sum(len(s["fields"]) + ("pipeline" in s) for s in STANDARD_OBJECTS),
    ]


async def _index_names(conn: AsyncConnection) -> set[str]:
    dialect = conn.dialect.name
    return set((await conn.execute(sa.text(jsonsql.index_names_sql(dialect)))).scalars())


async def test_a_missing_standard_index_is_made_again(engine: AsyncEngine, dialect: str) -> None:
    """The indexes are shared by every workspace: a new one makes any that is missing."""
    wanted = {jsonsql.index_name("city")} | (
        {jsonsql.stats_name("city")} if dialect == "postgresql" else set()
    )
    async with transaction(engine, write=True) as conn:
        await create_workspace(conn, name="First")
        assert wanted <= await _index_names(conn)
        await conn.execute(sa.text(f"DROP INDEX {jsonsql.index_name('city')}"))
        if dialect == "postgresql":
            await conn.execute(sa.text(f"DROP STATISTICS {jsonsql.stats_name('city')}"))
        assert not wanted & await _index_names(conn)
        await create_workspace(conn, name="Second")
        assert wanted <= await _index_names(conn)


async def test_creating_a_workspace_takes_few_statements(engine: AsyncEngine) -> None:
    """One statement per table seeded, not one per row (there are 74 fields, 21 of them
    indexed, in 14 categories): 22 on either database today (and BEGIN, SAVEPOINT and
    RELEASE on SQLite), against 120 and 140 before."""
    counted: list[str] = []

    def count(*args: Any) -> None:
        counted.append(args[2])

    async with transaction(engine, write=True) as conn:
        await create_workspace(conn, name="Warm")
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with transaction(engine, write=True) as conn:
            await create_workspace(conn, name="Counted")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(counted) <= 25, counted
    inserted = [sql.split()[2] for sql in counted if sql.startswith("INSERT INTO")]
    assert {t.name: inserted.count(t.name) for t in SEEDED} == {t.name: 1 for t in SEEDED}


async def test_creating_a_workspace_lets_others_write_records(
    engine: AsyncEngine, dialect: str, client: httpx.AsyncClient, ws: Workspace
) -> None:
    """While a workspace is being created, another workspace's records can be written: on
    PostgreSQL, ``CREATE INDEX IF NOT EXISTS`` locks ``records`` against writes until the
    transaction ends even when the index exists, so creation runs it only for a missing
    one. (SQLite has one writer at a time anyway.)"""
    if dialect != "postgresql":
        pytest.skip("SQLite serialises writers")
    async with engine.connect() as creating:
        await creating.begin()
        await create_workspace(creating, name="Slow")
        written = await asyncio.wait_for(
            client.post(
                "/api/v1/objects/contact/records",
                json={"fields": {"first_name": "Ada"}},
                headers=ws.auth,
            ),
            timeout=10,
        )
        assert written.status_code == 201, written.text
        await creating.rollback()
