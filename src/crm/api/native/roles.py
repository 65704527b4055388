"""The workspace's roles: the system ones and custom ones, by key or number."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.schemas import RoleIn, RolePatch
from crm.core.auth import roles
from crm.core.auth.conditions import MAX_Q
from crm.core.storable import INT64

router = APIRouter(tags=["roles"])
ROLE = "/roles/{role}"


@router.get("/roles", summary="The workspace's roles by number, with how many there are")
async def list_roles(
    request: Request,
    q: str | None = Query(None, max_length=MAX_Q, description="part of a key or name"),
    limit: int = Query(roles.ROLE_PAGE, ge=1, le=roles.MAX_ROLE_PAGE),
    offset: int = Query(0, ge=0, le=INT64),
) -> Response:
    async with read(request) as (conn, p):
        page = await roles.list_roles(conn, p, q=q, limit=limit, offset=offset)
    return json_response({"data": [render.role(r) for r in page.roles], "total": page.total})


@router.post("/roles", status_code=201, summary="Create a custom role")
async def create_role(body: RoleIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await roles.create_role(conn, p, **body.given())
    return json_response(render.role(made), 201)


@router.get(ROLE, summary="A role, by key or number")
async def get_role(role: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await roles.get_role(conn, p, role)
    return json_response(render.role(found))


@router.patch(ROLE, summary="Change a custom role's name, description or permissions")
async def update_role(role: str, body: RolePatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await roles.update_role(conn, p, role, **body.given())
    return json_response(render.role(changed))


@router.delete(ROLE, status_code=204, summary="Delete a custom role no user or key holds")
async def delete_role(role: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await roles.delete_role(conn, p, role)
    return Response(status_code=204)
