"""Workflows: list (by query or by filter body), read, change and delete, by their ids
(numbers), and their categories.

A body names a workflow's category by the category's id and whether it runs as
``isPublished``; ``trigger``, ``conditions`` and ``steps`` are written as the native API
takes them. Workflows and categories are made through the native API. The runs on a
record are each record type's ``/{id}/workflows`` (:mod:`crm.api.flexie.records`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import documented, parsed
from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.flexie.filters import LIST_BODY, LIST_QUERY, column_listing, list_request
from crm.api.flexie.records import MAX_NUMBER, number, parameters
from crm.api.flexie.render import workflow, workflow_category
from crm.api.flexie.transport import FlexieBody, read, write
from crm.core.workflows import service as workflows

router = APIRouter()
ONE = "/workflows/{id:int}"
#: The client's name of each core attribute an error may name, where it differs.
_CLIENT = {"published": "isPublished"}
#: What a list of workflows filters and sorts on.
ALIASES = {
    "id": "number",
    "name": "name",
    "description": "description",
    "category": "category",
    "isPublished": "published",
    "runtime": "runtime",
    "date_added": "created_at",
    "date_modified": "updated_at",
}


class WorkflowBody(FlexieBody):
    """What to change of a workflow; each attribute is the core's of its name."""

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    category: int | None = Field(None, ge=1, lt=MAX_NUMBER, description="the category's id")
    published: bool | None = Field(None, alias="isPublished")
    runtime: Literal["async", "sync"] | None = None
    trigger: dict[str, Any] | None = Field(None, examples=[{"type": "record.created"}])
    conditions: dict[str, Any] | None = None
    steps: list[Any] | None = Field(None, json_schema_extra={"items": {"type": "object"}})


def _ref(request: Request) -> str:
    """The workflow number the path names, as the core takes it."""
    return str(number(request.path_params["id"], "workflow"))


async def _page(request: Request, body: bool) -> Response:
    async with read(request) as (conn, p):
        given, filters = await list_request(request, body)
        query, names = column_listing(ALIASES, "workflows", given, filters)
        with renamed(names):
            page = await workflows.find_workflows(conn, p, **query)
    shown = [workflow(w) for w in page.workflows]
    return json_response({"total": page.total, "workflows": shown})


@router.get("/workflows", openapi_extra=parameters("/workflows", LIST_QUERY))
async def list_by_query(request: Request) -> Response:
    """The workflows, found by ``search`` (a part of a name or description)."""
    return await _page(request, body=False)


@router.post("/workflows", openapi_extra=LIST_BODY)
async def list_by_body(request: Request) -> Response:
    """The workflows that every filter of the body finds."""
    return await _page(request, body=True)


@router.get("/workflows/list/categories")
async def categories(request: Request) -> Response:
    """The workflow categories, in the order they were made."""
    async with read(request) as (conn, p):
        found = await workflows.list_categories(conn, p)
    return json_response({"total": len(found), "categories": [workflow_category(c) for c in found]})


@router.get(ONE, openapi_extra=parameters(ONE))
async def get_workflow(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await workflows.get_workflow(conn, p, _ref(request))
    return json_response({"workflow": workflow(found)})


@router.put(ONE, openapi_extra={**documented(WorkflowBody), **parameters(ONE)})
async def update_workflow(request: Request) -> Response:
    """Change what the body gives; ``null`` clears the description, the category and the
    conditions."""
    async with write(request) as (conn, p):
        ref = _ref(request)
        spec = (await parsed(request, WorkflowBody)).model_dump(exclude_unset=True)
        with renamed(_CLIENT):
            changed = await workflows.update_workflow(conn, p, ref, spec)
    return json_response({"workflow": workflow(changed)})


@router.delete(ONE, status_code=204, openapi_extra=parameters(ONE))
async def delete_workflow(request: Request) -> Response:
    """Delete a workflow: it starts no more runs, and its runs going on are cancelled."""
    async with write(request) as (conn, p):
        await workflows.delete_workflow(conn, p, _ref(request))
    return Response(status_code=204)
