"""Tags: the labels contacts are organised by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import FaceBody, documented, parsed
from crm.api.common.http import json_response
from crm.api.common.openapi import words
from crm.api.common.problems import renamed
from crm.api.flownally import render
from crm.api.flownally.ids import core_id
from crm.api.flownally.transport import read, write
from crm.core.metadata.service import metadata_for
from crm.core.tags import service as tags

router = APIRouter()


class NewTag(FaceBody):
    name: str = Field(json_schema_extra=words(100))


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


@router.post("/tags", status_code=201, openapi_extra=documented(NewTag))
async def create_tag(request: Request) -> Response:
    async with write(request) as (conn, p):
        body = await parsed(request, NewTag)
        made = await tags.create_tag(conn, p, name=body.name)
        meta = await metadata_for(conn, p)
    return json_response(render.tag(meta, made), 201)


@router.delete("/tags/{tag_id}", status_code=204)
async def delete_tag(tag_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.delete_tag(conn, p, core_id("tag", tag_id, "Tag"))
    return Response(status_code=204)
