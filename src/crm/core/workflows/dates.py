"""Date triggers: a workflow that starts when a date field of a record is reached, moved
by an offset ("3 days before the deal's close date", "1 day after the task is due").

The worker looks every minute (:func:`fire_dates`). A record's moment is its field's value
(a date at midnight UTC) moved by the trigger's offset; it fires once per workflow, record
and moment, from the moment on for :data:`GRACE`, and only for moments after the workflow
was published: publishing a workflow does not start it on every record whose date lies in
the past. A record whose date moves fires again at its new moment. Records are found
through the field's stored value, within the window of values whose moment can fire now.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import utcnow
from crm.core.metadata.fieldtypes import format_datetime
from crm.core.workflows.service import add_runs
from crm.core.workflows.steps import moment, shift
from crm.db import jsonsql
from crm.db.engine import transaction
from crm.db.rows import insert_new_many
from crm.db.schema import fields, records, workflow_date_fires, workflows

__all__ = ["GRACE", "fire_dates"]

#: How long after its moment a record may still start the workflow.
GRACE = timedelta(days=1)


def _bound(kind: str, when: datetime) -> str:
    return when.date().isoformat() if kind == "date" else format_datetime(when)


async def _due(conn: AsyncConnection, wf: Any, kind: str, now: datetime) -> list[tuple[int, Any]]:
    """The records of a date workflow whose moment fires now, with their moments."""
    moved = shift(wf.trigger.get("offset") or {})
    start = max(now - GRACE, wf.published_at or now)
    dialect = conn.dialect.name
    value = jsonsql.value_expr(dialect, wf.trigger["field"])
    low, high = _bound(kind, start - moved - timedelta(days=1)), _bound(kind, now - moved)
    rows = await conn.execute(
        sa.select(
            records.c.id, jsonsql.json_expr(dialect, wf.trigger["field"]).label("value")
        ).where(
            records.c.workspace_id == wf.workspace_id,
            records.c.object_type_id == wf.object_type_id,
            records.c.deleted_at.is_(None),
            records.c.archived_at.is_(None),
            value >= jsonsql.bind_value(dialect, low),
            value <= jsonsql.bind_value(dialect, high),
        )
    )
    found = []
    for record_id, stored in rows:
        at = moment(stored)
        if at is not None and start <= at + moved <= now:
            found.append((record_id, at + moved))
    return found


async def fire_dates(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Start the runs of every date workflow whose records' moments came; how many."""
    now = now or utcnow()
    started = 0
    async with transaction(engine, write=True) as conn:
        dated = await conn.execute(
            sa.select(workflows, fields.c.type.label("field_type"))
            .join(
                fields,
                sa.and_(
                    fields.c.object_type_id == workflows.c.object_type_id,
                    fields.c.key == workflows.c.trigger["field"].as_string(),
                ),
            )
            .where(
                workflows.c.published.is_(True),
                workflows.c.deleted_at.is_(None),
                workflows.c.trigger["type"].as_string() == "date.reached",
            )
        )
        for wf in dated.all():
            due = await _due(conn, wf, wf.field_type, now)
            rows = [
                {
                    "workflow_id": wf.id,
                    "record_id": record_id,
                    "moment": at,
                    "workspace_id": wf.workspace_id,
                }
                for record_id, at in due
            ]
            fresh = await insert_new_many(
                conn, workflow_date_fires, rows, workflow_date_fires.c.record_id
            )
            ids = [r.record_id for r in fresh]
            await add_runs(conn, wf.workspace_id, wf.id, ids, depth=1, event=None)
            started += len(ids)
    return started
