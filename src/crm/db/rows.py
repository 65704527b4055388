"""Row-level helpers that differ between the databases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")

#: Values bound in one ``IN`` list, well within every driver's parameter limit.
IN_CHUNK = 500


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``, for ``IN`` lists that stay within parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def insert_new(conn: AsyncConnection, table: sa.Table, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless a row with the same key exists; whether it was inserted.

    Safe against a concurrent insert of the same key: the database decides
    (``ON CONFLICT DO NOTHING``), so two racing requests both succeed.
    """
    result = await conn.execute(_insert(conn, table).values(**row).on_conflict_do_nothing())
    return bool(result.rowcount)


async def insert_new_many(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]], *returning: Any
) -> list[sa.Row[Any]]:
    """Insert the rows whose key no row holds yet; ``returning`` of those inserted."""
    if not rows:
        return []
    statement = _insert(conn, table).on_conflict_do_nothing().returning(*returning)
    return list((await conn.execute(statement, list(rows))).all())


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    dialect = conn.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def refresh_statistics(conn: AsyncConnection, table: sa.Table) -> None:
    """Bring the planner's statistics of ``table`` up to date after a bulk load (PostgreSQL;
    SQLite plans from its indexes alone). Autovacuum may be off, or behind a fast load, and
    plans made for an empty table scan a full one."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text(f"ANALYZE {table.name}"))
