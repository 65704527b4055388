"""Entities: the object types leads are taken into, with their field definitions."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.leadflip.render import entity
from crm.api.leadflip.transport import read
from crm.core.metadata.service import list_objects

router = APIRouter()


@router.get("/entities")
@router.get("/lead-objects")
async def list_entities(request: Request) -> Response:
    """Every entity of the workspace with its fields (``/lead-objects`` is the old name)."""
    async with read(request) as (conn, p):
        found = await list_objects(conn, p)
    return json_response([entity(o) for o in found])
