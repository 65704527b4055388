"""Task reminders: the worker raises ``task.reminder_due`` once per task and due moment.

A live, unarchived, uncompleted task whose ``reminder_type`` is ``email`` or ``popup``,
with a ``due_date`` and ``remind_minutes``, is due for a reminder at ``due_date`` less
``remind_minutes`` (taken between 0 and :data:`MAX_MINUTES`, a week). From that moment
until :data:`GRACE` after the task is due, the worker's next look raises the reminder on
the task's timeline and remembers it in ``task_reminders``; a task whose due date moves
is due for a reminder again at its new moment. A worker stopped past a task's grace
raises nothing for it: a reminder for what is long overdue reminds of nothing.

Tasks are found through the ``due_date`` field's index, within the window of due dates a
reminder can be due for now (:data:`GRACE` back, :data:`MAX_MINUTES` ahead), in one
statement for every workspace. Delivering email reminders is not done here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import utcnow
from crm.core.events.service import append_many, system_event_row
from crm.core.metadata.fieldtypes import format_datetime
from crm.db import jsonsql
from crm.db.engine import transaction
from crm.db.rows import chunks, insert_new_many
from crm.db.schema import object_types, records, task_reminders, users

__all__ = ["GRACE", "MAX_MINUTES", "raise_due_reminders"]

TASK = "task"
#: The most minutes before its due date a task reminds of it: a week.
MAX_MINUTES = 10_080
#: How long after a task is due its reminder may still be raised.
GRACE = timedelta(hours=1)
#: The reminder types that raise reminders.
KINDS = ("email", "popup")


@dataclass(frozen=True)
class _Due:
    row: Any
    remind_at: datetime


async def raise_due_reminders(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Raise every reminder due by ``now`` (the current time) that was not raised yet, in
    one transaction; how many were raised."""
    now = now or utcnow()
    async with transaction(engine, write=True) as conn:
        due = await _due(conn, now)
        fresh = await _not_raised(conn, due)
        rows = [
            {
                "workspace_id": d.row.workspace_id,
                "record_id": d.row.id,
                "remind_at": d.remind_at,
                "raised_at": now,
            }
            for d in sorted(fresh, key=lambda d: (d.row.id, d.remind_at))
        ]
        # A worker raising the same reminders at once inserts none of them again.
        raised = await insert_new_many(
            conn, task_reminders, rows, task_reminders.c.record_id, task_reminders.c.remind_at
        )
        by_key = {(d.row.id, d.remind_at): d for d in fresh}
        await append_many(conn, [_event(by_key[tuple(r)], now) for r in raised])
    return len(raised)


async def _due(conn: AsyncConnection, now: datetime) -> list[_Due]:
    """The reminders of live tasks of every workspace that are due by ``now`` and whose
    task is not past its grace."""
    found = []
    for row in (await conn.execute(candidates(conn.dialect.name, now))).all():
        remind_at = _moment(row.due_date, row.minutes)
        if remind_at is not None and remind_at <= now:
            found.append(_Due(row, remind_at))
    return found


def candidates(dialect: str, now: datetime) -> sa.Select[Any]:
    """The tasks of every workspace that may be due for a reminder at ``now``: live,
    unarchived, uncompleted, with a reminder type that reminds, and due within the window
    (read through the ``due_date`` field's index)."""

    def field(key: str) -> sa.ColumnElement[Any]:
        return jsonsql.value_expr(dialect, key)

    def stored(value: Any) -> sa.ColumnElement[Any]:
        return jsonsql.bind_value(dialect, value)

    window = (format_datetime(now - GRACE), format_datetime(now + timedelta(minutes=MAX_MINUTES)))
    tasks = sa.select(object_types.c.workspace_id, object_types.c.id).where(
        object_types.c.key == TASK
    )
    return (
        sa.select(
            records.c.id,
            records.c.uuid,
            records.c.workspace_id,
            records.c.object_type_id,
            records.c.display_name,
            jsonsql.json_expr(dialect, "due_date").label("due_date"),
            jsonsql.json_expr(dialect, "remind_minutes").label("minutes"),
            jsonsql.json_expr(dialect, "reminder_type").label("kind"),
            users.c.uuid.label("owner"),
        )
        .outerjoin(users, users.c.id == records.c.owner_id)
        .where(
            sa.tuple_(records.c.workspace_id, records.c.object_type_id).in_(tasks),
            records.c.deleted_at.is_(None),
            records.c.archived_at.is_(None),
            field("due_date") >= stored(window[0]),
            field("due_date") <= stored(window[1]),
            field("reminder_type").in_([stored(kind) for kind in KINDS]),
            sa.or_(field("is_completed").is_(None), field("is_completed") != stored(True)),
        )
    )


def _moment(due_date: Any, minutes: Any) -> datetime | None:
    """When a task due at ``due_date`` (stored form) reminds ``minutes`` before it."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return None
    try:
        due = datetime.fromisoformat(str(due_date).replace("Z", "+00:00"))
    except ValueError:
        return None
    before = timedelta(minutes=min(max(minutes, 0), MAX_MINUTES))
    return (due - before).replace(microsecond=0)


async def _not_raised(conn: AsyncConnection, due: list[_Due]) -> list[_Due]:
    """Those of ``due`` that no worker raised yet."""
    raised: set[tuple[int, datetime]] = set()
    for chunk in chunks(sorted({d.row.id for d in due})):
        found = await conn.execute(
            sa.select(task_reminders.c.record_id, task_reminders.c.remind_at).where(
                task_reminders.c.record_id.in_(chunk)
            )
        )
        raised.update((rid, at) for rid, at in found.all())
    return [d for d in due if (d.row.id, d.remind_at) not in raised]


def _event(due: _Due, now: datetime) -> dict[str, Any]:
    row = due.row
    return system_event_row(
        row.workspace_id,
        "task.reminder_due",
        at=now,
        object_type_id=row.object_type_id,
        record_id=row.id,
        payload={
            "record": str(row.uuid),
            "object": TASK,
            "name": row.display_name,
            "owner": str(row.owner) if row.owner else None,
            "due_date": row.due_date,
            "remind_at": format_datetime(due.remind_at),
            "reminder_type": row.kind,
        },
    )
