"""Numbers handed out in order: autonumbered text fields (``REF-1001``, ``REF-1002``, ...
per field and workspace), record numbers (1, 2, ... per object type and workspace), and the
numbers of lists and notes (1, 2, ... per workspace).

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
from crm.db.schema import record_numbers, sequences, workspace_numbers


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


def _taken_alone(counter: sa.Column[int]) -> Prepared:
    """:func:`_reserve` for PostgreSQL as one ``SELECT`` for :meth:`Direct.committed_alone`:
    the counter's key columns and ``count`` are its parameters; a new counter starts at 1."""
    table = counter.table
    count = sa.bindparam("count", type_=sa.BigInteger())
    taken = (
        pg_insert(table)
        .values(
            {column.key: param(column) for column in table.c if column is not counter}
            | {counter.key: count + 1}
        )
        .on_conflict_do_update(
            index_elements=list(table.primary_key.columns), set_={counter.key: counter + count}
        )
        .returning(counter)
        .cte("taken")
    )
    return Prepared(sa.select(taken.c[counter.key].label("next_number")))


_RECORD_NUMBERS = _taken_alone(record_numbers.c.next_number)
_WORKSPACE_NUMBERS = _taken_alone(workspace_numbers.c.next_number)


async def _take(
    conn: AsyncConnection,
    counter: sa.Column[int],
    alone: Prepared,
    row: dict[str, Any],
    count: int,
) -> int:
    """Reserve ``count`` numbers of a counter that starts at 1; answer the first.

    On PostgreSQL they are taken in a transaction of their own (``alone``), as from a
    sequence: taken in the writer's, the counter's row would stay locked until its commit,
    and every writer of the same counter would wait for the one before it. A write rolled
    back there leaves its numbers unused. SQLite's writers take turns anyway: there the
    numbers come back.
    """
    if conn.dialect.name != "postgresql":
        return await _reserve(conn, counter, row, 1, count)
    (taken,) = await Direct(conn.engine).committed_alone(alone, **row, count=count)
    return int(taken.next_number) - count


async def take_record_numbers(
    conn: AsyncConnection, workspace_id: int, obj: ObjectMeta, count: int
) -> int:
    """Reserve the numbers of ``count`` new records of ``obj``; answer the first."""
    row = {"workspace_id": workspace_id, "object_type_id": obj.id}
    return await _take(conn, record_numbers.c.next_number, _RECORD_NUMBERS, row, count)


async def take_numbers(conn: AsyncConnection, workspace_id: int, name: str, count: int) -> int:
    """Reserve ``count`` numbers of the workspace's counter ``name`` (``"list"``,
    ``"note"``: ``workspace_numbers``), taken as record numbers are; answer the first."""
    row = {"workspace_id": workspace_id, "name": name}
    return await _take(conn, workspace_numbers.c.next_number, _WORKSPACE_NUMBERS, row, count)


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
