"""Workflows, their categories, and their runs: listed per workflow or record, started by
hand, read with their step log, and cancelled."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.schemas import (
    WorkflowCategoryIn,
    WorkflowIn,
    WorkflowPatch,
    WorkflowRunsIn,
)
from crm.core.auth.conditions import MAX_Q, Condition
from crm.core.metadata.service import metadata_for
from crm.core.storable import INT64
from crm.core.workflows import service as workflows

router = APIRouter(tags=["workflows"])
ONE = "/workflows/{workflow_id}"
CATEGORY = "/workflow-categories/{category_id}"
RUN = "/workflow-runs/{run_id}"


def _runs(page: workflows.RunPage) -> Response:
    return json_response({"data": [render.workflow_run(r) for r in page.runs], "total": page.total})


@router.get("/workflows", summary="The workflows by number, with how many there are")
async def find_workflows(
    request: Request,
    object: str | None = Query(None, description="only the workflows of this object type"),
    q: str | None = Query(None, max_length=MAX_Q, description="part of the name or description"),
    published: bool | None = Query(None, description="only the published ones, or the others"),
    limit: int = Query(workflows.WORKFLOW_PAGE, ge=1, le=workflows.MAX_WORKFLOW_PAGE),
    offset: int = Query(0, ge=0, le=INT64),
) -> Response:
    conditions = [] if published is None else [Condition("published", "eq", published)]
    async with read(request) as (conn, p):
        page = await workflows.find_workflows(
            conn, p, object=object, q=q, conditions=conditions, limit=limit, offset=offset
        )
        meta = await metadata_for(conn, p)
    shown = [render.workflow(meta, w) for w in page.workflows]
    return json_response({"data": shown, "total": page.total})


@router.post("/workflows", status_code=201, summary="Create a workflow")
async def create_workflow(body: WorkflowIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await workflows.create_workflow(conn, p, body.given())
        meta = await metadata_for(conn, p)
    return json_response(render.workflow(meta, made), 201)


@router.get(ONE, summary="A workflow, by id or number")
async def get_workflow(workflow_id: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await workflows.get_workflow(conn, p, workflow_id)
        meta = await metadata_for(conn, p)
    return json_response(render.workflow(meta, found))


@router.patch(ONE, summary="Change a workflow; runs going on keep their place")
async def update_workflow(workflow_id: str, body: WorkflowPatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await workflows.update_workflow(conn, p, workflow_id, body.given())
        meta = await metadata_for(conn, p)
    return json_response(render.workflow(meta, changed))


@router.delete(ONE, status_code=204, summary="Delete a workflow, cancelling its live runs")
async def delete_workflow(workflow_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await workflows.delete_workflow(conn, p, workflow_id)
    return Response(status_code=204)


@router.get("/workflow-categories", summary="The workflow categories, in the order made")
async def list_categories(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await workflows.list_categories(conn, p)
    return json_response(
        {"data": [render.workflow_category(c) for c in found], "total": len(found)}
    )


@router.post("/workflow-categories", status_code=201, summary="Create a workflow category")
async def create_category(body: WorkflowCategoryIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await workflows.create_category(conn, p, name=body.name)
    return json_response(render.workflow_category(made), 201)


@router.patch(CATEGORY, summary="Rename a workflow category")
async def update_category(category_id: str, body: WorkflowCategoryIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await workflows.update_category(conn, p, category_id, name=body.name)
    return json_response(render.workflow_category(changed))


@router.delete(CATEGORY, status_code=204, summary="Delete a category; its workflows keep going")
async def delete_category(category_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await workflows.delete_category(conn, p, category_id)
    return Response(status_code=204)


@router.get(f"{ONE}/runs", summary="A workflow's runs, newest first (a deleted one's too)")
async def runs_of_workflow(
    workflow_id: str,
    request: Request,
    limit: int = Query(workflows.RUN_PAGE, ge=1, le=workflows.MAX_RUN_PAGE),
    offset: int = Query(0, ge=0, le=INT64),
) -> Response:
    async with read(request) as (conn, p):
        page = await workflows.runs_of(conn, p, workflow=workflow_id, limit=limit, offset=offset)
    return _runs(page)


@router.post(
    f"{ONE}/runs",
    status_code=201,
    summary="Start a published workflow on a record, or on every record of a filter",
)
async def start_runs(workflow_id: str, body: WorkflowRunsIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        started = await workflows.start_runs(
            conn, p, workflow_id, record=body.record, filter=body.filter
        )
    return json_response({"data": [render.workflow_run(r) for r in started]}, 201)


@router.get(
    "/objects/{object}/records/{record}/workflow-runs",
    summary="The workflow runs on a record, newest first",
)
async def runs_of_record(
    object: str,
    record: str,
    request: Request,
    limit: int = Query(workflows.RUN_PAGE, ge=1, le=workflows.MAX_RUN_PAGE),
    offset: int = Query(0, ge=0, le=INT64),
) -> Response:
    async with read(request) as (conn, p):
        page = await workflows.runs_of(
            conn, p, object_key=object, record=record, limit=limit, offset=offset
        )
    return _runs(page)


@router.get(RUN, summary="A workflow run, with what each of its steps did")
async def get_run(run_id: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await workflows.get_run(conn, p, run_id)
    return json_response(render.workflow_run(found))


@router.post(f"{RUN}/cancel", summary="Cancel a run that has not ended (409 for one that has)")
async def cancel_run(run_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        cancelled = await workflows.cancel_run(conn, p, run_id)
    return json_response(render.workflow_run(cancelled))
