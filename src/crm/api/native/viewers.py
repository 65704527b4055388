"""Record viewers: share a record with users whose role would not let them see it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.schemas import ViewersIn
from crm.core.records import viewers

router = APIRouter(tags=["records"])
BASE = "/objects/{object}/records/{record}/viewers"


@router.get(BASE, summary="Users a record is shared with")
async def list_viewers(object: str, record: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await viewers.list_viewers(conn, p, object, record)
    return json_response({"data": [render.user(u) for u in found]})


@router.post(BASE, summary="Share a record with users (read access)")
async def add_viewers(object: str, record: str, body: ViewersIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        found = await viewers.add_viewers(conn, p, object, record, body.users)
    return json_response({"data": [render.user(u) for u in found]})


@router.delete(f"{BASE}/{{user}}", status_code=204, summary="Stop sharing a record with a user")
async def remove_viewer(object: str, record: str, user: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await viewers.remove_viewer(conn, p, object, record, user)
    return Response(status_code=204)
