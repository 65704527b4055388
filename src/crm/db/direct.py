"""Single reads outside SQLAlchemy's per-request machinery: statements built once.

A :class:`Prepared` statement is written with SQLAlchemy Core like any other, compiled once
per dialect, and run through the driver itself with the columns' own type conversions, so
its rows are what the same ``SELECT`` through a connection would give. :class:`Direct` runs
them without a transaction of their own (one statement sees one snapshot): on SQLite on
the event loop's thread through a connection kept for it, on PostgreSQL as one round trip
on a connection of a small asyncpg pool kept for them, which prepares each statement once
per connection and leaves the server free to settle on a generic plan (see :class:`Direct`).

Only bounded statements belong here (by primary key or unique index, or a first page by
an index); anything else goes through a transaction (:func:`crm.db.engine.transaction`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import types
import weakref
from collections import namedtuple
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine.base import OptionEngine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_, in_greenlet

from crm.db import sqlite_driver
from crm.db.engine import SERVING, database_key

Convert = Callable[[Any], Any] | None


def param(column: sa.Column[Any], name: str | None = None) -> sa.BindParameter[Any]:
    """A bind parameter of ``column``'s type, named after it unless ``name`` is given."""
    return sa.bindparam(name or column.key, type_=column.type)


class Unavailable(Exception):
    """The statement met a lock it would have to wait for: take the full path instead."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    binds: tuple[Convert, ...]
    #: The columns that need converting, by position, with their converters.
    columns: tuple[tuple[int, Callable[[Any], Any]], ...]
    shape: Any
    #: Values the statement binds itself (an ``OFFSET 0`` that SQLite's ``LIMIT`` brings).
    fixed: dict[str, Any]

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = [params[name] if name in params else self.fixed[name] for name in self.names]
        return [
            v if c is None or v is None else c(v) for v, c in zip(values, self.binds, strict=True)
        ]

    def row(self, raw: Sequence[Any]) -> Any:
        """A row with named columns, each converted as SQLAlchemy converts it (a NULL is
        None whatever the type, as with every type these statements select)."""
        values = list(raw)
        for i, convert in self.columns:
            value = values[i]
            if value is not None:
                values[i] = convert(value)
        return self.shape._make(values)


class Prepared:
    """A ``SELECT`` with named bind parameters, compiled once per dialect."""

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def compiled(self, dialect: sa.Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        binds = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        converters = (
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.selected_columns
        )
        columns = tuple((i, c) for i, c in enumerate(converters) if c is not None)
        shape = namedtuple("Row", [c.key for c in self.statement.selected_columns])  # type: ignore[misc]
        return _Compiled(compiled.string, names, binds, columns, shape, dict(compiled.params))


class Reader:
    """Runs statements on one connection: on SQLite inside one read transaction (one
    snapshot), on PostgreSQL each in autocommit (as a ``READ COMMITTED`` transaction
    would see them)."""

    def __init__(
        self, dialect: sa.Dialect, run: Callable[[str, list[Any]], Awaitable[Any]]
    ) -> None:
        self.dialect, self._run = dialect, run

    async def rows(self, prepared: Prepared, **params: Any) -> list[Any]:
        """The statement's rows, converted as SQLAlchemy converts them."""
        compiled = prepared.compiled(self.dialect)
        raw = await self._run(compiled.sql, compiled.arguments(params))
        return [compiled.row(r) for r in raw]

    async def first(self, prepared: Prepared, **params: Any) -> Any:
        found = await self.rows(prepared, **params)
        return found[0] if found else None


#: The most connections an engine's pool of direct reads opens. A point read holds one for
#: a single round trip, so a few serve many callers: 64 concurrent in-process callers on
#: two cores were served about as fast by 4 as by 10, the engine's default size.
POOL_SIZE = 4


class _OwnPool:
    """The asyncpg pool of one PostgreSQL engine's direct reads, opened on first use on the
    running loop and closed by :meth:`Direct.close` or when the engine is disposed."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Not the engine itself, which would keep itself alive as a key of ``_own_pools``.
        self.url, self.dialect = engine.url, engine.dialect
        self.pool: asyncpg.Pool | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[asyncpg.Pool] | None = None

    async def get(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self.pool is not None and self.loop is loop:
            return self.pool
        if self.loop is not loop:
            # Another loop's pool (of a loop that ran before this one) cannot serve here.
            self.pool, self._opening, self.loop = None, None, loop
        opening = self._opening
        if opening is None:
            opening = self._opening = loop.create_task(self._open())
        try:
            pool = await asyncio.shield(opening)
        except Exception:
            if self._opening is opening:
                self._opening = None  # the next read tries again
            raise
        if self._opening is opening:
            self.pool, self._opening = pool, None
        return pool

    async def _open(self) -> asyncpg.Pool:
        url = self.url.set(drivername="postgresql")
        pool = await asyncpg.create_pool(
            url.render_as_string(hide_password=False),
            min_size=1,
            max_size=POOL_SIZE,
            statement_cache_size=SERVING.statements,
            init=self._codecs,
            reset=_keep,
        )
        assert pool is not None
        return pool

    async def _codecs(self, conn: asyncpg.Connection) -> None:
        """The codecs SQLAlchemy's asyncpg dialect sets on the engine's own connections
        (``json`` and ``jsonb`` decoded by the engine's deserializer), so that rows come
        as :class:`Prepared`'s conversions expect them."""
        dialect: Any = self.dialect
        adapted = types.SimpleNamespace(_connection=conn)
        await dialect.setup_asyncpg_json_codec(adapted)
        await dialect.setup_asyncpg_jsonb_codec(adapted)

    def detach(self) -> asyncpg.Pool | None:
        """The pool open on the running loop, for the caller to close; none is open after
        (one still opening is cancelled, one of a loop no longer running is dropped)."""
        pool = self.pool if self.loop is _running_loop() else None
        if self._opening is not None:
            self._opening.cancel()
        self.pool, self.loop, self._opening = None, None, None
        return pool


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _keep(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it is: the statements run here change no
    session state, and asyncpg's default reset would cost a round trip every time."""


#: Per engine (its synchronous core, which disposing keeps).
_own_pools: weakref.WeakKeyDictionary[sa.Engine, _OwnPool] = weakref.WeakKeyDictionary()


def _root(sync_engine: sa.Engine) -> sa.Engine:
    """The engine an engine derived with ``execution_options`` stands for: derived ones
    share its connections, so they share its pool of direct reads, which its disposal
    closes (a pool per derived engine would be closed by nothing)."""
    while isinstance(sync_engine, OptionEngine):
        sync_engine = sync_engine._proxied
    return sync_engine


def _own_pool(engine: AsyncEngine) -> _OwnPool:
    root = _root(engine.sync_engine)
    found = _own_pools.get(root)
    if found is None:
        found = _own_pools[root] = _OwnPool(engine)
        sa.event.listen(root, "engine_disposed", _close_with_engine)
    return found


def _close_with_engine(sync_engine: sa.Engine) -> None:
    """The engine is disposed, so its owner is done with it: so is its pool of direct
    reads. ``AsyncEngine.dispose`` calls this in a greenlet, where it may wait."""
    own = _own_pools.get(sync_engine)
    pool = None if own is None else own.detach()
    if pool is not None:
        if in_greenlet():
            await_(pool.close())
        else:
            pool.terminate()


class Direct:
    """Runs :class:`Prepared` statements for one engine (see the module's docstring).

    On PostgreSQL they run on a small asyncpg pool of the engine's own (shared by every
    :class:`Direct` of the engine, opened on first use), not on the engine's connections:
    those force a custom plan for every statement, as the searches need, whereas a bounded
    statement's plan hardly depends on its values. This pool's connections keep the server's
    ``plan_cache_mode``, so a statement, prepared once per connection, runs on a generic
    plan after its first five runs wherever the planner finds that as cheap (the reads by
    key do; a first page, whose ``LIMIT`` is a parameter, keeps being planned each time).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        #: The database's identity in per-process caches.
        self.database = database_key(engine)
        self._sqlite: sqlite3.Connection | None = None
        self._own = None if self.dialect.name == "sqlite" else _own_pool(engine)

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            url = self.engine.url
            conn = sqlite3.connect(url.database or "", check_same_thread=False)
            # On the event loop's thread nothing may wait: a reader that meets a lock (only
            # ever briefly, in WAL mode) fails at once, and its caller takes the slow way.
            sqlite_driver.configure(conn, page_kib=SERVING.page_kib, busy_ms=0)
            self._sqlite = conn
        return self._sqlite

    async def committed_alone(self, prepared: Prepared, **params: Any) -> list[Any]:
        """PostgreSQL only: run ``prepared`` (a ``SELECT`` over a data-modifying ``WITH``)
        on the pool of direct reads, in a transaction of its own that commits at once,
        whatever becomes of the caller's; its rows. For what must not wait for other
        transactions, as a sequence does not: the lock of the row it changes is held only
        while it runs."""
        assert self._own is not None, "SQLite has one writer: change it in the transaction"
        pool = await self._own.get()
        compiled = prepared.compiled(self.dialect)
        async with pool.acquire() as driver:
            raw = await driver.fetch(compiled.sql, *compiled.arguments(params))
        return [compiled.row(r) for r in raw]

    @asynccontextmanager
    async def reading(self, *, statements: int = 1) -> AsyncIterator[Reader]:
        """A :class:`Reader` for up to ``statements`` statements, which on SQLite share one
        snapshot (one statement has one by itself); :class:`Unavailable` if SQLite would
        have to wait for a lock."""
        if self.dialect.name == "sqlite":
            conn = self._sqlite_connection()

            async def run_sqlite(sql: str, arguments: list[Any]) -> Any:
                return conn.execute(sql, arguments).fetchall()

            try:
                if statements > 1:
                    conn.execute("BEGIN")
                try:
                    yield Reader(self.dialect, run_sqlite)
                finally:
                    if statements > 1:
                        conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise Unavailable(str(exc)) from exc
                raise
            return
        assert self._own is not None
        pool = await self._own.get()
        async with pool.acquire() as driver:

            async def run_pg(sql: str, arguments: list[Any]) -> Any:
                return await driver.fetch(sql, *arguments)

            yield Reader(self.dialect, run_pg)

    async def close(self) -> None:
        """Close what this reader keeps open; on PostgreSQL that is the pool of direct reads
        that it shares with every :class:`Direct` of its engine (a later read opens one
        again)."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        pool = None if self._own is None else self._own.detach()
        if pool is not None:
            await pool.close()
