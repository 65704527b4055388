"""Engines and transactions for both databases, from the URLs operators write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> sa.URL:
    """Turn ``sqlite:///f.db`` or ``postgresql://u@h/db`` into the URL of its async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def database_key(engine: AsyncEngine) -> str:
    """The identity of the database behind ``engine``, for per-process caches (which may
    serve several databases); its password is masked."""
    return engine.url.render_as_string()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


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
    """WAL with synchronous=FULL: an acknowledged commit survives a crash or power loss."""

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=10000",
            f"cache_size=-{cache_kib}",
            "temp_store=MEMORY",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; ilike (lower(x) LIKE lower(y)) must fold
        # "É" as PostgreSQL does.
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

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
async def transaction(engine: AsyncEngine, *, write: bool) -> AsyncIterator[AsyncConnection]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    async with engine.connect() as conn:
        await conn.execution_options(crm_write=write)
        async with conn.begin():
            yield conn
