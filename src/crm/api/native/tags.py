"""Tags: workspace labels, and putting them on records of any object type."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import Page, paging, read, write
from crm.api.native.schemas import TagIn
from crm.core.metadata.service import metadata_for
from crm.core.tags import service as tags

router = APIRouter(tags=["tags"])
ON_RECORD = "/objects/{object}/records/{record}/tags"


@router.get("/tags", summary="The workspace's tags by name, with how many records carry each")
async def list_tags(
    request: Request,
    asked: Page = Depends(paging(tags.TAG_PAGE, tags.MAX_TAG_PAGE)),
) -> Response:
    async with read(request) as (conn, p):
        page = await tags.list_tags(conn, p, **asked.asked())
        meta = await metadata_for(conn, p)
    return json_response(
        {"data": [render.tag(meta, t) for t in page.tags], "next_cursor": page.next_cursor}
    )


@router.post("/tags", status_code=201, summary="Create a tag (names are unique in any case)")
async def create_tag(body: TagIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await tags.create_tag(conn, p, name=body.name)
        meta = await metadata_for(conn, p)
    return json_response(render.tag(meta, made), 201)


@router.delete("/tags/{tag}", status_code=204, summary="Delete a tag and take it off every record")
async def delete_tag(tag: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.delete_tag(conn, p, tag)
    return Response(status_code=204)


@router.get(ON_RECORD, summary="A record's tags by name")
async def record_tags(
    object: str,
    record: str,
    request: Request,
    asked: Page = Depends(paging(tags.TAG_PAGE, tags.MAX_TAG_PAGE)),
) -> Response:
    async with read(request) as (conn, p):
        page = await tags.tags_on(conn, p, object, record, **asked.asked())
        meta = await metadata_for(conn, p)
    return json_response(
        {
            "data": [render.tag(meta, t, counted=False) for t in page.tags],
            "next_cursor": page.next_cursor,
        }
    )


@router.put(f"{ON_RECORD}/{{tag}}", status_code=204, summary="Tag a record (idempotent)")
async def tag_record(object: str, record: str, tag: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.tag_record(conn, p, object, record, tag)
    return Response(status_code=204)


@router.delete(f"{ON_RECORD}/{{tag}}", status_code=204, summary="Untag a record (idempotent)")
async def untag_record(object: str, record: str, tag: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.untag_record(conn, p, object, record, tag)
    return Response(status_code=204)
