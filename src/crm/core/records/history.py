"""A record's timeline: its events, read from the workspace log."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.events.service import Event, record_timeline
from crm.core.records.service import get_record

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
