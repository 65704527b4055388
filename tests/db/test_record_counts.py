"""``record_counts``: the live records of each object type, kept by triggers on ``records``
whatever writes them, spread over slots on PostgreSQL, filled by migration 0021 and dropped
with its triggers on downgrade."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.service import principal_for_user
from crm.core.clock import utcnow
from crm.core.records.service import bulk_create, create_record, set_archived
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from crm.db.schema import object_types, record_counts, records
from crm.worker.loop import drain
from tests.conftest import Workspace

API = "/api/v1/objects"
Counts = dict[tuple[str, str], int]
LIVE = sa.and_(records.c.deleted_at.is_(None), records.c.archived_at.is_(None))


Spaces = dict[int, str]


def _per_object(source: Any, spaces: Spaces) -> Any:
    """``source``'s rows of the workspaces ``spaces`` names, grouped by workspace and object
    type."""
    return (
        sa.select(source.c.workspace_id, object_types.c.key)
        .join_from(source, object_types, object_types.c.id == source.c.object_type_id)
        .where(source.c.workspace_id.in_(list(spaces)))
        .group_by(source.c.workspace_id, object_types.c.key)
    )


def _named(rows: Any, spaces: Spaces) -> Counts:
    """``(workspace name, object key): number`` of grouped rows, leaving out zeros."""
    return {(spaces[r.workspace_id], r.key): int(r.n) for r in rows if r.n}


async def kept(conn: AsyncConnection, spaces: Spaces) -> Counts:
    """What ``record_counts`` says, per workspace and object type."""
    sums = sa.func.sum(record_counts.c.live).label("n")
    return _named(await conn.execute(_per_object(record_counts, spaces).add_columns(sums)), spaces)


async def counted(conn: AsyncConnection, spaces: Spaces) -> Counts:
    """The live records counted one by one, per workspace and object type."""
    counts = _per_object(records, spaces).add_columns(sa.func.count().label("n")).where(LIVE)
    return _named(await conn.execute(counts), spaces)


async def _both(engine: AsyncEngine, spaces: Spaces) -> tuple[Counts, Counts]:
    async with transaction(engine, write=False) as conn:
        return await kept(conn, spaces), await counted(conn, spaces)


async def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code in (200, 201, 202, 204), answer.text
    return answer.json() if answer.content else None


async def test_the_count_follows_every_way_records_change(
    client: httpx.AsyncClient, engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    post, auth = client.post, ws.auth
    spaces = {ws.id: "Acme", other_ws.id: "Globex"}
    expected: Counts = {}

    async def check(**changes: int) -> None:
        for key, change in changes.items():
            obj, name = key.split("_")
            at = (name.title(), obj)
            expected[at] = expected.get(at, 0) + change
        assert await _both(engine, spaces) == ({k: v for k, v in expected.items() if v},) * 2

    async def contact(headers: dict[str, str], **fields: str) -> str:
        made = await _ok(
            await post(f"{API}/contact/records", json={"fields": fields}, headers=headers)
        )
        return str(made["id"])

    ann = await contact(auth, first_name="Ann")
    bob = await contact(auth, first_name="Bob", email="bob@x.io")
    await _ok(await post(f"{API}/company/records", json={"fields": {"name": "Co"}}, headers=auth))
    await contact(other_ws.auth, first_name="Other")
    await check(contact_acme=2, company_acme=1, contact_globex=1)

    bulk = [{"fields": {"first_name": n}} for n in ("Cy", "Di")] + [{"fields": {"email": "bad"}}]
    await _ok(await post(f"{API}/contact/records/bulk", json={"records": bulk}, headers=auth))
    await check(contact_acme=2)

    # Intake: a new lead, a duplicate of it in the same batch merged into it, an update.
    items = [{"email": "new@x.io"}, {"Email": "NEW@x.io", "city": "Rome"}, {"email": "bob@x.io"}]
    await _ok(await post(f"{API}/contact/intake/bulk", json={"items": items}, headers=auth))
    await check(contact_acme=1)

    csv = "first_name,email\nDee,dee@x.io\nEve,eve@x.io\nBad,not an email\n"
    files = {"file": ("people.csv", csv.encode(), "text/csv")}
    await _ok(await post(f"{API}/contact/imports", files=files, headers=auth))
    assert await drain(engine) >= 1
    await check(contact_acme=2)

    await _ok(
        await client.patch(
            f"{API}/contact/records/{ann}", json={"fields": {"city": "X"}}, headers=auth
        )
    )
    await check()
    await _ok(await post(f"{API}/contact/records/{ann}/archive", headers=auth))
    await check(contact_acme=-1)
    await _ok(await post(f"{API}/contact/records/{ann}/unarchive", headers=auth))
    await check(contact_acme=1)
    await _ok(await post(f"{API}/contact/records/{ann}/archive", headers=auth))
    await check(contact_acme=-1)
    await _ok(await client.delete(f"{API}/contact/records/{ann}", headers=auth))
    await check()  # archived, so counted already as not live
    await _ok(await client.delete(f"{API}/contact/records/{bob}", headers=auth))
    await check(contact_acme=-1)
    await _ok(await post(f"{API}/contact/records/{bob}/restore", headers=auth))
    await check(contact_acme=1)
    await _ok(await post(f"{API}/contact/records/{ann}/restore", headers=auth))
    await check()  # back, but still archived

    fields = [{"key": "name", "label": "Name", "type": "text"}]
    spec = {"key": "project", "label": "Project", "fields": fields, "display_fields": ["name"]}
    await _ok(await post(API, json=spec, headers=auth))
    made = [{"fields": {"name": n}} for n in ("P1", "P2")]
    await _ok(await post(f"{API}/project/records/bulk", json={"records": made}, headers=auth))
    await check(project_acme=2)
    await _ok(await client.delete(f"{API}/project", headers=auth))
    await check(project_acme=-2)
    async with transaction(engine, write=False) as conn:
        left = await conn.execute(
            sa.select(sa.func.count(sa.distinct(record_counts.c.object_type_id))).where(
                record_counts.c.workspace_id == ws.id
            )
        )
        assert left.scalar_one() == 2  # contact and company (in any slots): no project


async def test_writes_outside_the_core_are_counted_too(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    async with transaction(engine, write=False) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        theirs = await principal_for_user(conn, other_ws.owner_id)
    async with transaction(engine, write=True) as conn:
        items = [{"fields": {"first_name": n}} for n in "abcd"]
        made = [i.record for i in await bulk_create(conn, owner, "contact", items)]
        await bulk_create(conn, owner, "company", [{"fields": {"name": "Co"}}])
        await create_record(conn, theirs, "contact", fields={"first_name": "z"})
        archived = await set_archived(conn, owner, "contact", made[0].id, archived=True)
    ids = [r.id for r in made if r is not None]
    spaces = {ws.id: "Acme", other_ws.id: "Globex"}
    expect = {("Acme", "contact"): 3, ("Acme", "company"): 1, ("Globex", "contact"): 1}
    assert await _both(engine, spaces) == (expect, expect)

    async with transaction(engine, write=True) as conn:
        company_id = (
            await conn.execute(
                sa.select(object_types.c.id).where(
                    object_types.c.workspace_id == ws.id, object_types.c.key == "company"
                )
            )
        ).scalar_one()
        # One statement inserting records of two workspaces and two object types, one of
        # them archived: copies of b (as a company), c, b archived and the other's z.
        picked = sa.select(records).where(
            records.c.id.in_(ids[1:3]) | (records.c.workspace_id == other_ws.id)
        )
        b, c, z = (r._asdict() for r in (await conn.execute(picked.order_by(records.c.id))).all())
        later = archived.archived_at + timedelta(seconds=1)
        copies = [b | {"object_type_id": company_id}, c, b | {"archived_at": later}, z]
        rows = [{**r, "uuid": uuid.uuid4(), "number": None} for r in copies]
        for row in rows:
            del row["id"]
        await conn.execute(sa.insert(records).values(rows))
        # d moved to another object type; a, archived, deleted (no change); the archived
        # ones archived again at another time (no change either).
        await conn.execute(
            sa.update(records).where(records.c.id == ids[3]).values(object_type_id=company_id)
        )
        await conn.execute(
            sa.update(records).where(records.c.id == ids[0]).values(deleted_at=later)
        )
        await conn.execute(
            sa.update(records)
            .where(records.c.archived_at.is_not(None), records.c.workspace_id == ws.id)
            .values(archived_at=later + timedelta(seconds=1))
        )
    expect = {("Acme", "contact"): 3, ("Acme", "company"): 3, ("Globex", "contact"): 2}
    assert await _both(engine, spaces) == (expect, expect)

    async with transaction(engine, write=True) as conn:
        # A hard delete of records of both object types in one statement.
        await conn.execute(
            sa.delete(records).where(records.c.workspace_id == ws.id, records.c.id.not_in([ids[1]]))
        )
    expect = {("Acme", "contact"): 1, ("Globex", "contact"): 2}
    assert await _both(engine, spaces) == (expect, expect)


async def test_concurrent_creates_on_postgresql_wait_for_no_one_and_add_up(
    database_url: str, ws: Workspace, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time, and one slot")
    engine = make_engine(database_url, pool_size=20)
    try:
        async with transaction(engine, write=False) as conn:
            owner = await principal_for_user(conn, ws.owner_id)
        async with AsyncExitStack() as stack:
            # Connections of four slots, each holding its new contacts uncommitted until all
            # have made theirs: none may wait for another's commit.
            by_slot: dict[int, AsyncConnection] = {}
            while len(by_slot) < 4:
                conn = await stack.enter_async_context(engine.connect())
                slot = await conn.scalar(sa.text("SELECT pg_backend_pid() % 16"))
                await conn.rollback()
                by_slot.setdefault(int(slot), conn)
            all_made = asyncio.Barrier(len(by_slot))

            async def make(conn: AsyncConnection, n: int) -> None:
                await conn.execution_options(crm_write=True)
                async with conn.begin():
                    items = [{"fields": {"first_name": f"{n}-{i}"}} for i in range(5)]
                    await bulk_create(conn, owner, "contact", items)
                    await asyncio.wait_for(all_made.wait(), 30)

            await asyncio.gather(*(make(c, n) for n, c in enumerate(by_slot.values())))

        async def create(n: int) -> None:
            for i in range(10):
                async with transaction(engine, write=True) as conn:
                    await create_record(conn, owner, "contact", fields={"first_name": f"{n}{i}"})

        await asyncio.gather(*(create(n) for n in range(8)))
        async with transaction(engine, write=False) as conn:
            slots = await conn.execute(
                sa.select(record_counts.c.slot, record_counts.c.live)
                .join(object_types, object_types.c.id == record_counts.c.object_type_id)
                .where(record_counts.c.workspace_id == ws.id, object_types.c.key == "contact")
            )
            spread = {slot: live for slot, live in slots}
        assert set(by_slot) <= set(spread)
        assert sum(spread.values()) == 4 * 5 + 8 * 10
        assert await _both(engine, {ws.id: "Acme"}) == ({("Acme", "contact"): 100},) * 2
    finally:
        await engine.dispose()


async def _schema_objects(engine: AsyncEngine) -> set[str]:
    """The tables, triggers and functions of the database named ``record_count*`` or
    ``crm_count*``."""
    postgresql = engine.dialect.name == "postgresql"
    names = (
        "SELECT tablename FROM pg_tables UNION ALL SELECT tgname FROM pg_trigger "
        "UNION ALL SELECT proname FROM pg_proc"
        if postgresql
        else "SELECT name FROM sqlite_master"
    )
    async with transaction(engine, write=False) as conn:
        found = await conn.execute(sa.text(names))
    return {n for (n,) in found if n.startswith(("record_count", "crm_count"))}


async def test_the_migration_fills_the_counts_and_downgrade_drops_them(
    spare_database_url: str,
) -> None:
    url = spare_database_url
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    triggers = {"record_counts_ai", "record_counts_ad", "record_counts_au"}
    functions = {"crm_count_records", "crm_count_moved_record"}
    try:
        made = await _schema_objects(engine)
        assert made == {"record_counts", *triggers} | (
            functions if engine.dialect.name == "postgresql" else set()
        )
        async with transaction(engine, write=True) as conn:
            made_ws = [await create_workspace(conn, name=n) for n in ("Acme", "Globex")]
            acme, globex = [await principal_for_user(conn, m["owner"]["id"]) for m in made_ws]
        spaces = {m["workspace"].id: m["workspace"].name for m in made_ws}
        async with transaction(engine, write=True) as conn:
            contacts = [{"fields": {"first_name": n}} for n in "abc"]
            ours = [i.record for i in await bulk_create(conn, acme, "contact", contacts)]
            await bulk_create(conn, acme, "company", [{"fields": {"name": "Co"}}])
            theirs = [i.record for i in await bulk_create(conn, globex, "contact", contacts)]
            assert ours[0] is not None
            assert theirs[0] is not None
            await set_archived(conn, acme, "contact", ours[0].id, archived=True)
            await conn.execute(
                sa.update(records).where(records.c.id == theirs[0].id).values(deleted_at=utcnow())
            )
        expect = {("Acme", "contact"): 2, ("Acme", "company"): 1, ("Globex", "contact"): 2}
        assert await _both(engine, spaces) == (expect, expect)

        await asyncio.to_thread(command.downgrade, alembic_config(url), "0020")
        assert await _schema_objects(engine) == set()
        async with transaction(engine, write=True) as conn:
            # Written while no trigger counts: the upgrade counts it.
            await create_record(conn, globex, "contact", fields={"first_name": "d"})
            await create_record(conn, globex, "company", fields={"name": "Initech"})
        await asyncio.to_thread(upgrade, url)
        assert await _schema_objects(engine) == made
        expect |= {("Globex", "contact"): 3, ("Globex", "company"): 1}
        assert await _both(engine, spaces) == (expect, expect)
    finally:
        await engine.dispose()
