"""Leads: intake (one, or a batch), read, change fields, change status."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter
from pydantic import Field, WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import FaceBody, Filled, documented, parsed
from crm.api.common.http import json_response
from crm.api.common.openapi import json_body
from crm.api.common.problems import renamed
from crm.api.leadflip.errors import answer, described
from crm.api.leadflip.render import email_of, event, lead, stage_name, status_pipeline
from crm.api.leadflip.transport import object_body, read, write
from crm.core.errors import CRMError, FieldError, NotFound, ValidationFailed
from crm.core.ids import parse_uuid
from crm.core.intake import service as intake
from crm.core.intake.keys import normalise
from crm.core.intake.payload import ENTITY_KEYS
from crm.core.metadata.service import metadata_for
from crm.core.pipelines import motion
from crm.core.records.history import recent_events
from crm.core.records.service import locate_record

router = APIRouter()
RECENT_EVENTS = 20
LEAD_NOT_FOUND = "Lead not found"
ENTITY_NOT_FOUND = "Entity not found"
#: An entity or stage, by slug, name or id.
_NAMED = {"type": "string", "minLength": 1, "pattern": r"\S"}
#: A note: its text, or ``{"text", "tag"}``.
Note = Annotated[Any, WithJsonSchema({"type": ["string", "object", "null"]}, mode="validation")]
#: A value the intake reads as an entity's name (and refuses in its own words).
Named = Annotated[Any, WithJsonSchema(_NAMED)]


class _Body(FaceBody):
    unknown: ClassVar[str] = "is not an attribute"


class Batch(_Body):
    """Many leads of one entity, with a source and a note for all of them."""

    unknown: ClassVar[str] = "is not a batch attribute"
    entity: Named = None
    lead_object: Named = Field(None, description="The entity's old name")
    batch: list[Any]
    source: str | None = None
    note: Note = None


class LeadChanges(_Body):
    """Fields to change (keys matched as on intake) and a note to add."""

    fields: dict[str, Any] = Field(default_factory=dict)
    note: Note = None


class StatusChange(_Body):
    """The stage to move to, in the lead's pipeline or the one named."""

    status_step: Filled
    pipeline: str | None = None


def _entity(payload: dict[str, Any]) -> Any:
    """The ``entity`` (or legacy ``lead_object``) of a payload; 422 when there is none."""
    for key, value in payload.items():
        if normalise(key) in ENTITY_KEYS and value not in (None, ""):
            return value
    raise ValidationFailed.of([FieldError("entity", "is required")])


@router.post(
    "/intake",
    openapi_extra=json_body(
        {"entity": _NAMED, "note": {"type": "string"}},
        required=["entity"],
        free_form=True,
        forms=True,
    ),
)
async def take_in(request: Request) -> Response:
    """Create a lead from flat, loosely keyed values (JSON or a form)."""
    try:
        async with write(request) as (conn, p):
            payload = await object_body(request, forms=True)
            found = await intake.take_in(conn, p, _entity(payload), payload)
    except NotFound as exc:
        return answer(exc, not_found=ENTITY_NOT_FOUND)
    assert found.record is not None
    return json_response(
        {
            "status": "success",
            "lead_id": str(found.record.uuid),
            "created_at": found.record.created_at,
            "result": found.status,
            "duplicate_of": str(found.duplicate_of.uuid) if found.duplicate_of else None,
            "unmapped": list(found.unmapped),
        }
    )


@router.post("/leads/bulk", openapi_extra=documented(Batch))
async def take_in_many(request: Request) -> Response:
    """Create many leads; each item is matched like an intake and fails alone."""
    try:
        async with write(request) as (conn, p):
            given = await parsed(request, Batch)
            shared = given.model_dump(include={"source", "note"}, exclude_none=True)
            entity = _entity(given.model_dump(include={"entity", "lead_object"}))
            found = await intake.take_in_many(conn, p, entity, given.batch, shared=shared)
    except NotFound as exc:
        return answer(exc, not_found=ENTITY_NOT_FOUND)
    out: dict[str, list[dict[str, Any]]] = {"created": [], "updated": [], "skipped": []}
    failed = []
    for item in found:
        if item.error is not None or item.record is None:
            assert item.error is not None
            failed.append({"index": item.index, **described(item.error)})
            continue
        out[item.status].append(
            {
                "index": item.index,
                "lead_id": str(item.record.uuid),
                "email": email_of(item.record),
                "unmapped": list(item.unmapped),
            }
        )
    return json_response({"status": "success", **out, "failed": failed})


def _lead_uuid(lead_id: str) -> str:
    """Leadflip names leads by UUID only; anything else is a lead that does not exist."""
    if parse_uuid(lead_id) is None:
        raise NotFound(LEAD_NOT_FOUND)
    return lead_id


@router.get("/leads/{lead_id}")
async def get_lead(lead_id: str, request: Request) -> Response:
    """A lead with its field values, status and recent events."""
    try:
        async with read(request) as (conn, p):
            found = await locate_record(conn, p, _lead_uuid(lead_id))
            meta = await metadata_for(conn, p)
            events = await recent_events(conn, p, found, limit=RECENT_EVENTS)
    except NotFound as exc:
        return answer(exc, not_found=LEAD_NOT_FOUND)
    return json_response({**lead(meta, found), "events": [event(e) for e in events]})


@router.patch("/leads/{lead_id}", openapi_extra=documented(LeadChanges))
async def update_lead(lead_id: str, request: Request) -> Response:
    """Change a lead's fields (keys matched as on intake) and add an optional note."""
    try:
        async with write(request) as (conn, p):
            given = await parsed(request, LeadChanges)
            changed = await intake.amend(
                conn, p, _lead_uuid(lead_id), given.fields, note=given.note
            )
    except NotFound as exc:
        return answer(exc, not_found=LEAD_NOT_FOUND)
    return json_response(
        {
            "status": "success",
            "lead_id": str(changed.record.uuid),
            "updated_fields": changed.fields,
            "unmapped": list(changed.unmapped),
        }
    )


@router.patch("/leads/{lead_id}/status", openapi_extra=documented(StatusChange))
async def update_status(lead_id: str, request: Request) -> Response:
    """Move a lead to a stage of its pipeline, by name or UUID."""
    try:
        with renamed({"stage": "status_step"}):
            async with write(request) as (conn, p):
                given = await parsed(request, StatusChange)
                found = await locate_record(conn, p, _lead_uuid(lead_id))
                meta = await metadata_for(conn, p)
                pipeline = status_pipeline(meta, found.object, given.pipeline)
                moved = await motion.move_stage(
                    conn,
                    p,
                    found.object.key,
                    found.id,
                    pipeline=pipeline.key,
                    stage=given.status_step,
                )
    except NotFound as exc:
        return answer(exc, not_found=LEAD_NOT_FOUND)
    except CRMError as exc:
        return answer(exc)
    return json_response(
        {
            "status": "success",
            "lead_id": str(moved.uuid),
            "new_status": stage_name(meta, pipeline, moved),
        }
    )
