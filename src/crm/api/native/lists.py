"""Static lists: records of one object type picked by hand, and their members."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.records import listing, page
from crm.api.native.schemas import ListIn, ListPatch
from crm.core.lists import service as lists
from crm.core.metadata.service import metadata_for
from crm.core.records import service as records
from crm.core.records.model import RecordQuery
from crm.core.storable import INT64

router = APIRouter(tags=["lists"])
ONE = "/lists/{list_id}"


@router.get("/lists", summary="The workspace's lists by name, with how many records each holds")
async def find_lists(
    request: Request,
    object: str | None = Query(None, description="only the lists of this object type"),
    q: str | None = Query(None, max_length=lists.MAX_Q, description="part of the name"),
    limit: int = Query(lists.LIST_PAGE, ge=1, le=lists.MAX_LIST_PAGE),
    offset: int = Query(0, ge=0, le=INT64),
) -> Response:
    async with read(request) as (conn, p):
        found = await lists.find_lists(conn, p, object=object, q=q, limit=limit, offset=offset)
        meta = await metadata_for(conn, p)
    return json_response(
        {"data": [render.static_list(meta, lst) for lst in found.lists], "total": found.total}
    )


@router.post("/lists", status_code=201, summary="Create a list of records of one object type")
async def create_list(body: ListIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await lists.create_list(
            conn, p, object=body.object, name=body.name, description=body.description
        )
        meta = await metadata_for(conn, p)
    return json_response(render.static_list(meta, made), 201)


@router.get(ONE, summary="Get a list (by id or number)")
async def get_list(list_id: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await lists.get_list(conn, p, list_id)
        meta = await metadata_for(conn, p)
    return json_response(render.static_list(meta, found))


@router.patch(ONE, summary="Rename a list or change its description")
async def update_list(list_id: str, body: ListPatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await lists.update_list(conn, p, list_id, **body.given())
        meta = await metadata_for(conn, p)
    return json_response(render.static_list(meta, changed))


@router.delete(ONE, status_code=204, summary="Delete a list, taking it off every record")
async def delete_list(list_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await lists.delete_list(conn, p, list_id)
    return Response(status_code=204)


@router.get(f"{ONE}/members", summary="The list's records, paged like a listing of records")
async def find_members(
    list_id: str, request: Request, query: RecordQuery = Depends(listing)
) -> Response:
    async with read(request) as (conn, p):
        found = await lists.find_members(conn, p, list_id, query)
        meta = await metadata_for(conn, p)
    return json_response(page(meta, found))


@router.put(f"{ONE}/members/{{record}}", status_code=204, summary="Add a record (idempotent)")
async def add_member(list_id: str, record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await lists.add_member(conn, p, list_id, record)
    return Response(status_code=204)


@router.delete(f"{ONE}/members/{{record}}", status_code=204, summary="Remove a record (idempotent)")
async def remove_member(list_id: str, record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await lists.remove_member(conn, p, list_id, record)
    return Response(status_code=204)


@router.get("/objects/{object}/records/{record}/lists", summary="The lists a record is on")
async def lists_of_record(object: str, record: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        shown = await records.get_record(conn, p, object, record)
        found = await lists.lists_of_record(conn, p, shown)
        meta = await metadata_for(conn, p)
    return json_response({"data": [render.static_list(meta, lst) for lst in found]})
