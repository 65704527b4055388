"""Records of any object type: CRUD, search, count, bulk, upsert, archive, timeline."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.errors import status_of
from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.errors import error_body
from crm.api.native.render_motion import stage_report
from crm.api.native.schemas import (
    BulkIn,
    CountIn,
    RecordIn,
    RecordPatch,
    SearchIn,
    StageMoveIn,
    UpsertIn,
)
from crm.core.errors import CRMError
from crm.core.metadata.model import WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.pipelines import motion
from crm.core.records import history
from crm.core.records import service as records
from crm.core.records.model import Page, RecordQuery
from crm.core.records.query import sort_param
from crm.core.storable import INT64

router = APIRouter(tags=["records"])
BASE = "/objects/{object}/records"
#: Records on a page when the request does not say.
DEFAULT_LIMIT = 50


def page(meta: WorkspaceMeta, found: Page) -> dict[str, object]:
    """A page of records as the list and search routes answer it."""
    out: dict[str, object] = {
        "data": [render.record(meta, r) for r in found.records],
        "next_cursor": found.next_cursor,
    }
    if found.total is not None:
        out["total"] = found.total
    return out


async def listing(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=500),
    cursor: str | None = None,
    offset: int | None = Query(None, ge=0, le=INT64),
    q: str | None = None,
    sort: str | None = Query(None, examples=["city,-created_at"]),
    archived: Literal["exclude", "include", "only"] = "exclude",
    include_total: bool = False,
) -> RecordQuery:
    """A dependency reading a listing of records from the query string."""
    return RecordQuery(
        sort=sort_param(sort),
        limit=limit,
        cursor=cursor,
        offset=offset,
        q=q,
        archived=archived,
        with_total=include_total,
    )


@router.get(BASE, summary="List records")
async def list_records(
    object: str, request: Request, query: RecordQuery = Depends(listing)
) -> Response:
    async with read(request) as (conn, p):
        found = await records.find_records(conn, p, object, query)
        meta = await metadata_for(conn, p)
    return json_response(page(meta, found))


@router.post(f"{BASE}/search", summary="Find records with a filter, sort and search")
async def search_records(object: str, body: SearchIn, request: Request) -> Response:
    query = RecordQuery(
        filter=body.filter,
        sort=body.sort,
        limit=body.limit,
        cursor=body.cursor,
        offset=body.offset,
        q=body.q,
        archived=body.archived,
        with_total=body.include_total,
    )
    async with read(request) as (conn, p):
        found = await records.find_records(conn, p, object, query)
        meta = await metadata_for(conn, p)
    return json_response(page(meta, found))


@router.post(f"{BASE}/count", summary="Count records matching a filter")
async def count_records(object: str, body: CountIn, request: Request) -> Response:
    query = RecordQuery(filter=body.filter, q=body.q, archived=body.archived)
    async with read(request) as (conn, p):
        total = await records.count_records(conn, p, object, query)
    return json_response({"count": total})


@router.post(BASE, status_code=201, summary="Create a record")
async def create_record(object: str, body: RecordIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        created = await records.create_record(
            conn, p, object, fields=body.fields, owner=body.owner_id
        )
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, created), 201)


@router.post(
    f"{BASE}/bulk", summary="Create up to 1,000 records; each item succeeds or fails alone"
)
async def bulk_create(object: str, body: BulkIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        results = await records.bulk_create(conn, p, object, body.records)
        meta = await metadata_for(conn, p)
    data = []
    for item in results:
        if item.record is not None:
            data.append(
                {
                    "index": item.index,
                    "status": "created",
                    "record": render.record(meta, item.record),
                }
            )
        else:
            err = item.error
            assert isinstance(err, CRMError)
            data.append(
                {
                    "index": item.index,
                    "status": "error",
                    "http_status": status_of(err),
                    **error_body(err.code, err.message, err.details),
                }
            )
    created = sum(1 for d in data if d["status"] == "created")
    return json_response({"data": data, "created": created, "failed": len(data) - created})


@router.put(f"{BASE}/upsert", summary="Update the record matching a unique field, or create it")
async def upsert_record(object: str, body: UpsertIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        record, created = await records.upsert_record(
            conn, p, object, match=body.match, fields=body.fields, owner=body.owner_id
        )
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, record), 201 if created else 200)


@router.get(f"{BASE}/{{record}}", summary="Get a record")
async def get_record(object: str, record: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await records.get_record(conn, p, object, record)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, found))


@router.patch(f"{BASE}/{{record}}", summary="Change some fields of a record (null clears)")
async def update_record(object: str, record: str, body: RecordPatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        updated = await records.update_record(
            conn, p, object, record, fields=body.fields, owner=body.owner_id
        )
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, updated))


@router.delete(f"{BASE}/{{record}}", status_code=204, summary="Delete a record (restorable)")
async def delete_record(object: str, record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await records.delete_record(conn, p, object, record)
    return Response(status_code=204)


@router.post(f"{BASE}/{{record}}/restore", summary="Restore a deleted record")
async def restore_record(object: str, record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        restored = await records.restore_record(conn, p, object, record)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, restored))


@router.post(f"{BASE}/{{record}}/archive", summary="Archive a record (409 if archived)")
async def archive_record(object: str, record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await records.set_archived(conn, p, object, record, archived=True)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, changed))


@router.post(f"{BASE}/{{record}}/unarchive", summary="Unarchive a record (409 if active)")
async def unarchive_record(object: str, record: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await records.set_archived(conn, p, object, record, archived=False)
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, changed))


@router.get(f"{BASE}/{{record}}/timeline", summary="A record's events, newest first")
async def record_timeline(
    object: str,
    record: str,
    request: Request,
    limit: int = Query(50, ge=1, le=200),
    before: str | None = Query(
        None, description="The id of the last event of the previous page.", max_length=64
    ),
) -> Response:
    async with read(request) as (conn, p):
        found = await history.timeline(conn, p, object, record, limit=limit, before=before)
        meta = await metadata_for(conn, p)
    return json_response({"data": [render.event(meta, ev) for ev in found]})


@router.post(f"{BASE}/{{record}}/stage", summary="Move a record to a stage of a pipeline")
async def move_stage(object: str, record: str, body: StageMoveIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        moved = await motion.move_stage(
            conn, p, object, record, pipeline=body.pipeline, stage=body.stage
        )
        meta = await metadata_for(conn, p)
    return json_response(render.record(meta, moved))


@router.get(f"{BASE}/{{record}}/stages", summary="A record's stage moves and time in each stage")
async def record_stages(
    object: str, record: str, request: Request, pipeline: str | None = None
) -> Response:
    async with read(request) as (conn, p):
        report = await motion.record_stages(conn, p, object, record, pipeline=pipeline)
    return json_response(stage_report(report))
