"""Engines and transactions for both databases, from the URLs operators write."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from crm.db import sqlite_driver
from crm.db.writers import turns_of

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


@asynccontextmanager
async def writer_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """On SQLite, this process's turn to write on a connection of the caller's own (no
    group of writers open meanwhile; :mod:`crm.db.writers`)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    turns = turns_of(engine)
    await turns.alone()
    try:
        yield
    finally:
        turns.lock.release()


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, write: bool) -> AsyncIterator[AsyncConnection]:
    """One unit of work: commits when the block ends, rolls back if it raises.

    On SQLite a writing unit is a savepoint in a transaction that this process's writers
    share, committed for all of them before any leaves its block (:mod:`crm.db.writers`).
    """
    if write and engine.dialect.name == "sqlite":
        async with turns_of(engine).member(engine) as conn:
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
