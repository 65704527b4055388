"""Each connection's caches: sized for serving by default, kept small for bulk workers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db.engine import BULK, SERVING, Caches, make_engine


async def _statements_held(conn: AsyncConnection) -> int:
    held = await conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements"))
    return int(held.scalar_one())


async def _run_distinct(conn: AsyncConnection, start: int, count: int) -> None:
    for n in range(start, start + count):
        await conn.execute(sa.text(f"SELECT {n} AS n{n}"))


@pytest.mark.parametrize(("caches", "pragma"), [(SERVING, -65536), (BULK, -8192)])
async def test_sqlite_page_cache_follows_the_engine_kind(
    database_url: str, dialect: str, caches: Caches, pragma: int
) -> None:
    if dialect != "sqlite":
        pytest.skip("SQLite's own page cache")
    engine = make_engine(database_url, caches=caches)
    try:
        async with engine.connect() as conn:
            size = await conn.execute(sa.text("PRAGMA cache_size"))
            assert size.scalar_one() == pragma
    finally:
        await engine.dispose()


async def test_a_bulk_connection_holds_a_bounded_number_of_prepared_statements(
    database_url: str, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("the prepared statements a PostgreSQL session holds")
    bulk = make_engine(database_url, caches=BULK)
    serving = make_engine(database_url)
    try:
        async with bulk.connect() as conn:
            for round_ in range(4):
                await _run_distinct(conn, round_ * 2 * BULK.statements, 2 * BULK.statements)
                assert await _statements_held(conn) < 2 * BULK.statements
        async with serving.connect() as conn:
            await _run_distinct(conn, 0, 2 * BULK.statements)
            assert await _statements_held(conn) >= 2 * BULK.statements
    finally:
        await bulk.dispose()
        await serving.dispose()
