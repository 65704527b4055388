"""Named token buckets: each holds up to ``burst`` tokens and regains ``per_second``.

A request takes one token, or is told how long to wait for one. A bucket nobody touched
for ``burst / per_second`` seconds is full again, which is the same as having no bucket,
so idle buckets are forgotten without changing any answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.db.engine import writer_turn
from crm.db.schema import rate_buckets

#: How often, at most, a process forgets idle buckets.
SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Rate:
    """``burst`` tokens at most, ``per_second`` regained; the limit is off at zero."""

    per_second: float
    burst: int

    @property
    def on(self) -> bool:
        return self.per_second > 0 and self.burst > 0

    @property
    def refill_seconds(self) -> float:
        """How long an empty bucket takes to fill."""
        return self.burst / self.per_second

    def wait(self, tokens: float) -> float:
        """Seconds until a bucket holding ``tokens`` holds one (0 when it does)."""
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_second

    def refilled(self, tokens: float, elapsed: float) -> float:
        return min(float(self.burst), tokens + max(elapsed, 0.0) * self.per_second)


class Buckets(Protocol):
    """Where the buckets live."""

    async def take(self, name: str, rate: Rate) -> float:
        """Take a token from ``name``: 0 when taken, else the seconds to wait for one."""

    async def wait(self, name: str, rate: Rate) -> float:
        """The seconds to wait until ``name`` holds a token, taking none (0: it holds one)."""


class MemoryBuckets:
    """Buckets in this process's memory: exact, and free, for a server of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._held: dict[str, tuple[float, float, float]] = {}  # tokens, stamp, refill s
        self._swept = clock()

    def _tokens(self, name: str, rate: Rate, now: float) -> float:
        tokens, stamp, _ = self._held.get(name, (float(rate.burst), now, 0.0))
        return rate.refilled(tokens, now - stamp)

    async def take(self, name: str, rate: Rate) -> float:
        now = self.clock()
        self._sweep(now)
        tokens = self._tokens(name, rate, now)
        waited = rate.wait(tokens)
        self._held[name] = (tokens if waited else tokens - 1, now, rate.refill_seconds)
        return waited

    async def wait(self, name: str, rate: Rate) -> float:
        return rate.wait(self._tokens(name, rate, self.clock())) if name in self._held else 0.0

    def _sweep(self, now: float) -> None:
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        self._held = {k: v for k, v in self._held.items() if now - v[1] < v[2]}


class DatabaseBuckets:
    """Buckets in the ``rate_buckets`` table, shared by every process on the database.

    A take is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: the row lock it takes
    orders concurrent takes, and each computes its refill from the row it locked, so no take
    is lost between processes. Time is each process's wall clock, in seconds.
    """

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.clock = engine, clock
        self._swept = clock()
        self._horizon = 0.0  # the longest refill of any rate seen: older rows are full

    async def take(self, name: str, rate: Rate) -> float:
        now = self.clock()
        self._horizon = max(self._horizon, rate.refill_seconds)
        async with _statements(self.engine, write=True) as conn:
            found = (await conn.execute(_take(conn.dialect.name, name, rate, now))).one()
            if now - self._swept >= SWEEP_SECONDS:
                self._swept = now
                await conn.execute(
                    sa.delete(rate_buckets).where(rate_buckets.c.stamp < now - self._horizon)
                )
        return 0.0 if found.taken else rate.wait(found.tokens)

    async def wait(self, name: str, rate: Rate) -> float:
        self._horizon = max(self._horizon, rate.refill_seconds)
        async with _statements(self.engine, write=False) as conn:
            found = (
                await conn.execute(
                    sa.select(rate_buckets.c.tokens, rate_buckets.c.stamp).where(
                        rate_buckets.c.name == name
                    )
                )
            ).first()
        if found is None:
            return 0.0
        return rate.wait(rate.refilled(found.tokens, self.clock() - found.stamp))


@asynccontextmanager
async def _statements(engine: AsyncEngine, *, write: bool) -> AsyncIterator[AsyncConnection]:
    """A connection for bucket statements, each of which is atomic by itself.

    On PostgreSQL in autocommit, so a statement is one round trip, without BEGIN and
    COMMIT. On SQLite in a transaction (taking the write lock first when ``write``) whose
    commit does not wait for the disk: a bucket lost to a power cut only refills, and an
    fsync per request would cost more than the request (ADR 0006). ``NORMAL`` still syncs
    checkpoints, which carry every connection's durable commits into the database file;
    the connection is back to ``FULL`` before anything else uses it.
    """
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
            return
        await conn.execution_options(crm_write=write)
        if not write:
            async with conn.begin():
                yield conn
            return
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        raw.execute("PRAGMA synchronous=NORMAL")
        try:
            async with writer_turn(engine), conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA synchronous=FULL")


def _take(dialect: str, name: str, rate: Rate, now: float) -> sa.Insert:
    """The one statement that refills ``name`` to ``now`` and takes a token if it holds one."""
    b = rate_buckets.c
    elapsed = sa.case((b.stamp < now, now - b.stamp), else_=0.0)
    grown = b.tokens + elapsed * rate.per_second
    refilled = sa.case((grown > rate.burst, float(rate.burst)), else_=grown)
    has_one = refilled >= 1
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rate_buckets)
    return (
        insert.values(name=name, tokens=float(rate.burst) - 1, stamp=now, taken=True)
        .on_conflict_do_update(
            index_elements=[b.name],
            set_={
                "tokens": sa.case((has_one, refilled - 1), else_=refilled),
                "taken": has_one,
                "stamp": sa.case((b.stamp < now, now), else_=b.stamp),
            },
        )
        .returning(b.tokens, b.taken)
    )


def retry_after(seconds: float) -> int:
    """A wait as whole seconds for a ``Retry-After`` header: rounded up, at least 1."""
    return max(1, math.ceil(seconds))
