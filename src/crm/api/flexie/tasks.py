"""Tasks: the record routes of the ``task`` object, plus completing and reopening one and
the categories a task may have.

A task's ``association_type`` (``contact``, ``account``, a custom entity's table, ...) and
``association_id`` (that record's id) must name a record the caller can see; ``due_date``
takes Flexie's ``2026-06-25 14:00`` as well as ISO 8601, in UTC.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.entities import Context, Values
from crm.api.common.http import json_response
from crm.api.flexie.entities import Kind, entity_object
from crm.api.flexie.records import Serve, parameters
from crm.api.flexie.transport import read
from crm.core.auth.principal import Principal
from crm.core.errors import CRMError, FieldError, ValidationFailed
from crm.core.ids import parse_integer
from crm.core.metadata.model import WorkspaceMeta
from crm.core.records.lookup import uuids_by_number
from crm.core.records.model import Record
from crm.core.tasks import service as tasks

router = APIRouter()
TASKS = Kind("task", "task", "tasks", "task")
_TYPE, _ID = "association_type", "association_id"


class _Tasks(Serve):
    async def values(self, at: Context, body: dict[str, Any], *, creating: bool) -> Values:
        """As for any record, once the association names a record the caller can see."""
        body = dict(body)
        kind, ref = body.get(_TYPE), body.get(_ID)
        if kind is not None or ref is not None:
            body[_TYPE], body[_ID] = await _association(at.conn, at.p, at.meta, kind, ref)
        return await super().values(at, body, creating=creating)

    async def shown(self, at: Context, found: list[Record]) -> list[dict[str, Any]]:
        out = await super().shown(at, found)
        for task in out:
            task[_ID] = parse_integer(task.get(_ID))
        return out


async def _association(
    conn: AsyncConnection, p: Principal, meta: WorkspaceMeta, kind: Any, ref: Any
) -> tuple[str, str]:
    """The checked association: the entity type, and the record's id as text."""
    if not isinstance(kind, str):
        raise ValidationFailed.of([FieldError(_TYPE, "must name a record type with the id")])
    try:
        obj = entity_object(meta, kind.strip().lower())
    except CRMError:
        raise ValidationFailed.of([FieldError(_TYPE, f"no record type {kind!r}")]) from None
    wanted = parse_integer(ref)
    if wanted is None or not await uuids_by_number(conn, p, obj.key, [wanted]):
        raise ValidationFailed.of([FieldError(_ID, f"no {kind} with id {ref!r}")])
    return kind.strip().lower(), str(wanted)


_SERVED = _Tasks("/tasks", TASKS, router)


async def _done(request: Request, done: bool) -> Response:
    async with _SERVED.unit(request, write=True) as at:
        change = tasks.complete_task if done else tasks.reopen_task
        task = await change(at.conn, at.p, _SERVED.ref(request))
        return await _SERVED.answer(at, task)


@router.get("/tasks/list/categories")
async def categories(request: Request) -> Response:
    """The categories a task may have: the choices of its ``category`` field."""
    async with read(request) as (conn, p):
        found = await tasks.task_categories(conn, p)
    shown = [{"value": c["value"], "label": c["label"]} for c in found]
    return json_response({"total": len(shown), "categories": shown})


@router.post("/tasks/{id:int}/complete", openapi_extra=parameters("/tasks/{id:int}/complete"))
async def complete(request: Request) -> Response:
    """Mark the task completed, by the caller, now."""
    return await _done(request, True)


@router.post("/tasks/{id:int}/incomplete", openapi_extra=parameters("/tasks/{id:int}/incomplete"))
async def incomplete(request: Request) -> Response:
    """Mark the task not completed."""
    return await _done(request, False)


_SERVED.routes(whole=False)
