"""Notes on records."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import Page, paging, read, write
from crm.api.native.schemas import NoteIn, NotePatch
from crm.core.metadata.service import metadata_for
from crm.core.notes import service as notes

router = APIRouter(tags=["notes"])
BASE = "/objects/{object}/records/{record}/notes"


@router.get(BASE, summary="A record's notes, newest first")
async def list_notes(
    object: str,
    record: str,
    request: Request,
    asked: Page = Depends(paging(notes.NOTE_PAGE, notes.MAX_NOTE_PAGE)),
) -> Response:
    async with read(request) as (conn, p):
        page = await notes.list_notes(conn, p, object, record, **asked.asked())
        meta = await metadata_for(conn, p)
    return json_response(
        {"data": [render.note(meta, n) for n in page.notes], "next_cursor": page.next_cursor}
    )


@router.post(BASE, status_code=201, summary="Add a note (note, call, meeting, ...)")
async def add_note(object: str, record: str, body: NoteIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        created = await notes.add_note(conn, p, object, record, body.given())
        meta = await metadata_for(conn, p)
    return json_response(render.note(meta, created), 201)


@router.patch(f"{BASE}/{{note}}", summary="Change a note")
async def update_note(
    object: str, record: str, note: str, body: NotePatch, request: Request
) -> Response:
    async with write(request) as (conn, p):
        updated = await notes.update_note(conn, p, object, record, note, body.given())
        meta = await metadata_for(conn, p)
    return json_response(render.note(meta, updated))


@router.delete(f"{BASE}/{{note}}", status_code=204, summary="Delete a note")
async def delete_note(object: str, record: str, note: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await notes.delete_note(conn, p, object, record, note)
    return Response(status_code=204)
