"""Roles: list (by query or by filter body) and read, by their ids (numbers)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.flexie.filters import LIST_BODY, LIST_QUERY, column_listing, list_request
from crm.api.flexie.records import number, parameters
from crm.api.flexie.render import role
from crm.api.flexie.transport import read
from crm.core.auth import roles

router = APIRouter()
ONE = "/roles/{id:int}"
#: What a list of roles filters and sorts on.
ALIASES = {
    "id": "number",
    "name": "name",
    "description": "description",
    "date_added": "created_at",
    "date_modified": "updated_at",
}


async def _page(request: Request, body: bool) -> Response:
    async with read(request) as (conn, p):
        given, filters = await list_request(request, body)
        query, names = column_listing(ALIASES, "roles", given, filters)
        with renamed(names):
            page = await roles.list_roles(conn, p, **query)
    return json_response({"total": page.total, "roles": [role(r) for r in page.roles]})


@router.get("/roles", openapi_extra=parameters("/roles", LIST_QUERY))
async def list_by_query(request: Request) -> Response:
    """The roles, found by ``search`` (a part of a name or key)."""
    return await _page(request, body=False)


@router.post("/roles", openapi_extra=LIST_BODY)
async def list_by_body(request: Request) -> Response:
    """The roles that every filter of the body finds."""
    return await _page(request, body=True)


@router.get(ONE, openapi_extra=parameters(ONE))
async def get_role(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await roles.get_role(conn, p, str(number(request.path_params["id"], "role")))
    return json_response({"role": role(found)})
