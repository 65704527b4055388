"""The event log read in an order that never changes, for consumers that must see every
event once: workflows and webhook deliveries.

A consumer keeps a :class:`Position` and reads the events after it. On SQLite one writer
commits at a time, in the order of ``id``, so the log is read by ``id``. On PostgreSQL ids
are taken before commit, and a transaction may commit a smaller id after a larger one was
read; each event therefore keeps the id of the transaction that wrote it (``tx``), and a
reader takes only the events of transactions older than every transaction still running
(the snapshot's ``xmin``), in the order of (``tx``, ``id``). Nothing can appear behind a
position after that. A transaction that runs long holds the readers back until it ends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.events.service import Event, event_of
from crm.db.schema import events

__all__ = ["START", "Position", "Streamed", "after", "head", "read_after", "settle"]

#: Largest batch a read returns.
MAX_BATCH = 1000
#: Transactions older than every running one, on PostgreSQL.
_SETTLED = sa.text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
#: The first transaction not yet begun, on PostgreSQL.
_NEXT = sa.text("pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
#: Seconds between looks while waiting for the log to settle.
_SETTLE_POLL = 0.01


@dataclass(frozen=True, order=True)
class Position:
    """A place in the log: after the event ``id`` of transaction ``tx`` (0 on SQLite)."""

    tx: int
    id: int

    def text(self) -> str:
        return f"{self.tx}.{self.id}"

    @classmethod
    def parse(cls, text: str) -> Position:
        """The position :meth:`text` wrote; ValueError for anything else."""
        tx, _, id_ = text.partition(".")
        if not (tx.isdigit() and id_.isdigit()):
            raise ValueError(f"not a position of the event log: {text!r}")
        return cls(int(tx), int(id_))


#: Before every event.
START = Position(0, 0)


@dataclass(frozen=True)
class Streamed:
    """An event as a consumer reads it: where it is in the log, and whose it is."""

    position: Position
    workspace_id: int
    event: Event


def _ordered(conn: AsyncConnection) -> tuple[sa.ColumnElement[int], ...]:
    if conn.dialect.name == "postgresql":
        return (events.c.tx, events.c.id)
    return (events.c.id,)


def after(
    conn: AsyncConnection, tx: int | sa.ColumnElement[int], id_: int | sa.ColumnElement[int]
) -> sa.ColumnElement[bool]:
    """The events readable now that lie after the position ``(tx, id_)``: numbers, or
    columns holding a position (a consumer's cursor, compared in SQL)."""
    if conn.dialect.name == "postgresql":
        return sa.and_(
            sa.tuple_(events.c.tx, events.c.id) > sa.tuple_(tx, id_),
            events.c.tx < _SETTLED,
        )
    return events.c.id > id_


def _after(conn: AsyncConnection, position: Position) -> sa.ColumnElement[bool]:
    return after(conn, position.tx, position.id)


def _position(conn: AsyncConnection, row: Any) -> Position:
    tx = row.tx if conn.dialect.name == "postgresql" else 0
    return Position(int(tx or 0), int(row.id))


async def read_after(
    conn: AsyncConnection,
    after: Position,
    *,
    limit: int,
    workspace_id: int | None = None,
) -> list[Streamed]:
    """Up to ``limit`` events after ``after`` (of one workspace, or of all), in log order."""
    query = sa.select(events).where(_after(conn, after))
    if workspace_id is not None:
        query = query.where(events.c.workspace_id == workspace_id)
    rows = await conn.execute(query.order_by(*_ordered(conn)).limit(min(limit, MAX_BATCH)))
    return [Streamed(_position(conn, r), r.workspace_id, event_of(r)) for r in rows]


async def head(conn: AsyncConnection, workspace_id: int | None = None) -> Position:
    """The position after the last event readable now: a consumer that starts here sees
    only what comes next."""
    query = sa.select(events.c.tx, events.c.id).where(_after(conn, START))
    if workspace_id is not None:
        query = query.where(events.c.workspace_id == workspace_id)
    ordered = _ordered(conn)
    row = (await conn.execute(query.order_by(*(c.desc() for c in ordered)).limit(1))).first()
    return START if row is None else _position(conn, row)


async def settle(engine: AsyncEngine, within: float = 30.0) -> bool:
    """Wait until every transaction begun before the call has ended, so that a read sees
    every event committed before it; whether it did within ``within`` seconds. Immediate
    on SQLite."""
    if engine.dialect.name != "postgresql":
        return True
    deadline = time.monotonic() + within
    async with engine.connect() as conn:
        target = (await conn.execute(sa.select(_NEXT))).scalar_one()
        await conn.rollback()
        while (await conn.execute(sa.select(_SETTLED))).scalar_one() < target:
            await conn.rollback()
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(_SETTLE_POLL)
        await conn.rollback()
    return True
