"""Custom field definitions of contacts and of properties (an object made on first use)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import FaceBody, documented, parsed
from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.flownally import render
from crm.api.flownally.transport import read, write
from crm.core.errors import NotFound
from crm.core.metadata import service as metadata
from crm.core.metadata.model import ObjectMeta
from crm.core.metadata.validation import key_for_label

router = APIRouter()
#: Path segment -> (object key, label, entityType).
ENTITIES = {
    "contacts": ("contact", "Contact", "contact"),
    "properties": ("property", "Property", "property"),
}
#: The core's names for a definition's attributes, as this face calls them.
FIELD_ATTRIBUTES = {"label": "name", "key": "name"}


class FieldChanges(FaceBody):
    """A definition's changes: its name, its type, or both."""

    name: str | None = None
    type: Literal["text", "date"] | None = None


class FieldDefinition(FieldChanges):
    """A new definition, as the document describes it."""

    name: str
    type: Literal["text", "date"]


def _entity(entity: str) -> tuple[str, str, str]:
    if entity not in ENTITIES:
        raise NotFound("No such endpoint")
    return ENTITIES[entity]


def _spec(body: FieldChanges) -> dict[str, Any]:
    """The core's attributes of a definition: the name is its label."""
    given = body.model_dump(exclude_unset=True)
    return {"label" if k == "name" else k: v for k, v in given.items()}


def _field(obj: ObjectMeta, field_id: str) -> str:
    f = render.field_for(obj, field_id) if field_id.startswith(render.FIELD_PREFIX) else None
    if f is None:
        raise NotFound("Custom field not found")
    return f.key


@router.get("/{entity}/custom-fields")
async def list_fields(entity: str, request: Request) -> Response:
    key, _, entity_type = _entity(entity)
    async with read(request) as (conn, p):
        p.require_scope("custom_field", "list")
        meta = await metadata.metadata_for(conn, p)
        obj = meta.objects.get(key)
        shown = (
            [render.field(meta, f, entity_type) for f in render.shown_fields(obj)] if obj else []
        )
    return json_response({"customFields": shown})


@router.post("/{entity}/custom-fields", status_code=201, openapi_extra=documented(FieldDefinition))
async def create_field(entity: str, request: Request) -> Response:
    key, label, entity_type = _entity(entity)
    async with write(request) as (conn, p):
        spec = _spec(await parsed(request, FieldDefinition))
        obj = await metadata.ensure_object(conn, p, key=key, label=label)
        spec["key"] = key_for_label(spec["label"])
        with renamed(FIELD_ATTRIBUTES):
            made = await metadata.create_field(conn, p, obj.key, spec)
        meta = await metadata.fresh_metadata(conn, p.workspace_id)
    return json_response(render.field(meta, made, entity_type), 201)


@router.patch("/{entity}/custom-fields/{field_id}", openapi_extra=documented(FieldChanges))
async def update_field(entity: str, field_id: str, request: Request) -> Response:
    key, _, entity_type = _entity(entity)
    async with write(request) as (conn, p):
        spec = _spec(await parsed(request, FieldChanges))
        meta = await metadata.metadata_to_change(conn, p)
        if key not in meta.objects:
            raise NotFound("Custom field not found")
        field_key = _field(meta.objects[key], field_id)
        with renamed(FIELD_ATTRIBUTES):
            changed = await metadata.update_field(conn, p, key, field_key, spec)
        meta = await metadata.fresh_metadata(conn, p.workspace_id)
    return json_response(render.field(meta, changed, entity_type))


@router.delete("/{entity}/custom-fields/{field_id}", status_code=204)
async def delete_field(entity: str, field_id: str, request: Request) -> Response:
    key, _, _ = _entity(entity)
    async with write(request) as (conn, p):
        meta = await metadata.metadata_to_change(conn, p)
        if key not in meta.objects:
            raise NotFound("Custom field not found")
        await metadata.delete_field(conn, p, key, _field(meta.objects[key], field_id))
    return Response(status_code=204)
