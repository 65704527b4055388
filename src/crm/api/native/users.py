"""The workspace's users: profiles, roles, deletion, and what their roles grant."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.schemas import PermissionCheckIn, UserIn, UserPatch
from crm.core.auth import users
from crm.core.auth.conditions import MAX_Q
from crm.core.storable import INT64

router = APIRouter(tags=["users"])
USER = "/users/{user}"


@router.get("/users", summary="The workspace's users by number, with how many there are")
async def list_users(
    request: Request,
    q: str | None = Query(None, max_length=MAX_Q, description="part of a name or email"),
    limit: int = Query(users.USER_PAGE, ge=1, le=users.MAX_USER_PAGE),
    offset: int = Query(0, ge=0, le=INT64),
) -> Response:
    async with read(request) as (conn, p):
        page = await users.list_users(conn, p, q=q, limit=limit, offset=offset)
    return json_response({"data": [render.profile(u) for u in page.users], "total": page.total})


@router.post("/users", status_code=201, summary="Add a user")
async def create_user(body: UserIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await users.create_user(conn, p, **body.given())
    return json_response(render.profile(made), 201)


@router.get(USER, summary="A user, by id, number or email")
async def get_user(user: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await users.get_user(conn, p, user)
    return json_response(render.profile(found))


@router.patch(USER, summary="Change a user's profile, role, password or active flag")
async def update_user(user: str, body: UserPatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await users.update_user(conn, p, user, **body.given())
    return json_response(render.profile(changed))


@router.delete(USER, status_code=204, summary="Delete a user; its records move to transfer_to")
async def delete_user(
    user: str,
    request: Request,
    transfer_to: str | None = Query(
        None,
        description="the user to own the records: id, "
        "number or email; without it, records keep their owner",
    ),
) -> Response:
    async with write(request) as (conn, p):
        await users.delete_user(conn, p, user, transfer_to=transfer_to)
    return Response(status_code=204)


@router.post(f"{USER}/permission-check", summary="Whether the user's role grants each permission")
async def permission_check(user: str, body: PermissionCheckIn, request: Request) -> Response:
    async with read(request) as (conn, p):
        answers = await users.permission_check(conn, p, user, body.permissions)
    return json_response({"permissions": answers})
