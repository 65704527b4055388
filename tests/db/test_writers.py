"""SQLite writers of one process: turns, and groups that share one durable commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db import writers
from crm.db.engine import make_engine, transaction, writer_turn
from crm.db.locks import is_transient
from crm.db.writers import GROUP_MAX, GroupLost


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    yield engine
    await engine.dispose()


def _count_commits(engine: AsyncEngine) -> list[int]:
    commits: list[int] = []
    sa.event.listen(engine.sync_engine, "commit", lambda _conn: commits.append(1))
    return commits


async def _stored(engine: AsyncEngine) -> list[int]:
    async with transaction(engine, write=False) as conn:
        return list((await conn.execute(sa.text("SELECT n FROM t ORDER BY n"))).scalars())


async def _insert(engine: AsyncEngine, n: int, fail: bool = False) -> None:
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
        await asyncio.sleep(0)
        if fail:
            raise ValueError(n)


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups close only when full: on a loaded machine ten writers may take longer than a
    group's 20 ms to queue, which would split them into two groups."""
    monkeypatch.setattr(writers, "GROUP_SECONDS", 60.0)


@pytest.mark.usefixtures("patient")
async def test_writers_that_queue_together_share_one_commit(engine: AsyncEngine) -> None:
    commits = _count_commits(engine)
    await asyncio.gather(*(_insert(engine, n) for n in range(10)))
    assert len(commits) == 1
    assert await _stored(engine) == list(range(10))


@pytest.mark.usefixtures("patient")
async def test_a_group_commits_once_it_is_full(engine: AsyncEngine) -> None:
    commits = _count_commits(engine)
    await asyncio.gather(*(_insert(engine, n) for n in range(GROUP_MAX + 1)))
    assert len(commits) == 2
    assert await _stored(engine) == list(range(GROUP_MAX + 1))


async def test_a_failing_writer_undoes_only_its_own_work(engine: AsyncEngine) -> None:
    done = await asyncio.gather(
        *(_insert(engine, n, fail=n == 3) for n in range(6)), return_exceptions=True
    )
    assert [type(d).__name__ for d in done] == ["NoneType"] * 3 + ["ValueError"] + ["NoneType"] * 2
    assert await _stored(engine) == [0, 1, 2, 4, 5]


async def test_a_writer_leaves_its_block_only_after_the_commit(engine: AsyncEngine) -> None:
    async def insert_then_look(n: int) -> list[int]:
        await _insert(engine, n)
        async with engine.connect() as other:
            return list((await other.execute(sa.text("SELECT n FROM t"))).scalars())

    seen = await asyncio.gather(*(insert_then_look(n) for n in range(5)))
    assert all(n in found for n, found in enumerate(seen))


async def test_when_the_shared_transaction_is_lost_nobody_stored_anything(
    engine: AsyncEngine,
) -> None:
    async def lose_it() -> None:
        async with transaction(engine, write=True) as conn:
            await conn.exec_driver_sql("ROLLBACK")

    done = await asyncio.gather(_insert(engine, 1), lose_it(), return_exceptions=True)
    assert isinstance(done[0], GroupLost)
    assert isinstance(done[1], sa.exc.OperationalError)
    assert await _stored(engine) == []
    assert is_transient(done[0])
    await _insert(engine, 2)
    assert await _stored(engine) == [2]


async def test_a_writer_that_gives_up_waiting_leaves_the_group_to_commit(
    engine: AsyncEngine,
) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with transaction(engine, write=True) as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            inside.set()
            await release.wait()

    holder = asyncio.create_task(first())
    await inside.wait()
    waiter = asyncio.create_task(_insert(engine, 2))
    await asyncio.sleep(0)
    waiter.cancel()
    release.set()
    await asyncio.wait_for(holder, 2)
    assert waiter.cancelled()
    assert await _stored(engine) == [1]


async def test_a_writer_on_its_own_connection_waits_for_the_group_to_commit(
    engine: AsyncEngine,
) -> None:
    writes = [asyncio.create_task(_insert(engine, n)) for n in range(3)]
    await asyncio.sleep(0)
    async with writer_turn(engine), engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO t VALUES (10)"))
    await asyncio.gather(*writes)
    assert await _stored(engine) == [0, 1, 2, 10]
