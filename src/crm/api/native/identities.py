"""Identities: how a record is reached on each channel, and finding a record by one."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.schemas import IdentityIn
from crm.core.identities import service as identities
from crm.core.metadata.service import metadata_for

router = APIRouter(tags=["identities"])
ON_RECORD = "/objects/{object}/records/{record}/identities"


@router.get("/identities/record", summary="The record reached at an address on a channel")
async def find_by_identity(
    request: Request,
    channel: str = Query(examples=["whatsapp"]),
    address: str = Query(examples=["+48123456789"]),
) -> Response:
    async with read(request) as (conn, p):
        found = await identities.find_by_identity(conn, p, channel=channel, address=address)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, found))


@router.get(ON_RECORD, summary="A record's identities")
async def list_identities(
    object: str,
    record: str,
    request: Request,
    limit: int = Query(identities.MAX_IDENTITY_PAGE, ge=1, le=identities.MAX_IDENTITY_PAGE),
    cursor: str | None = Query(None, max_length=64, description="next_cursor of a page"),
) -> Response:
    async with read(request) as (conn, p):
        page = await identities.list_identities(conn, p, object, record, limit=limit, cursor=cursor)
    return json_response(
        {"data": [render.identity(i) for i in page.identities], "next_cursor": page.next_cursor}
    )


@router.post(ON_RECORD, status_code=201, summary="Give a record an identity on a channel")
async def add_identity(object: str, record: str, body: IdentityIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await identities.add_identity(
            conn,
            p,
            object,
            record,
            channel=body.channel,
            address=body.address,
            metadata=body.metadata,
        )
    return json_response(render.identity(made), 201)


@router.delete(f"{ON_RECORD}/{{identity}}", status_code=204, summary="Remove an identity")
async def remove_identity(object: str, record: str, identity: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await identities.remove_identity(conn, p, object, record, identity)
    return Response(status_code=204)
