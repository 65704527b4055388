"""Appending to and reading from the event log.

Each event names its record by integer id (for indexed reads) and carries the record's
UUID and object key in its payload, so timelines and feeds render without joins. An event's
integer id orders the log of every workspace together; a workspace is shown the event's
UUID instead, and continues a feed or timeline from one, so no workspace learns how busy the
others are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core import paging
from crm.core.auth.principal import Principal, Reach
from crm.core.clock import utcnow
from crm.core.ids import uuid7
from crm.core.metadata.model import WorkspaceMeta
from crm.core.records.model import Record
from crm.db.direct import Prepared, Reader, param
from crm.db.schema import events

__all__ = [
    "Event",
    "append_event",
    "append_many",
    "changes_since",
    "event_of",
    "event_row",
    "record_event",
    "record_timeline",
    "system_event_row",
]


@dataclass(frozen=True)
class Event:
    id: int
    uuid: uuid.UUID
    type: str
    object_type_id: int | None
    record_id: int | None
    actor_user_id: int | None
    changes: dict[str, Any] | None
    payload: dict[str, Any]
    created_at: datetime


async def append_event(
    conn: AsyncConnection,
    workspace_id: int,
    type_: str,
    *,
    actor: Principal | None,
    object_type_id: int | None = None,
    record_id: int | None = None,
    changes: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction."""
    await conn.execute(
        sa.insert(events).values(
            workspace_id=workspace_id,
            uuid=uuid7(),
            type=type_,
            object_type_id=object_type_id,
            record_id=record_id,
            actor_user_id=actor.user_id if actor else None,
            actor_key_id=actor.key_id if actor else None,
            changes=changes,
            payload={**(payload or {}), **acted_through(actor)},
            created_at=utcnow(),
        )
    )


def acted_through(actor: Principal | None) -> dict[str, Any]:
    """What an event's payload says of the workflow run that made it, if one did."""
    if actor is None or actor.via is None:
        return {}
    return {"via": {"run": str(actor.via.run), "depth": actor.via.depth}}


async def record_event(
    conn: AsyncConnection, principal: Principal, record: Record, type_: str, **extra: Any
) -> None:
    """Append an event about ``record``: its payload names the record and its object."""
    await append_event(
        conn,
        principal.workspace_id,
        type_,
        actor=principal,
        object_type_id=record.object.id,
        record_id=record.id,
        payload={"record": str(record.uuid), "object": record.object.key, **extra},
    )


def event_row(
    principal: Principal,
    type_: str,
    *,
    at: datetime,
    object_type_id: int | None = None,
    record_id: int | None = None,
    changes: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event as a row for :func:`append_many`, acted by ``principal``."""
    row = system_event_row(
        principal.workspace_id,
        type_,
        at=at,
        object_type_id=object_type_id,
        record_id=record_id,
        changes=changes,
        payload=payload,
    )
    row["payload"] = {**row["payload"], **acted_through(principal)}
    return {**row, "actor_user_id": principal.user_id, "actor_key_id": principal.key_id}


def system_event_row(
    workspace_id: int,
    type_: str,
    *,
    at: datetime,
    object_type_id: int | None = None,
    record_id: int | None = None,
    changes: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event that no user acted (the worker's) as a row for :func:`append_many`."""
    return {
        "workspace_id": workspace_id,
        "uuid": uuid7(),
        "type": type_,
        "object_type_id": object_type_id,
        "record_id": record_id,
        "actor_user_id": None,
        "actor_key_id": None,
        "changes": changes,
        "payload": payload or {},
        "created_at": at,
    }


async def append_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Append a batch of events (bulk writes, see :func:`event_row`) in one statement."""
    if rows:
        await conn.execute(sa.insert(events), rows)


def event_of(row: sa.Row[Any]) -> Event:
    """The event a row of ``events`` holds."""
    return Event(
        id=row.id,
        uuid=row.uuid,
        type=row.type,
        object_type_id=row.object_type_id,
        record_id=row.record_id,
        actor_user_id=row.actor_user_id,
        changes=row.changes,
        payload=row.payload or {},
        created_at=row.created_at,
    )


async def _position(
    conn: AsyncConnection, workspace_id: int, cursor: str | None, name: str
) -> int | None:
    """Where the event the caller names by UUID stands in the log (None for no cursor);
    ValidationFailed on ``name`` when the workspace has no such event."""
    if cursor is None:
        return None
    found = await paging.after(
        conn,
        sa.select(events.c.id).where(events.c.workspace_id == workspace_id),
        events.c.uuid,
        cursor,
        field=name,
        message="must be the id of an event you were shown",
    )
    return int(found.id)


async def record_timeline(
    conn: AsyncConnection,
    workspace_id: int,
    record_id: int,
    *,
    limit: int,
    before: str | None = None,
) -> list[Event]:
    """A record's events, newest first; ``before`` continues from an event's id."""
    query = sa.select(events).where(
        events.c.workspace_id == workspace_id, events.c.record_id == record_id
    )
    position = await _position(conn, workspace_id, before, "before")
    if position is not None:
        query = query.where(events.c.id < position)
    rows = await conn.execute(query.order_by(events.c.id.desc()).limit(limit))
    return [event_of(r) for r in rows]


_RECENT = Prepared(
    sa.select(events)
    .where(
        events.c.workspace_id == param(events.c.workspace_id),
        events.c.record_id == param(events.c.record_id),
    )
    .order_by(events.c.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer()))
)


async def recent_of_record(
    read: Reader, workspace_id: int, record_id: int, limit: int
) -> list[Event]:
    """A record's latest events, newest first (its first timeline page), through a point
    read's reader (:mod:`crm.core.records.point`)."""
    rows = await read.rows(_RECENT, workspace_id=workspace_id, record_id=record_id, limit=limit)
    return [event_of(r) for r in rows]


async def changes_since(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    *,
    after: str | None,
    limit: int,
) -> list[Event]:
    """The workspace's events after the event ``after`` names (from the first without it),
    oldest first.

    A caller sees the events of the object types whose records it may all view, and the
    workspace-level events only if it manages the workspace.
    """
    principal.require_scope("event", "list")
    visible = [o.id for o in meta.objects.values() if principal.reach(o.key, "view") == Reach.ALL]
    scope: sa.ColumnElement[bool] = events.c.object_type_id.in_(visible)
    if principal.manages("events"):
        scope = sa.or_(scope, events.c.object_type_id.is_(None))
    query = sa.select(events).where(events.c.workspace_id == principal.workspace_id, scope)
    position = await _position(conn, principal.workspace_id, after, "after")
    if position is not None:
        query = query.where(events.c.id > position)
    rows = await conn.execute(query.order_by(events.c.id).limit(limit))
    return [event_of(r) for r in rows]
