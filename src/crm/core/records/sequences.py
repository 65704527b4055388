"""Autonumbered text fields: ``REF-1001``, ``REF-1002``, ... per field and workspace.

The counter is a row updated in the writer's transaction, so numbers are never handed out
twice; a rolled-back transaction gives its numbers back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.metadata.model import FieldMeta, ObjectMeta
from crm.db.schema import sequences


def autonumbered(obj: ObjectMeta) -> list[FieldMeta]:
    return [f for f in obj.ordered_fields if f.options.get("autonumber")]


async def _take(conn: AsyncConnection, workspace_id: int, f: FieldMeta, count: int) -> int:
    """Reserve ``count`` numbers in one atomic upsert; answer the first."""
    start = int(f.options["autonumber"]["start"])
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(sequences)
        .values(workspace_id=workspace_id, field_id=f.id, next_value=start + count)
        .on_conflict_do_update(
            index_elements=[sequences.c.workspace_id, sequences.c.field_id],
            set_={"next_value": sequences.c.next_value + count},
        )
        .returning(sequences.c.next_value)
    )
    return int((await conn.execute(statement)).scalar_one()) - count


async def number_new_records(
    conn: AsyncConnection, workspace_id: int, obj: ObjectMeta, rows: list[dict[str, Any]]
) -> None:
    """Give each new record's empty autonumbered fields the next numbers, in place."""
    for f in autonumbered(obj):
        waiting = [data for data in rows if data.get(f.key) is None]
        if not waiting:
            continue
        first = await _take(conn, workspace_id, f, len(waiting))
        prefix = f.options["autonumber"]["prefix"]
        for offset, data in enumerate(waiting):
            data[f.key] = f"{prefix}{first + offset}"
