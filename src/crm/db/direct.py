"""Single reads outside SQLAlchemy's per-request machinery: statements built once.

A :class:`Prepared` statement is written with SQLAlchemy Core like any other, compiled once
per dialect, and run through the driver itself with the columns' own type conversions, so
its rows are what the same ``SELECT`` through a connection would give. :class:`Direct` runs
them without a transaction of their own (one statement sees one snapshot): on SQLite on
the event loop's thread through a connection kept for it, on PostgreSQL as one round trip
on a pooled connection (asyncpg prepares each statement once per connection).

Only bounded statements belong here (by primary key or unique index, or a first page by
an index); anything else goes through a transaction (:func:`crm.db.engine.transaction`).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

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


class Direct:
    """Runs :class:`Prepared` statements for one engine (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        #: The database's identity in per-process caches.
        self.database = database_key(engine)
        self._sqlite: sqlite3.Connection | None = None

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            url = self.engine.url
            conn = sqlite3.connect(url.database or "", check_same_thread=False)
            # On the event loop's thread nothing may wait: a reader that meets a lock (only
            # ever briefly, in WAL mode) fails at once, and its caller takes the slow way.
            sqlite_driver.configure(conn, page_kib=SERVING.page_kib, busy_ms=0)
            self._sqlite = conn
        return self._sqlite

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
        proxied = await self.engine.raw_connection()
        try:
            driver = proxied.driver_connection
            assert driver is not None

            async def run_pg(sql: str, arguments: list[Any]) -> Any:
                return await driver.fetch(sql, *arguments)

            yield Reader(self.dialect, run_pg)
        finally:
            proxied.close()

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
