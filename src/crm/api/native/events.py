"""The workspace's change feed: every event after a cursor, oldest first."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read
from crm.core.events import changes_since
from crm.core.metadata.service import metadata_for

router = APIRouter(tags=["events"])


@router.get("/events", summary="Changes since a cursor (the last event id you have seen)")
async def list_events(
    request: Request,
    after: str | None = Query(
        None,
        description="The id of the last event you have seen; without it, from the first. "
        "`0` also means from the first.",
        max_length=64,
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> Response:
    cursor = None if after in (None, "0") else after
    async with read(request) as (conn, p):
        meta = await metadata_for(conn, p)
        found = await changes_since(conn, p, meta, after=cursor, limit=limit)
    return json_response(
        {
            "data": [render.event(meta, ev) for ev in found],
            "next_after": str(found[-1].uuid) if found else cursor,
        }
    )
