"""A record's timeline: its events, read from the workspace log."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.events.service import Event, recent_of_record, record_timeline
from crm.core.records.model import Record
from crm.core.records.service import get_record
from crm.db.direct import Reader

MAX_TIMELINE = 200


async def timeline(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    limit: int = 50,
    before: str | None = None,
) -> list[Event]:
    """The events of a record the caller can see, newest first."""
    principal.require_scope("event", "list")
    record = await get_record(conn, principal, object_key, ref)
    return await record_timeline(
        conn, principal.workspace_id, record.id, limit=min(limit, MAX_TIMELINE), before=before
    )


async def recent_events(
    conn: AsyncConnection, principal: Principal, shown: Record, *, limit: int
) -> list[Event]:
    """The latest events of a record the caller was shown, newest first; none for a key
    that may not list events."""
    if not principal.has_scope("event", "list"):
        return []
    return await record_timeline(conn, principal.workspace_id, shown.id, limit=limit)


async def recent_events_read(
    read: Reader, principal: Principal, shown: Record, *, limit: int
) -> list[Event]:
    """:func:`recent_events` through a point read's reader (:mod:`crm.core.records.point`)."""
    if not principal.has_scope("event", "list"):
        return []
    return await recent_of_record(read, principal.workspace_id, shown.id, limit)
