"""Notes on any record: ``/notes/{entityType}/{entityId}`` adds one (``text``, ``type``:
note, call, meeting, email, sms or task, and its ``datetime``); ``/notes/{id}`` reads,
changes and deletes one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import documented, parsed
from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.flexie.entities import entity_object
from crm.api.flexie.records import number, parameters
from crm.api.flexie.render import note
from crm.api.flexie.transport import FlexieBody, read, write
from crm.core.metadata.service import metadata_for
from crm.core.notes import service as notes

router = APIRouter()
#: The client's name of each core attribute of a note an error may name.
_CLIENT = {"body": "text", "kind": "type", "occurred_at": "datetime"}


class NoteBody(FlexieBody):
    """A note's attributes as Flexie names them; each is the core's attribute of its name."""

    body: str | None = Field(None, alias="text", min_length=1)
    kind: str | None = Field(None, alias="type", json_schema_extra={"enum": list(notes.NOTE_KINDS)})
    occurred_at: str | None = Field(
        None, alias="datetime", json_schema_extra={"format": "date-time"}
    )


_BODY = documented(NoteBody)


async def _spec(request: Request) -> dict[str, Any]:
    return (await parsed(request, NoteBody)).model_dump(exclude_unset=True)


@router.post(
    "/notes/{entityType}/{entityId:int}",
    status_code=201,
    openapi_extra={**_BODY, **parameters("/notes/{entityType}/{entityId:int}")},
)
async def create_note(request: Request) -> Response:
    """Add a note to a record of any type (``contact``, ``account``, ``deal``, a custom
    entity's table, ...)."""
    async with write(request) as (conn, p):
        spec = await _spec(request)
        meta = await metadata_for(conn, p)
        obj = entity_object(meta, request.path_params["entityType"])
        ref = number(request.path_params["entityId"])
        with renamed(_CLIENT):
            made = await notes.add_note(conn, p, obj.key, ref, spec)
    return json_response({"note": note(meta, made)}, 201)


@router.get("/notes/{id:int}", openapi_extra=parameters("/notes/{id:int}"))
async def get_note(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await notes.get_note(conn, p, number(request.path_params["id"]))
        meta = await metadata_for(conn, p)
    return json_response({"note": note(meta, found)})


@router.put("/notes/{id:int}", openapi_extra={**_BODY, **parameters("/notes/{id:int}")})
async def update_note(request: Request) -> Response:
    async with write(request) as (conn, p):
        spec = await _spec(request)
        found = await notes.get_note(conn, p, number(request.path_params["id"]))
        record = found.record
        with renamed(_CLIENT):
            changed = await notes.update_note(
                conn, p, record.object.key, record.id, found.number, spec
            )
        meta = await metadata_for(conn, p)
    return json_response({"note": note(meta, changed)})


@router.delete("/notes/{id:int}", status_code=204, openapi_extra=parameters("/notes/{id:int}"))
async def delete_note(request: Request) -> Response:
    async with write(request) as (conn, p):
        found = await notes.get_note(conn, p, number(request.path_params["id"]))
        record = found.record
        await notes.delete_note(conn, p, record.object.key, record.id, found.number)
    return Response(status_code=204)
