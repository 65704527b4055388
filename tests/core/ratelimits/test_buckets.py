"""Token buckets in memory and in the database: what a take gives, when a token returns,
that concurrent takes lose nothing, and that forgetting idle buckets changes no answer."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.ratelimits import Buckets, DatabaseBuckets, MemoryBuckets, Rate
from crm.core.ratelimits.buckets import SWEEP_SECONDS, retry_after
from crm.db.engine import make_engine, transaction
from crm.db.schema import rate_buckets

TWO_PER_SECOND = Rate(per_second=2.0, burst=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "database"])
def clocked(request: pytest.FixtureRequest, engine: AsyncEngine) -> tuple[Buckets, Clock]:
    clock = Clock()
    if request.param == "memory":
        return MemoryBuckets(clock), clock
    return DatabaseBuckets(engine, clock), clock


def _name() -> str:
    return f"key:{secrets.token_hex(8)}"


async def test_a_burst_then_a_token_per_interval(clocked: tuple[Buckets, Clock]) -> None:
    buckets, clock = clocked
    name = _name()
    assert [await buckets.take(name, TWO_PER_SECOND) for _ in range(3)] == [0, 0, 0]
    assert await buckets.take(name, TWO_PER_SECOND) == pytest.approx(0.5)
    clock.now += 0.25
    assert await buckets.take(name, TWO_PER_SECOND) == pytest.approx(0.25)
    clock.now += 0.25
    assert await buckets.take(name, TWO_PER_SECOND) == 0
    clock.now += 60
    assert [await buckets.take(name, TWO_PER_SECOND) for _ in range(4)][-1] > 0  # full: 3


async def test_wait_takes_nothing(clocked: tuple[Buckets, Clock]) -> None:
    buckets, _ = clocked
    name = _name()
    assert await buckets.wait(name, TWO_PER_SECOND) == 0
    for _ in range(3):
        await buckets.take(name, TWO_PER_SECOND)
    assert await buckets.wait(name, TWO_PER_SECOND) == pytest.approx(0.5)
    assert await buckets.wait(name, TWO_PER_SECOND) == pytest.approx(0.5)


async def test_a_clock_behind_the_stored_stamp_takes_no_tokens(
    clocked: tuple[Buckets, Clock],
) -> None:
    buckets, clock = clocked
    name = _name()
    await buckets.take(name, TWO_PER_SECOND)
    clock.now -= 5  # another process's clock, a little behind
    assert [await buckets.take(name, TWO_PER_SECOND) for _ in range(3)] == [0, 0, 0.5]


async def test_forgetting_idle_buckets_changes_no_answer(clocked: tuple[Buckets, Clock]) -> None:
    buckets, clock = clocked
    slow = Rate(per_second=0.001, burst=1)  # refills in 1000 s
    blocked, idle = _name(), _name()
    await buckets.take(blocked, slow)
    await buckets.take(idle, TWO_PER_SECOND)
    clock.now += SWEEP_SECONDS + 1  # the idle bucket is full again; the slow one is not
    await buckets.take(_name(), TWO_PER_SECOND)  # sweeps
    assert await buckets.wait(blocked, slow) > 900
    assert await buckets.take(idle, TWO_PER_SECOND) == 0


async def test_the_database_forgets_full_buckets(engine: AsyncEngine) -> None:
    clock = Clock()
    buckets = DatabaseBuckets(engine, clock)
    name = _name()
    await buckets.take(name, TWO_PER_SECOND)
    clock.now += SWEEP_SECONDS + 1
    await buckets.take(_name(), TWO_PER_SECOND)
    async with transaction(engine, write=False) as conn:
        left = await conn.execute(sa.select(rate_buckets).where(rate_buckets.c.name == name))
        assert left.first() is None


async def test_concurrent_takes_from_two_processes_lose_none(engine: AsyncEngine) -> None:
    one, two = DatabaseBuckets(engine), DatabaseBuckets(engine)
    rate, name = Rate(per_second=0.0001, burst=25), _name()
    waits = await asyncio.gather(*(b.take(name, rate) for b in [one, two] * 30))
    assert sum(1 for w in waits if w == 0) == 25


async def test_a_take_leaves_its_connection_as_it_found_it(database_url: str, dialect: str) -> None:
    """A take commits without an fsync on SQLite and in autocommit on PostgreSQL; the next
    user of the connection gets it durable and transactional again."""
    own = make_engine(database_url, pool_size=1)
    try:
        await DatabaseBuckets(own).take(_name(), TWO_PER_SECOND)
        async with own.connect() as conn:
            if dialect == "sqlite":
                assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL
            else:
                assert await conn.get_isolation_level() == "READ COMMITTED"
    finally:
        await own.dispose()


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert [retry_after(w) for w in (0.001, 1.0, 1.01, 59.5)] == [1, 1, 2, 60]
