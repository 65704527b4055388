"""An async SQLAlchemy driver for SQLite that runs short statements on the event loop.

SQLite is a library, not a server: a primary-key ``SELECT`` takes a few microseconds, while
handing each DB-API call to a connection's own thread and back (aiosqlite) costs tens of
microseconds and a trip through the event loop per call (ADR 0004, ADR 0008). This driver
calls :mod:`sqlite3` directly from the event loop's thread for statements that are bounded,
and runs in threads only what may take long, so nothing on the loop waits for long:

- statements marked ``crm_offload`` (searches, counts, bulk work: see
  :data:`crm.db.engine.OFFLOAD`), every ``executemany`` and every statement with more
  than :data:`INLINE_PARAMETERS` parameters;
- ``BEGIN IMMEDIATE`` when another process's writer holds the lock (it is tried on the
  loop first, without waiting, and waits in a thread up to the busy timeout only then);
- the ``COMMIT`` of a writing transaction, which waits for the disk (``synchronous=FULL``).

Long statements run in a pool of one thread fewer than the machine has cores, so that one
core is left to the event loop however many searches run; waits (a commit's, a lock's)
run in a pool of their own and never queue behind a search.

A statement in a thread that its request abandons (a cancelled task) is interrupted with
``sqlite3_interrupt`` and awaited before the connection goes back to the pool, so no
connection is ever used by two threads at once.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteExecutionContext
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.engine.url import URL
from sqlalchemy.util.concurrency import await_

#: More bound parameters than this and a statement is bulk work: it runs in a thread.
INLINE_PARAMETERS = 64
#: How long a writer waits for another process's write lock (SQLite's busy timeout).
BUSY_MS = 10_000
#: Rows a server-side cursor reads per trip to its thread.
STREAM_BATCH = 1000

T = TypeVar("T")


class Where(Enum):
    """Where a call runs: on the event loop's thread, or in one of two thread pools."""

    #: Bounded statements, on the loop's thread.
    LOOP = "loop"
    #: Long statements, which keep a core busy.
    WORK = "work"
    #: Waits for the disk or for another process's lock, which keep no core busy.
    WAIT = "wait"


#: Threads per pool: long statements at most one fewer at once than there are cores, so
#: one core is always left to the event loop and its short requests.
_SIZES = {Where.WORK: max(1, (os.cpu_count() or 2) - 1), Where.WAIT: 8}


_pools: dict[Where, ThreadPoolExecutor] = {}


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def configure(conn: sqlite3.Connection, *, page_kib: int, busy_ms: int = BUSY_MS) -> None:
    """WAL with synchronous=FULL: an acknowledged commit survives a crash or power loss.

    Transactions are begun explicitly (``isolation_level`` None); ``page_kib`` sizes the
    page cache; a statement waits ``busy_ms`` for another writer's lock.
    """
    conn.isolation_level = None
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        f"busy_timeout={busy_ms}",
        f"cache_size=-{page_kib}",
        "temp_store=MEMORY",
    ):
        conn.execute(f"PRAGMA {pragma}")
    # SQLite's own lower() folds ASCII only; ilike (lower(x) LIKE lower(y)) must fold
    # "É" as PostgreSQL does.
    conn.create_function("lower", 1, _lower, deterministic=True)


def _pool(where: Where) -> ThreadPoolExecutor:
    pool = _pools.get(where)
    if pool is None:
        name = f"crm-sqlite-{where.value}"
        pool = _pools[where] = ThreadPoolExecutor(_SIZES[where], thread_name_prefix=name)
    return pool


async def _in_thread(conn: sqlite3.Connection, where: Where, fn: Callable[[], T]) -> T:
    """Run ``fn`` (which uses ``conn``) in a thread; if the caller is cancelled, interrupt
    the statement and wait for the thread to let go of the connection before re-raising."""
    future = asyncio.get_running_loop().run_in_executor(_pool(where), fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        conn.interrupt()
        await asyncio.wait([future])
        raise


async def _inline(fn: Callable[[], T]) -> T:
    return fn()


def _run(conn: sqlite3.Connection, where: Where, fn: Callable[[], T]) -> T:
    """Run ``fn`` from SQLAlchemy's greenlet: in a thread, or on the event loop's thread
    without yielding to the loop (still awaited, as the async engine requires)."""
    return await_(_inline(fn) if where is Where.LOOP else _in_thread(conn, where, fn))


class Cursor:
    """A DB-API cursor whose rows are read in full when the statement runs."""

    server_side = False

    def __init__(self, adapted: Connection) -> None:
        self._adapted = adapted
        self._cursor = adapted.sqlite.cursor()
        self._rows: deque[Any] = deque()
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def _offload(self, operation: str, parameters: Any) -> bool:
        if self._adapted.offload_next:
            self._adapted.offload_next = False
            return True
        return parameters is not None and len(parameters) > INLINE_PARAMETERS

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> Any:
        if operation.startswith("BEGIN IMMEDIATE"):
            self._begin_writing(operation)
            return
        offload = self._offload(operation, parameters)

        def step() -> None:
            if parameters is None:
                self._cursor.execute(operation)
            else:
                self._cursor.execute(operation, parameters)
            if self._cursor.description is not None:
                self._rows = deque(self._cursor.fetchall())

        _run(self._adapted.sqlite, Where.WORK if offload else Where.LOOP, step)

    def _begin_writing(self, operation: str) -> None:
        """Take the write lock: at once if it is free (this process's writers take turns
        before they get here, so it is held only by another process's writer), else in a
        thread, waiting for it as long as the busy timeout allows."""
        conn = self._adapted.sqlite
        self._adapted.offload_next = False
        self._adapted.writing = True
        conn.execute("PRAGMA busy_timeout=0")
        try:
            _run(conn, Where.LOOP, lambda: self._cursor.execute(operation))
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        _run(conn, Where.WAIT, lambda: self._cursor.execute(operation))

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        self._adapted.offload_next = False
        _run(
            self._adapted.sqlite,
            Where.WORK,
            lambda: self._cursor.executemany(operation, seq_of_parameters),
        )

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Any:
        while self._rows:
            yield self._rows.popleft()

    async def _async_soft_close(self) -> None:
        """Nothing to release early: the rows were read in full when the statement ran."""

    def setinputsizes(self, *sizes: Any) -> None:
        """Nothing to do: SQLite types values as they come."""

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()


class StreamCursor(Cursor):
    """A server-side cursor: rows are read in batches, each in a thread, as they are asked for."""

    server_side = True

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> Any:
        self._adapted.offload_next = False
        _run(
            self._adapted.sqlite,
            Where.WORK,
            lambda: self._cursor.execute(operation, () if parameters is None else parameters),
        )

    def _fetch(self, size: int) -> list[Any]:
        return _run(self._adapted.sqlite, Where.WORK, lambda: self._cursor.fetchmany(size))

    def fetchone(self) -> Any:
        rows = self._fetch(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._fetch(size or self.arraysize)

    def fetchall(self) -> list[Any]:
        return _run(self._adapted.sqlite, Where.WORK, self._cursor.fetchall)

    def __iter__(self) -> Any:
        while rows := self._fetch(STREAM_BATCH):
            yield from rows


class Connection(AdaptedConnection):
    """A :class:`sqlite3.Connection` adapted to SQLAlchemy's async engine."""

    __slots__ = ("dbapi", "offload_next", "sqlite", "writing")

    def __init__(self, dbapi: Any, connection: sqlite3.Connection) -> None:
        self.dbapi = dbapi
        self._connection = connection  # type: ignore[assignment]
        self.sqlite = connection
        #: The next statement runs in a thread (set from its execution options).
        self.offload_next = False
        #: The open transaction took the write lock: its commit waits for the disk.
        self.writing = False

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self.sqlite.isolation_level = value

    def create_function(self, *args: Any, **kw: Any) -> None:
        self.sqlite.create_function(*args, **kw)

    def cursor(self, server_side: bool = False) -> Cursor:
        return StreamCursor(self) if server_side else Cursor(self)

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> Cursor:
        cursor = self.cursor()
        cursor.execute(operation, parameters)
        return cursor

    def commit(self) -> None:
        writing, self.writing = self.writing, False
        _run(self.sqlite, Where.WAIT if writing else Where.LOOP, self.sqlite.commit)

    def rollback(self) -> None:
        self.writing = False
        self.sqlite.rollback()

    def close(self) -> None:
        self.sqlite.close()


class _DBAPI:
    """The module-like object SQLAlchemy expects: ``connect`` and the DB-API's names."""

    paramstyle = "qmark"

    def __init__(self) -> None:
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "InterfaceError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "Warning",
            "InternalError",
            "DataError",
            "Binary",
            "PARSE_COLNAMES",
            "PARSE_DECLTYPES",
            "sqlite_version",
            "sqlite_version_info",
        ):
            setattr(self, name, getattr(sqlite3, name))
        self.sqlite = sqlite3

    def connect(self, *args: Any, **kw: Any) -> Connection:
        kw["check_same_thread"] = False
        return Connection(self, sqlite3.connect(*args, **kw))


class _ExecutionContext(SQLiteExecutionContext):
    def create_server_side_cursor(self) -> Any:
        return self._dbapi_connection.cursor(server_side=True)


class Dialect(SQLiteDialect_pysqlite):
    """``sqlite+crm``: the pysqlite dialect's SQL over :class:`Connection`."""

    driver = "crm"
    execution_ctx_cls = _ExecutionContext
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = True

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        return _DBAPI()  # type: ignore[return-value]

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool

    def get_driver_connection(self, connection: Any) -> sqlite3.Connection:
        return connection.sqlite  # type: ignore[no-any-return]

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if context is not None and context.execution_options.get("crm_offload"):
            cursor._adapted.offload_next = True
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        self.do_execute(cursor, statement, None, context)


registry.register("sqlite.crm", __name__, "Dialect")
