"""A listing's total: the kept count of the object's live records when that is the question
(every live, unarchived record, and a caller who may see them all), a count of the records
for every other question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import create_user, principal_for_user
from crm.core.lists.service import add_member, create_list, find_members
from crm.core.records.model import RecordQuery
from crm.core.records.service import (
    bulk_create,
    count_records,
    create_record,
    delete_record,
    find_records,
    set_archived,
)
from crm.db.engine import transaction
from crm.db.schema import record_counts
from tests.conftest import Workspace

PLAIN = RecordQuery(limit=1, with_total=True)
#: Each question but the plain listing, with its total in the workspace made below.
COUNTED = {
    "filter": (replace(PLAIN, filter={"field": "city", "op": "eq", "value": "Paris"}), 3),
    "q": (replace(PLAIN, q="ann"), 1),
    "archived included": (replace(PLAIN, archived="include"), 5),
    "archived only": (replace(PLAIN, archived="only"), 1),
}
#: What the tests below add to the kept count, so that a total read from it shows.
SKEW = 1000


class _RolledBack(Exception):
    pass


async def _people(engine: AsyncEngine, ws: Workspace, other_ws: Workspace) -> Principal:
    """Contacts of ``ws``: Ann and Bob of Paris, Cid of Rome, Dee archived, Eve deleted, and
    Fay of Paris, owned by an agent who may see only their own; the principal of that agent.
    ``other_ws`` has contacts too, which no total of ``ws`` counts."""
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        made = await create_user(conn, ws.id, email="agent@acme.test", name="Agent")
        agent = await principal_for_user(conn, made["id"])
        people = [("Ann", "Paris"), ("Bob", "Paris"), ("Cid", "Rome"), ("Dee", None), ("Eve", None)]
        items = [{"fields": {"first_name": n, "city": c}} for n, c in people]
        done = [i.record for i in await bulk_create(conn, owner, "contact", items)]
        ids = [r.id for r in done if r is not None]
        await set_archived(conn, owner, "contact", ids[3], archived=True)
        await delete_record(conn, owner, "contact", ids[4])
        await create_record(conn, agent, "contact", fields={"first_name": "Fay", "city": "Paris"})
        theirs = await principal_for_user(conn, other_ws.owner_id)
        await bulk_create(conn, theirs, "contact", items)
    return agent


@asynccontextmanager
async def _skewed(engine: AsyncEngine, ws: Workspace) -> AsyncIterator[AsyncConnection]:
    """A writing transaction in which every kept count of ``ws`` is ``SKEW`` more, rolled
    back when the block ends."""
    with suppress(_RolledBack):
        async with transaction(engine, write=True) as conn:
            await conn.execute(
                sa.update(record_counts)
                .where(record_counts.c.workspace_id == ws.id)
                .values(live=record_counts.c.live + SKEW)
            )
            yield conn
            raise _RolledBack


async def _totals(conn: AsyncConnection, principal: Principal) -> dict[str, int | None]:
    questions = {"plain": PLAIN} | {name: query for name, (query, _) in COUNTED.items()}
    totals: dict[str, int | None] = {}
    for name, query in questions.items():
        found = await find_records(conn, principal, "contact", query)
        assert await count_records(conn, principal, "contact", query) == found.total
        totals[name] = found.total
    return totals


async def test_a_plain_listing_reads_the_kept_count_and_every_other_question_counts(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    await _people(engine, ws, other_ws)
    expected = {"plain": 4} | {name: total for name, (_, total) in COUNTED.items()}
    async with transaction(engine, write=False) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        assert await _totals(conn, owner) == expected
    async with _skewed(engine, ws) as conn:
        assert await _totals(conn, owner) == expected | {"plain": 4 + SKEW}
        companies = await find_records(conn, owner, "company", PLAIN)
        assert companies.total == 0  # no company was ever counted: no slot to skew
    async with transaction(engine, write=False) as conn:
        assert await _totals(conn, owner) == expected


async def test_a_caller_who_sees_only_some_records_and_a_lists_members_are_counted(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    agent = await _people(engine, ws, other_ws)
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        vips = await create_list(conn, owner, object="contact", name="VIPs")
        ann = (await find_records(conn, owner, "contact", replace(PLAIN, q="ann"))).records
        await add_member(conn, owner, vips.number, ann[0].id)
    async with _skewed(engine, ws) as conn:
        assert (await find_members(conn, owner, vips.number, PLAIN)).total == 1
        assert (await find_records(conn, agent, "contact", PLAIN)).total == 1
        assert await count_records(conn, agent, "contact", PLAIN) == 1
        assert (await find_records(conn, owner, "contact", PLAIN)).total == 4 + SKEW
