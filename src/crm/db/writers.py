"""This process's SQLite writers: they take turns, and consecutive turns share one
transaction and its durable commit (group commit, ADR 0008).

A writer waits for its turn on an asyncio lock instead of polling for SQLite's write lock
(which SQLite's busy handler does with sleeps of up to 100 ms). The first writer of a group
begins a transaction; each writer runs inside a savepoint of it, so a writer that fails
undoes only its own work; the group is committed once for all its writers, and each of
them leaves its block only once that commit is on disk. A request is answered after its
own block, so an acknowledged write is durable exactly as with a transaction of its own;
what the group saves is a disk flush per writer, during which no other writer could start.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from crm.db import sqlite_driver

_log = logging.getLogger(__name__)

#: How long a writer waits for this process's other writers, as SQLite's busy timeout
#: bounds its wait for other processes'.
BUSY_SECONDS = sqlite_driver.BUSY_MS / 1000
#: Most writers one commit carries, and the oldest a group grows before it commits: a
#: group's first writer waits for the last one's turn before its answer.
GROUP_MAX = 32
GROUP_SECONDS = 0.02


class WriterBusy(sa.exc.OperationalError):
    """This process's other writers held SQLite's write lock for the whole busy timeout."""

    def __init__(self) -> None:
        super().__init__("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


class GroupLost(sa.exc.OperationalError):
    """The group's transaction ended without its commit (another writer's statement was
    interrupted, or the commit failed): nothing of this writer's was stored, and running
    it again is safe."""

    def __init__(self) -> None:
        super().__init__("COMMIT", None, sqlite3.OperationalError("the shared write was lost"))


class _Group:
    """One open transaction that consecutive writers share."""

    __slots__ = ("conn", "done", "members", "opened", "outer")

    def __init__(self, conn: AsyncConnection, outer: AsyncTransaction) -> None:
        self.conn, self.outer = conn, outer
        self.members = 0
        self.opened = time.monotonic()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Marks a loss as seen even when no writer is left to wait for it.
        self.done.add_done_callback(lambda done: done.cancelled() or done.exception())

    def alive(self) -> bool:
        raw = self.conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        return bool(raw is not None and raw.sqlite.in_transaction)

    def due(self) -> bool:
        return self.members >= GROUP_MAX or time.monotonic() - self.opened >= GROUP_SECONDS


class Turns:
    """The writers of one connection pool on one event loop.

    Opening a group queues its committer on the lock behind every writer waiting at that
    moment: those writers join the group. When the committer's turn comes it queues again
    if more writers are waiting, and otherwise commits; a writer commits instead once the
    group is full, old or lost. A waiter that gives up just leaves the queue.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        #: Writers waiting for the lock: while there are some, a group stays open for them.
        self.waiting = 0
        self.group: _Group | None = None
        self._committers: set[asyncio.Task[None]] = set()

    async def take(self) -> None:
        """Wait for this process's turn to write; WriterBusy after the busy timeout."""
        self.waiting += 1
        try:
            await asyncio.wait_for(self.lock.acquire(), BUSY_SECONDS)
        except TimeoutError:
            raise WriterBusy() from None
        finally:
            self.waiting -= 1

    async def alone(self) -> None:
        """Take the turn with no group open, for a writer that uses a connection of its own."""
        await self.take()
        try:
            if self.group is not None:
                await self._close(self.group)
        except BaseException:
            self.lock.release()
            raise

    @asynccontextmanager
    async def member(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """A savepoint in the group's transaction, committed with the group's commit."""
        await self.take()
        try:
            group = self.group or await self._open(engine)
        except BaseException:
            self.lock.release()
            raise
        try:
            # Each writer's statements run where its own engine says (the worker's offload).
            offload = engine.get_execution_options().get("crm_offload", False)
            await group.conn.execution_options(crm_offload=offload)
            async with group.conn.begin_nested():
                yield group.conn
            group.members += 1
        finally:
            try:
                if not group.alive() or group.due():
                    await self._close(group)
            finally:
                self.lock.release()
        try:
            await group.done
        except GroupLost:
            raise GroupLost() from None

    async def _open(self, engine: AsyncEngine) -> _Group:
        conn = await engine.connect()
        try:
            await conn.execution_options(crm_write=True)
            group = self.group = _Group(conn, await conn.begin())
        except BaseException:
            await conn.close()
            raise
        committer = asyncio.ensure_future(self._commit_after_turns(group))
        self._committers.add(committer)
        committer.add_done_callback(self._committers.discard)
        return group

    async def _commit_after_turns(self, group: _Group) -> None:
        while True:
            async with self.lock:
                if self.group is not group:
                    return
                if not self.waiting or group.due():
                    await self._close(group)
                    return

    async def _close(self, group: _Group) -> None:
        """Commit the group's work (or give up a lost group) and hand its connection back."""
        self.group = None
        try:
            if group.members and group.alive():
                await group.outer.commit()
                group.done.set_result(None)
            else:
                await group.outer.rollback()
        except Exception:
            _log.exception("a group of %d writes was not committed", group.members)
        finally:
            if not group.done.done():
                group.done.set_exception(GroupLost())
            await group.conn.close()


#: Per pool (engines derived with ``execution_options`` share their parent's) and loop.
_turns: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, Turns]]
_turns = weakref.WeakKeyDictionary()


def turns_of(engine: AsyncEngine) -> Turns:
    """The turns of ``engine``'s SQLite writers in this process, on the running loop."""
    by_loop = _turns.setdefault(engine.sync_engine.pool, {})
    return by_loop.setdefault(asyncio.get_running_loop(), Turns())
