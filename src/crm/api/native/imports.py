"""CSV imports into records of any object type: upload, follow, and read refused rows."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import bearer, json_response
from crm.api.common.imports import UPLOAD_BODY, start_import
from crm.api.common.limits import receives_upload
from crm.api.native import render
from crm.api.native.deps import read
from crm.core.imports import service as imports
from crm.core.metadata.service import metadata_for

router = APIRouter(tags=["imports"])

UPLOAD_DOC = """Send the CSV as the `file` field of a multipart form (with an optional `encoding`
field, default utf-8) or as the whole body with `Content-Type: text/csv`. The header row
names the columns; they are matched to fields as intake keys are (case, spaces, `_` and `-`
ignored; keys before labels), and a channel's name, `tags` or `name` work as on intake.
Rows are written in batches by a worker: follow the import at `GET /imports/{id}`."""


@router.post(
    "/objects/{object}/imports",
    status_code=202,
    summary="Import a CSV file into records of an object type",
    description=UPLOAD_DOC,
    openapi_extra=UPLOAD_BODY,
)
@receives_upload
async def create_import(
    object: str, request: Request, phone_channel: str | None = None
) -> Response:
    started = await start_import(request, bearer(request), object, phone_channel=phone_channel)
    async with read(request) as (conn, p):
        meta = await metadata_for(conn, p)
    return json_response(
        render.import_(meta, started), 202, {"Location": f"/api/v1/imports/{started.uuid}"}
    )


@router.get("/objects/{object}/imports", summary="The imports of an object type, newest first")
async def list_imports(
    object: str,
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    before: str | None = Query(None, description="The last id of the previous page."),
) -> Response:
    async with read(request) as (conn, p):
        found = await imports.list_imports(conn, p, object, limit=limit, before=before)
        meta = await metadata_for(conn, p)
    nxt = str(found[-1].uuid) if len(found) == limit else None
    return json_response({"data": [render.import_(meta, i) for i in found], "next_before": nxt})


@router.get("/imports/{import_id}", summary="An import's status and counts")
async def get_import(import_id: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await imports.get_import(conn, p, import_id)
        meta = await metadata_for(conn, p)
    return json_response(render.import_(meta, found))


@router.get("/imports/{import_id}/errors", summary="The rows an import refused, in file order")
async def import_errors(
    import_id: str,
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    after: int = Query(0, ge=0, le=2**62, description="next_after of the previous page."),
) -> Response:
    async with read(request) as (conn, p):
        _, found = await imports.row_errors(conn, p, import_id, after=after, limit=limit)
    nxt = found[-1].id if len(found) == limit else None
    return json_response({"data": [render.row_error(e) for e in found], "next_after": nxt})
