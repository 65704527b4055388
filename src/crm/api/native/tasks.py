"""Tasks: completing and reopening them, and their categories."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.core.metadata.service import metadata_for
from crm.core.tasks import service as tasks

router = APIRouter(tags=["tasks"])
TASK = "/objects/task/records/{record}"


@router.post(f"{TASK}/complete", summary="Complete a task (idempotent)")
async def complete_task(record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        task = await tasks.complete_task(conn, p, record)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, task))


@router.post(f"{TASK}/reopen", summary="Reopen a completed task (idempotent)")
async def reopen_task(record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        task = await tasks.reopen_task(conn, p, record)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, task))


@router.get("/task-categories", summary="The categories a task may have")
async def task_categories(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await tasks.task_categories(conn, p)
    return json_response({"data": found})
