"""Completing and reopening tasks, and the categories a task may have.

A task is a record of the standard ``task`` object; these services change it through the
record engine's one update path (:func:`crm.core.records.service.update_record`), so the
same scopes, reach, checks and ``record.updated`` events apply as to any update.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.metadata.fieldtypes import format_datetime
from crm.core.records.model import Record
from crm.core.records.rules import context, require_reach, visible
from crm.core.records.service import update_record

__all__ = ["complete_task", "reopen_task", "task_categories"]

TASK = "task"
#: The select field whose choices are the categories.
CATEGORY = "category"


async def _set_completed(
    conn: AsyncConnection, principal: Principal, ref: str | int, *, done: bool
) -> Record:
    """The task completed (``is_completed``, ``completed_at``, ``completed_by`` the caller)
    or reopened (all three cleared); one already so is answered as it is."""
    meta, obj = await context(conn, principal, TASK, "update")
    task = await visible(conn, principal, obj, ref, lock=True)
    require_reach(principal, task, "edit")
    if bool(task.data.get("is_completed")) == done:
        return task
    me = meta.users[principal.user_id]
    fields: dict[str, Any] = {
        "is_completed": done,
        "completed_at": format_datetime(utcnow()) if done else None,
        "completed_by": str(me.uuid) if done else None,
    }
    return await update_record(conn, principal, TASK, task.id, fields=fields)


async def complete_task(conn: AsyncConnection, principal: Principal, ref: str | int) -> Record:
    """Mark a task the caller may edit completed, by the caller, now (idempotent)."""
    return await _set_completed(conn, principal, ref, done=True)


async def reopen_task(conn: AsyncConnection, principal: Principal, ref: str | int) -> Record:
    """Mark a task the caller may edit not completed (idempotent)."""
    return await _set_completed(conn, principal, ref, done=False)


async def task_categories(conn: AsyncConnection, principal: Principal) -> list[dict[str, str]]:
    """The choices (``value``, ``label``) of the workspace's task ``category`` field, as
    its metadata holds them; none if the field is not a select."""
    _, obj = await context(conn, principal, TASK, "read")
    f = obj.fields.get(CATEGORY)
    if f is None or f.type not in ("select", "multi_select"):
        return []
    return [dict(choice) for choice in f.options["choices"]]
