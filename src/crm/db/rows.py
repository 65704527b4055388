"""Row-level helpers that differ between the databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_new(conn: AsyncConnection, table: sa.Table, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless a row with the same key exists; whether it was inserted.

    Safe against a concurrent insert of the same key: the database decides
    (``ON CONFLICT DO NOTHING``), so two racing requests both succeed.
    """
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    result = await conn.execute(insert.values(**row).on_conflict_do_nothing())
    return bool(result.rowcount)
