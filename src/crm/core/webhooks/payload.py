"""The body a webhook carries for one event.

``{"id", "type", "timestamp", "data": {"object", "record", "changes", "payload"}}``: the
event's UUID (also the ``webhook-id``), its type and time, the key of the object type it
is about, the record as the native API shows it when the message is made (null when the
event names no record, or the record is deleted), what changed, and the event's payload.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.events.service import Event
from crm.core.metadata import repository
from crm.core.metadata.model import WorkspaceMeta
from crm.core.records import canonical
from crm.core.records.repository import COLUMNS, to_record
from crm.db.schema import records, workspaces

__all__ = ["body", "current_metadata", "live_records", "object_key"]


def object_key(meta: WorkspaceMeta, event: Event) -> str | None:
    """The key of the object type an event is about (None for a workspace-level event)."""
    obj = meta.objects_by_id.get(event.object_type_id) if event.object_type_id else None
    if obj is not None:
        return obj.key
    named = event.payload.get("object")
    return named if isinstance(named, str) else None


async def current_metadata(conn: AsyncConnection, workspace_id: int) -> WorkspaceMeta:
    """The workspace's metadata at its committed version (cached per process)."""
    version = await conn.execute(
        sa.select(workspaces.c.metadata_version).where(workspaces.c.id == workspace_id)
    )
    return await repository.cached(conn, workspace_id, int(version.scalar_one()))


async def live_records(
    conn: AsyncConnection, meta: WorkspaceMeta, record_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """The canonical form of each record of ``record_ids`` that is not deleted, by id."""
    wanted = sorted(set(record_ids))
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(*COLUMNS, records.c.object_type_id).where(
            records.c.workspace_id == meta.workspace_id,
            records.c.id.in_(wanted),
            records.c.deleted_at.is_(None),
        )
    )
    shown = {}
    for row in rows:
        obj = meta.objects_by_id.get(row.object_type_id)
        if obj is not None:
            shown[row.id] = canonical.record(meta, to_record(obj, row))
    return shown


def body(event: Event, object_: str | None, record: dict[str, Any] | None) -> bytes:
    """The JSON body of the message for ``event``, as it is signed and sent."""
    message = {
        "id": str(event.uuid),
        "type": event.type,
        "timestamp": event.created_at,
        "data": {
            "object": object_,
            "record": record,
            "changes": event.changes,
            "payload": event.payload,
        },
    }
    return orjson.dumps(message, default=str, option=orjson.OPT_UTC_Z)
