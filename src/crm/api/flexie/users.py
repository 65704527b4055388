"""Users: list (by query or by filter body), the caller's own, create, read, update,
delete, and whether a user's role grants permissions.

A body names a user's role by the role's id (its number) and whether it is active as
``isPublished``. Deleting a user keeps its records with it as their owner.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import documented, parsed
from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.flexie.entities import core_permission
from crm.api.flexie.filters import LIST_BODY, LIST_QUERY, column_listing, list_request
from crm.api.flexie.records import MAX_NUMBER, number, parameters
from crm.api.flexie.render import user
from crm.api.flexie.transport import FlexieBody, read, write
from crm.core.auth import users

router = APIRouter()
ONE = "/users/{id:int}"
#: Flexie's name of each attribute of a user a client sends, and the core's.
NAMES = {
    "username": "username",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "password": "password",
    "position": "position",
    "timezone": "timezone",
    "locale": "locale",
    "role": "role",
    "isPublished": "active",
}
#: The client's name of each core attribute an error may name (a user needs a first or
#: last name, which the core asks of ``name``).
_CLIENT = {core: name for name, core in NAMES.items()} | {"name": "firstName"}
#: What a list of users filters and sorts on.
ALIASES = {
    "id": "number",
    "username": "username",
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "position": "position",
    "timezone": "timezone",
    "locale": "locale",
    "isPublished": "active",
    "role": "role_number",
    "date_added": "created_at",
    "date_modified": "updated_at",
}


class UserBody(FlexieBody):
    """A user's attributes as Flexie names them; each is the core's attribute of its name."""

    username: str | None = None
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")
    email: str | None = Field(None, json_schema_extra={"format": "email"})
    password: str | None = Field(None, json_schema_extra={"minLength": 8})
    position: str | None = None
    timezone: str | None = None
    locale: str | None = None
    role: int | None = Field(None, ge=1, lt=MAX_NUMBER, description="the role's id")
    active: bool | None = Field(None, alias="isPublished")


class NewUser(UserBody):
    """A new user: an email at least."""

    email: str = Field(json_schema_extra={"format": "email"})


class Permissions(FlexieBody):
    permissions: list[str]


def _ref(request: Request) -> str:
    """The user number the path names, as the core takes it."""
    return str(number(request.path_params["id"], "user"))


async def _spec(request: Request, model: type[UserBody]) -> dict[str, Any]:
    """The core's attributes of a user's body; 400 naming each one that is none of its."""
    return (await parsed(request, model)).model_dump(exclude_unset=True)


async def _page(request: Request, body: bool) -> Response:
    async with read(request) as (conn, p):
        given, filters = await list_request(request, body)
        query, names = column_listing(ALIASES, "users", given, filters)
        with renamed(names):
            page = await users.list_users(conn, p, **query)
    return json_response({"total": page.total, "users": [user(u) for u in page.users]})


@router.get("/users", openapi_extra=parameters("/users", LIST_QUERY))
async def list_by_query(request: Request) -> Response:
    """The users, found by ``search`` (a part of a name, email or username)."""
    return await _page(request, body=False)


@router.post("/users", openapi_extra=LIST_BODY)
async def list_by_body(request: Request) -> Response:
    """The users that every filter of the body finds."""
    return await _page(request, body=True)


@router.get("/users/self")
async def get_self(request: Request) -> Response:
    """The user the key acts for."""
    async with read(request) as (conn, p):
        found = await users.own_user(conn, p)
    return json_response({"user": user(found)})


@router.post("/users/new", status_code=201, openapi_extra=documented(NewUser))
async def create_user(request: Request) -> Response:
    """Add a user: an agent (role 3 in a new workspace) unless ``role`` says otherwise."""
    async with write(request) as (conn, p):
        spec = await _spec(request, NewUser)
        with renamed(_CLIENT):
            made = await users.create_user(conn, p, **spec)
    return json_response({"user": user(made)}, 201)


@router.get(ONE, openapi_extra=parameters(ONE))
async def get_user(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await users.get_user(conn, p, _ref(request))
    return json_response({"user": user(found)})


@router.put(ONE, openapi_extra={**documented(UserBody), **parameters(ONE)})
async def update_user(request: Request) -> Response:
    """Change what the body gives; ``null`` clears an optional attribute."""
    async with write(request) as (conn, p):
        ref = _ref(request)
        spec = await _spec(request, UserBody)
        with renamed(_CLIENT):
            changed = await users.update_user(conn, p, ref, **spec)
    return json_response({"user": user(changed)})


@router.delete(ONE, status_code=204, openapi_extra=parameters(ONE))
async def delete_user(request: Request) -> Response:
    """Delete a user: it is deactivated, its keys revoked; its records keep it as owner."""
    async with write(request) as (conn, p):
        await users.delete_user(conn, p, _ref(request))
    return Response(status_code=204)


@router.post(f"{ONE}/permission", openapi_extra={**documented(Permissions), **parameters(ONE)})
async def permission_check(request: Request) -> Response:
    """Whether the user's role grants each permission: ``{"lead:leads:viewown": true}``."""
    async with read(request) as (conn, p):
        ref = _ref(request)
        given = (await parsed(request, Permissions)).permissions
        answers = await users.permission_check(conn, p, ref, [core_permission(x) for x in given])
    return json_response({x: answers[core_permission(x)] for x in given})
