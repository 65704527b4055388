"""Numbers handed out in order: autonumbered text fields (``REF-1001``, ``REF-1002``, ...
per field and workspace) and record numbers (1, 2, ... per object type and workspace).

Each counter is a row updated in the writer's transaction, so numbers are never handed out
twice; a rolled-back transaction gives its numbers back.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.metadata.model import FieldMeta, ObjectMeta
from crm.db.direct import Direct, Prepared, param
from crm.db.schema import record_numbers, sequences


def autonumbered(obj: ObjectMeta) -> list[FieldMeta]:
    return [f for f in obj.ordered_fields if f.options.get("autonumber")]


async def _reserve(
    conn: AsyncConnection,
    counter: sa.Column[int],
    row: dict[str, Any],
    start: int,
    count: int,
) -> int:
    """Reserve ``count`` numbers of the counter in ``row`` (its key columns' values) in one
    atomic upsert; answer the first. A counter not yet stored starts at ``start``."""
    table = counter.table
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(**row, **{counter.key: start + count})
        .on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={counter.key: counter + count},
        )
        .returning(counter)
    )
    return int((await conn.execute(statement)).scalar_one()) - count


def _numbers_taken_alone() -> Prepared:
    counter = record_numbers.c.next_number
    taken = (
        pg_insert(record_numbers)
        .values(
            workspace_id=param(record_numbers.c.workspace_id),
            object_type_id=param(record_numbers.c.object_type_id),
            next_number=sa.bindparam("count", type_=sa.BigInteger()) + 1,
        )
        .on_conflict_do_update(
            index_elements=[record_numbers.c.object_type_id],
            set_={"next_number": counter + sa.bindparam("count", type_=sa.BigInteger())},
        )
        .returning(counter)
        .cte("taken")
    )
    return Prepared(sa.select(taken.c.next_number))


_NUMBERS_TAKEN_ALONE = _numbers_taken_alone()


async def take_record_numbers(
    conn: AsyncConnection, workspace_id: int, obj: ObjectMeta, count: int
) -> int:
    """Reserve the numbers of ``count`` new records of ``obj``; answer the first.

    On PostgreSQL they are taken in a transaction of their own, as from a sequence: taken in
    the writer's, the counter's row would stay locked until its commit, and every create of
    the object type would wait for the one before it. A write rolled back there leaves its
    numbers unused. SQLite's writers take turns anyway: there the numbers come back.
    """
    row = {"workspace_id": workspace_id, "object_type_id": obj.id}
    if conn.dialect.name != "postgresql":
        return await _reserve(conn, record_numbers.c.next_number, row, 1, count)
    direct = Direct(conn.engine)
    (taken,) = await direct.committed_alone(_NUMBERS_TAKEN_ALONE, **row, count=count)
    return int(taken.next_number) - count


async def number_new_records(
    conn: AsyncConnection, workspace_id: int, obj: ObjectMeta, rows: list[dict[str, Any]]
) -> None:
    """Give each new record's empty autonumbered fields the next numbers, in place."""
    for f in autonumbered(obj):
        waiting = [data for data in rows if data.get(f.key) is None]
        if not waiting:
            continue
        start = int(f.options["autonumber"]["start"])
        row = {"workspace_id": workspace_id, "field_id": f.id}
        first = await _reserve(conn, sequences.c.next_value, row, start, len(waiting))
        prefix = f.options["autonumber"]["prefix"]
        for offset, data in enumerate(waiting):
            data[f.key] = f"{prefix}{first + offset}"
