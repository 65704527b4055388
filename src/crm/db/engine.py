"""Engines and transactions for both databases, from the URLs operators write."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from crm.db import sqlite_driver

_ASYNC_DRIVERS = {
    "sqlite": f"sqlite+{sqlite_driver.Dialect.driver}",
    "postgresql": "postgresql+asyncpg",
}

#: Execution options of a statement that may run long (a search, a count, bulk work): on
#: SQLite it runs in a thread instead of on the event loop (:mod:`crm.db.sqlite_driver`).
OFFLOAD = {"crm_offload": True}


def async_url(url: str) -> sa.URL:
    """Turn ``sqlite:///f.db`` or ``postgresql://u@h/db`` into the URL of its async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Caches(NamedTuple):
    """What each connection keeps cached: SQLite's page cache and prepared statements."""

    page_kib: int
    statements: int


#: For serving requests: hot pages and statements stay cached.
SERVING = Caches(page_kib=64 * 1024, statements=128)
#: For a worker writing in bulk: every batch's multi-row statements differ in their row
#: count, so large caches would fill with statements never run again and pages never read
#: again (ADR 0004).
BULK = Caches(page_kib=8 * 1024, statements=16)


def _configure_sqlite(engine: AsyncEngine, cache_kib: int) -> None:
    """Each connection as :func:`crm.db.sqlite_driver.configure` sets it; writers begin
    ``IMMEDIATE``."""

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite_driver.configure(dbapi_conn.sqlite, page_kib=cache_kib)

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A writer takes the write lock up front, so two writers queue on busy_timeout
        # instead of failing when a read transaction tries to upgrade.
        immediate = conn.get_execution_options().get("crm_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, pool_size: int = 10, caches: Caches = SERVING) -> AsyncEngine:
    """Create the async engine for an operator-written database URL, with each connection's
    caches sized for serving (``SERVING``) or for bulk work (``BULK``)."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(
            target,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"cached_statements": caches.statements},
            pool_size=pool_size,
            max_overflow=0,
        )
        _configure_sqlite(engine, caches.page_kib)
        return engine
    return create_async_engine(
        target,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        # asyncpg prepares every statement; after five runs PostgreSQL would switch to a
        # generic plan that ignores the workspace and values and can pick the wrong index
        # (a score range at 1M records: 112 ms generic, 2 ms custom). Planning costs ~0.3 ms.
        connect_args={
            "server_settings": {"plan_cache_mode": "force_custom_plan"},
            "prepared_statement_cache_size": caches.statements,
        },
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
    )


#: How long a writer waits for this process's other writers, as SQLite's busy timeout
#: bounds its wait for other processes'.
BUSY_SECONDS = sqlite_driver.BUSY_MS / 1000

#: Per pool (engines derived with ``execution_options`` share their parent's) and loop.
_gates: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, asyncio.Lock]]
_gates = weakref.WeakKeyDictionary()


class WriterBusy(sa.exc.OperationalError):
    """This process's other writers held SQLite's write lock for the whole busy timeout."""

    def __init__(self) -> None:
        super().__init__("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


@asynccontextmanager
async def writer_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """On SQLite, this process's writers take turns in order here instead of polling for the
    database's write lock (which SQLite's busy handler does with sleeps of up to 100 ms)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    gates = _gates.setdefault(engine.sync_engine.pool, {})
    gate = gates.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    try:
        await asyncio.wait_for(gate.acquire(), BUSY_SECONDS)
    except TimeoutError:
        raise WriterBusy() from None
    try:
        yield
    finally:
        gate.release()


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, write: bool) -> AsyncIterator[AsyncConnection]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    if write:
        async with writer_turn(engine), _connected(engine, write) as conn:
            yield conn
    else:
        async with _connected(engine, write) as conn:
            yield conn


@asynccontextmanager
async def _connected(engine: AsyncEngine, write: bool) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        await conn.execution_options(crm_write=write)
        async with conn.begin():
            yield conn


def database_key(engine: AsyncEngine) -> str:
    """The identity of the database behind ``engine``, for per-process caches (which may
    serve several databases); its password is masked."""
    return _rendered(engine.url)


@functools.lru_cache(maxsize=64)
def _rendered(url: sa.URL) -> str:
    return url.render_as_string()
