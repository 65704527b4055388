"""Intake: records from loosely keyed payloads, with duplicate handling and unmapped keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.errors import status_of
from crm.api.common.http import json_body, json_response, require_json
from crm.api.native import render
from crm.api.native.deps import write
from crm.api.native.errors import error_body
from crm.api.native.schemas import IntakeBatchIn
from crm.core.errors import FieldError, ValidationFailed
from crm.core.intake import service as intake
from crm.core.metadata.model import WorkspaceMeta
from crm.core.metadata.service import metadata_for

router = APIRouter(tags=["intake"])
BASE = "/objects/{object}/intake"


def _outcome(meta: WorkspaceMeta, found: intake.Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {"index": found.index, "status": found.status}
    if found.error is not None:
        out["error"] = error_body(found.error.code, found.error.message, found.error.details)[
            "error"
        ]
        out["error"]["http_status"] = status_of(found.error)
        return out
    assert found.record is not None
    out["record"] = render.record(meta, found.record)
    out["duplicate_of"] = str(found.duplicate_of.uuid) if found.duplicate_of else None
    out["matched"] = found.matched
    out["unmapped"] = found.unmapped
    return out


@router.post(
    BASE,
    summary="Take in one record from loosely keyed values",
    description=(
        "Keys are matched to fields by key or label, ignoring case, spaces, underscores and "
        "dashes. `assignee`, `viewers`, `note`/`notes` and `status:<pipeline>` are directives; "
        "keys that match no field are kept as the record's `unmapped` values. A payload whose "
        "email or phone another record holds follows the object's duplicate rule. Answers 201 "
        "when a record was created, 200 when an existing one was updated or skipped."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def take_in(object: str, request: Request) -> Response:
    require_json(request)
    payload = await json_body(request)
    if not isinstance(payload, dict):
        raise ValidationFailed.of([FieldError("body", "must be an object of values")])
    async with write(request) as (conn, p):
        found = await intake.take_in(conn, p, object, payload)
        meta = await metadata_for(conn, p)
    return json_response(_outcome(meta, found), 201 if found.status == "created" else 200)


@router.post(
    f"{BASE}/bulk",
    summary="Take in up to 10,000 records; each item succeeds or fails alone",
)
async def take_in_many(object: str, body: IntakeBatchIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        found = await intake.take_in_many(conn, p, object, body.items, shared=body.shared)
        meta = await metadata_for(conn, p)
    return json_response({"results": [_outcome(meta, f) for f in found]})
