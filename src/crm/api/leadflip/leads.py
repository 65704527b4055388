"""Leads: intake (one, or a batch), read, change fields, change status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

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
_BATCH_KEYS = {"entity", "lead_object", "batch", "source", "note"}


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


@router.post(
    "/leads/bulk",
    openapi_extra=json_body(
        {
            "entity": _NAMED,
            "batch": {"type": "array", "items": {"type": "object"}},
            "source": {"type": "string"},
            "note": {"type": "string"},
        },
        required=["entity", "batch"],
    ),
)
async def take_in_many(request: Request) -> Response:
    """Create many leads; each item is matched like an intake and fails alone."""
    try:
        async with write(request) as (conn, p):
            payload = await object_body(request)
            unknown = [k for k in payload if k not in _BATCH_KEYS]
            batch = payload.get("batch")
            if unknown or not isinstance(batch, list):
                raise ValidationFailed.of(
                    [FieldError(k, "is not a batch attribute") for k in unknown]
                    + ([] if isinstance(batch, list) else [FieldError("batch", "must be a list")])
                )
            shared = {k: payload[k] for k in ("source", "note") if payload.get(k) is not None}
            found = await intake.take_in_many(conn, p, _entity(payload), batch, shared=shared)
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


@router.patch(
    "/leads/{lead_id}",
    openapi_extra=json_body({"fields": {"type": "object"}, "note": {"type": "string"}}),
)
async def update_lead(lead_id: str, request: Request) -> Response:
    """Change a lead's fields (keys matched as on intake) and add an optional note."""
    try:
        async with write(request) as (conn, p):
            payload = await object_body(request)
            unknown = [k for k in payload if k not in ("fields", "note")]
            if unknown:
                raise ValidationFailed.of([FieldError(k, "is not an attribute") for k in unknown])
            changed = await intake.amend(
                conn, p, _lead_uuid(lead_id), payload.get("fields", {}), note=payload.get("note")
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


@router.patch(
    "/leads/{lead_id}/status",
    openapi_extra=json_body(
        {"status_step": _NAMED, "pipeline": {"type": "string"}},
        required=["status_step"],
    ),
)
async def update_status(lead_id: str, request: Request) -> Response:
    """Move a lead to a stage of its pipeline, by name or UUID."""
    try:
        with renamed({"stage": "status_step"}):
            async with write(request) as (conn, p):
                payload = await object_body(request)
                unknown = [k for k in payload if k not in ("status_step", "pipeline")]
                step = payload.get("status_step")
                if unknown or not isinstance(step, str) or not step.strip():
                    raise ValidationFailed.of(
                        [FieldError(k, "is not an attribute") for k in unknown]
                        + ([] if isinstance(step, str) and step.strip() else [_required("stage")])
                    )
                found = await locate_record(conn, p, _lead_uuid(lead_id))
                meta = await metadata_for(conn, p)
                pipeline = status_pipeline(meta, found.object, payload.get("pipeline"))
                moved = await motion.move_stage(
                    conn, p, found.object.key, found.id, pipeline=pipeline.key, stage=step
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


def _required(field: str) -> FieldError:
    return FieldError(field, "is required", "required")
