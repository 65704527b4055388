"""Many-to-many links between records, with attributes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import Page, paging, read, write
from crm.api.native.schemas import LinkIn
from crm.core.metadata.model import WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records import links
from crm.core.records.links import Link

router = APIRouter(tags=["links"])
BASE = "/objects/{object}/records/{record}/links/{field}"


def _link(meta: WorkspaceMeta, link: Link) -> dict[str, Any]:
    return {
        "field": link.field.key,
        "record": render.record(meta, link.record),
        "attributes": link.attributes,
        "created_at": link.created_at,
        "updated_at": link.updated_at,
    }


LINK_PAGE = paging(links.MAX_LINKS, links.MAX_LINKS)


def _page(meta: WorkspaceMeta, found: links.LinkPage) -> Response:
    return json_response(
        {"data": [_link(meta, x) for x in found.links], "next_cursor": found.next_cursor}
    )


@router.get(BASE, summary="The records linked through a many-to-many field")
async def list_links(
    object: str, record: str, field: str, request: Request, page: Page = Depends(LINK_PAGE)
) -> Response:
    async with read(request) as (conn, p):
        found = await links.list_links(conn, p, object, record, field, **page.asked())
        meta = await metadata_for(conn, p)
    return _page(meta, found)


@router.get(
    "/objects/{object}/records/{record}/linked-from/{source}/{field}",
    summary="The records of another object that link to this one (the reverse side)",
)
async def list_backlinks(
    object: str,
    record: str,
    source: str,
    field: str,
    request: Request,
    page: Page = Depends(LINK_PAGE),
) -> Response:
    async with read(request) as (conn, p):
        found = await links.list_links(
            conn, p, object, record, field, reverse_from=source, **page.asked()
        )
        meta = await metadata_for(conn, p)
    return _page(meta, found)


@router.put(f"{BASE}/{{target}}", summary="Link to a record, or replace the link's attributes")
async def set_link(
    object: str, record: str, field: str, target: str, body: LinkIn, request: Request
) -> Response:
    async with write(request) as (conn, p):
        link, created = await links.set_link(
            conn, p, object, record, field, target, attributes=body.attributes
        )
        meta = await metadata_for(conn, p)
    return json_response(_link(meta, link), 201 if created else 200)


@router.delete(f"{BASE}/{{target}}", status_code=204, summary="Remove a link")
async def remove_link(
    object: str, record: str, field: str, target: str, request: Request
) -> Response:
    async with write(request) as (conn, p):
        await links.remove_link(conn, p, object, record, field, target)
    return Response(status_code=204)
