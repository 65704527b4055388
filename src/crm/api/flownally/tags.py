"""Tags: the labels contacts are organised by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.common.openapi import json_body, words
from crm.api.common.problems import renamed
from crm.api.flownally import render
from crm.api.flownally.ids import core_id
from crm.api.flownally.transport import object_body, read, write
from crm.core.errors import FieldError, ValidationFailed
from crm.core.metadata.service import metadata_for
from crm.core.tags import service as tags

router = APIRouter()


@router.get("/tags")
async def list_tags(
    request: Request,
    pageToken: str | None = Query(None, max_length=1000),
    pageSize: int = Query(tags.TAG_PAGE, ge=1, le=tags.MAX_TAG_PAGE),
) -> Response:
    """The document's ``{"tags": [...]}``; past a page, ``nextPageToken`` names the next."""
    async with read(request) as (conn, p):
        with renamed({"cursor": "pageToken"}):
            page = await tags.list_tags(conn, p, limit=pageSize, cursor=pageToken)
        meta = await metadata_for(conn, p)
    shown: dict[str, Any] = {"tags": [render.tag(meta, t) for t in page.tags]}
    if page.next_cursor is not None:
        shown["nextPageToken"] = page.next_cursor
    return json_response(shown)


@router.post(
    "/tags",
    status_code=201,
    openapi_extra=json_body({"name": {"type": "string", **words(100)}}, required=["name"]),
)
async def create_tag(request: Request) -> Response:
    async with write(request) as (conn, p):
        body = await object_body(request, {"name"})
        if "name" not in body:
            raise ValidationFailed.of([FieldError("name", "is required", "required")])
        made = await tags.create_tag(conn, p, name=body["name"])
        meta = await metadata_for(conn, p)
    return json_response(render.tag(meta, made), 201)


@router.delete("/tags/{tag_id}", status_code=204)
async def delete_tag(tag_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.delete_tag(conn, p, core_id("tag", tag_id, "Tag"))
    return Response(status_code=204)
