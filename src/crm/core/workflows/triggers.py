"""Starting runs from the event log: the ``workflows`` consumer reads each event once, in
log order, finds the published ``async`` workflows whose trigger it fires and whose
conditions the record meets, and adds their runs in the same transaction that moves its
position past the event, so that no event starts a run twice or never.

Conditions are evaluated when the event is read, against the record as it is then. A
workflow reacts to what happens from the moment it was published. A run that a workflow's
own change started is one run deeper than that run (the event says so, see
:class:`crm.core.auth.principal.Via`); too deep, it is recorded as ``cut`` and not run.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import acting_user
from crm.core.clock import utcnow
from crm.core.errors import CRMError
from crm.core.events.service import Event
from crm.core.events.stream import Position, Streamed, read_after
from crm.core.metadata.service import metadata_for
from crm.core.records.service import record_matches
from crm.core.workflows.model import CONSUMER
from crm.core.workflows.service import add_runs, follow_events
from crm.db.engine import transaction
from crm.db.schema import event_consumers, workflows

__all__ = ["fires", "take_events"]

#: Events read at once.
BATCH = 500
#: The events that can fire a trigger, by the trigger types they fire.
_FIRED_BY = {
    "record.created": "record.created",
    "record.updated": "record.updated",
    "record.stage_changed": "stage.changed",
    "list.added": "list.added",
    "list.removed": "list.removed",
    "record.tagged": "tag.added",
}


def fires(trigger: dict[str, Any], event: Event) -> bool:
    """Whether ``event`` fires ``trigger`` (values compared in their stored form)."""
    if _FIRED_BY.get(event.type) != trigger["type"]:
        return False
    payload, changes = event.payload, event.changes or {}
    kind = trigger["type"]
    if kind == "record.updated":
        named = trigger.get("fields")
        if named and not any(f in changes for f in named):
            return False
        wanted = trigger.get("to", {})
        return all(f in changes and changes[f][1] == v for f, v in wanted.items())
    if kind == "stage.changed":
        if "pipeline" in trigger and payload.get("pipeline") != trigger["pipeline"]:
            return False
        return all(
            (payload.get(side) or {}).get("id") == trigger[side]
            for side in ("from", "to")
            if side in trigger
        )
    if kind in ("list.added", "list.removed"):
        return trigger.get("list", payload.get("list")) == payload.get("list")
    if kind == "tag.added":
        return trigger.get("tag", payload.get("tag")) == payload.get("tag")
    return True


def _depth(event: Event) -> int:
    via = event.payload.get("via")
    return int(via["depth"]) + 1 if isinstance(via, dict) else 1


async def _position(conn: AsyncConnection) -> Position:
    """The consumer's position, its row locked (by this worker alone on PostgreSQL); a new
    consumer starts at the log's head."""
    await follow_events(conn)
    select = sa.select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
    if conn.dialect.name == "postgresql":
        select = select.with_for_update(skip_locked=True)
    row = (await conn.execute(select)).first()
    return Position.parse(row.position) if row else Position(-1, -1)


async def _candidates(conn: AsyncConnection, batch: list[Streamed]) -> dict[Any, list[Any]]:
    """The published async workflows of each (workspace, object type) the batch touches."""
    pairs = {
        (s.workspace_id, s.event.object_type_id)
        for s in batch
        if s.event.type in _FIRED_BY and s.event.record_id is not None
    }
    if not pairs:
        return {}
    rows = await conn.execute(
        sa.select(workflows).where(
            sa.tuple_(workflows.c.workspace_id, workflows.c.object_type_id).in_(list(pairs)),
            workflows.c.published.is_(True),
            workflows.c.runtime == "async",
            workflows.c.deleted_at.is_(None),
        )
    )
    found: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        if row.trigger["type"] != "manual":
            found[(row.workspace_id, row.object_type_id)].append(row)
    return found


async def _acting(
    conn: AsyncConnection, cache: dict[int | None, Principal | None], row: Any
) -> Principal | None:
    """The principal a workflow acts as (its maker), or None when its maker cannot act."""
    if row.created_by not in cache:
        cache[row.created_by] = await acting_user(conn, row.created_by)
    return cache[row.created_by]


async def _start(conn: AsyncConnection, batch: list[Streamed]) -> None:
    candidates = await _candidates(conn, batch)
    principals: dict[int | None, Principal | None] = {}
    for streamed in batch:
        event = streamed.event
        for row in candidates.get((streamed.workspace_id, event.object_type_id), []):
            published = row.published_at
            if published is not None and event.created_at < published:
                continue
            if not fires(row.trigger, event):
                continue
            acting = await _acting(conn, principals, row)
            if acting is None or event.record_id is None:
                continue
            if row.conditions is not None:
                obj = (await metadata_for(conn, acting)).objects_by_id[row.object_type_id]
                try:
                    held = await record_matches(
                        conn, acting, obj.key, event.record_id, row.conditions
                    )
                except CRMError:
                    held = False
                if not held:
                    continue
            await add_runs(
                conn,
                row.workspace_id,
                row.id,
                [event.record_id],
                depth=_depth(event),
                event=event.uuid,
            )


async def take_events(engine: AsyncEngine) -> int:
    """Read the next batch of events and start the runs they trigger; how many events were
    read (0 when there are none, or another worker is reading)."""
    async with transaction(engine, write=False) as conn:  # a look first: no write when idle
        known = await conn.execute(
            sa.select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
        )
        row = known.first()
        if row is not None and not await read_after(conn, Position.parse(row.position), limit=1):
            return 0
    async with transaction(engine, write=True) as conn:
        position = await _position(conn)
        if position.tx < 0:
            return 0
        batch = await read_after(conn, position, limit=BATCH)
        if not batch:
            return 0
        await _start(conn, batch)
        await conn.execute(
            sa.update(event_consumers)
            .where(event_consumers.c.name == CONSUMER)
            .values(position=batch[-1].position.text(), updated_at=utcnow())
        )
    return len(batch)
