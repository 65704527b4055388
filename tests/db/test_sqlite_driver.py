"""The SQLite driver keeps the event loop free of what may wait: long statements, another
process's write lock and abandoned work."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.engine import OFFLOAD, make_engine, transaction

#: A statement that keeps SQLite busy for a while (counting in a recursive CTE).
SLOW = sa.text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
    "SELECT count(*) FROM n"
)


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.db'}", pool_size=2)
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    yield engine
    await engine.dispose()


async def _ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How often the loop ran a 1 ms sleep to its end while ``work`` ran."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.001)
        ticks += 1
    await work
    return ticks


async def test_an_offloaded_statement_leaves_the_loop_free(lite: AsyncEngine) -> None:
    async def slow() -> object:
        async with transaction(lite, write=False) as conn:
            return (await conn.execute(SLOW, execution_options=OFFLOAD)).scalar()

    task = asyncio.create_task(slow())
    started = time.perf_counter()
    ticks = await _ticks_while(task)
    elapsed = time.perf_counter() - started
    assert task.result() == 3000000
    assert elapsed > 0.05, "the statement must take a while for this test to mean anything"
    assert ticks >= elapsed * 1000 / 10


async def test_a_writer_waits_for_another_process_in_a_thread(
    lite: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> object:
        async with transaction(lite, write=True) as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        return None

    task = asyncio.create_task(write())
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    ticks = await _ticks_while(task)
    assert ticks >= 30
    async with transaction(lite, write=False) as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 1
    other.close()


async def test_an_abandoned_statement_is_interrupted_and_its_connection_reused(
    lite: AsyncEngine,
) -> None:
    async def slow() -> object:
        async with transaction(lite, write=False) as conn:
            return (await conn.execute(SLOW, execution_options=OFFLOAD)).scalar()

    started = time.perf_counter()
    for _ in range(3):
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert time.perf_counter() - started < 1.0
    for _ in range(3):
        async with transaction(lite, write=False) as conn:
            assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1


async def test_streamed_rows_arrive_in_batches(lite: AsyncEngine) -> None:
    async with transaction(lite, write=True) as conn:
        await conn.execute(sa.text("INSERT INTO t VALUES (:x)"), [{"x": i} for i in range(2500)])
    async with transaction(lite, write=False) as conn:
        stream = await conn.stream(sa.text("SELECT x FROM t ORDER BY x"))
        seen = [row.x async for row in stream]
    assert seen == list(range(2500))
