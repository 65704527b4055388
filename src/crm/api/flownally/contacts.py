"""Contacts: list, create, read, change, delete, count, archive, field values, tags."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.common.openapi import json_body
from crm.api.common.problems import renamed
from crm.api.flownally import render
from crm.api.flownally.ids import core_id
from crm.api.flownally.transport import object_body, read, write
from crm.core.auth.principal import Principal
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.identities import service as identities
from crm.core.metadata.model import ObjectMeta
from crm.core.metadata.service import metadata_for
from crm.core.records import service as records
from crm.core.records.model import Record, RecordQuery
from crm.core.tags import service as tags

router = APIRouter()
CONTACT = "contact"
ORDERS = {
    "createdAt": ["created_at"],
    "updatedAt": ["updated_at"],
    "name": ["first_name", "last_name"],
}
#: Core names of what a list request's parameters became, for error details.
LIST_PARAMS = {"cursor": "pageToken", "q": "search", "limit": "pageSize"}
_TEXT = {"type": ["string", "null"]}
#: A contact's changes as the document describes them: every attribute optional.
_CHANGES = {
    "name": _TEXT,
    "customFields": {"type": ["object", "null"], "additionalProperties": _TEXT},
}
#: A new contact: its changes and a phone, which also becomes its WhatsApp identity.
_CONTACT = {**_CHANGES, "phone": {**_TEXT, "description": "E.164, e.g. +48123456789"}}


def contact_ref(text: str) -> str:
    return core_id("con", text, "Contact")


async def _render(conn: AsyncConnection, p: Principal, found: list[Record]) -> list[dict[str, Any]]:
    """Contacts with their identities and tags, loaded for the whole page at once."""
    meta = await metadata_for(conn, p)
    reached = await identities.identities_of(conn, p, found)
    labels = await tags.tags_of(conn, p, found)
    return [render.contact(p, meta, r, reached[r.id], labels[r.id]) for r in found]


def _name_fields(name: Any) -> dict[str, Any]:
    """A full name as first and last name: the last word is the last name."""
    if name is None:
        return {}
    if not isinstance(name, str):
        raise ValidationFailed.of([FieldError("name", "must be a string")])
    first, _, last = " ".join(name.split()).rpartition(" ")
    return {"first_name": first or last or None, "last_name": last if first else None}


def _phone(value: Any) -> str:
    """The contact's phone in E.164, or a 422 naming ``phone``."""
    try:
        return identities.normalise_address("whatsapp", value)
    except ValidationFailed as exc:
        raise ValidationFailed.of(
            [FieldError("phone", e.message) for e in exc.field_errors]
        ) from None


def _custom_fields(obj: ObjectMeta, given: Any) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ValidationFailed.of([FieldError("customFields", "must be an object")])
    out: dict[str, Any] = {}
    errors = []
    for ref, value in given.items():
        f = render.field_for(obj, ref)
        if f is None:
            errors.append(FieldError(f"customFields.{ref}", "no such custom field", "unknown"))
        else:
            out[f.key] = value
    if errors:
        raise ValidationFailed.of(errors)
    return out


def _query_list(request: Request, name: str) -> list[str]:
    """A repeated (``a=1&a=2``), bracketed (``a[]=1``) or comma-separated parameter."""
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _custom_filter(request: Request, obj: ObjectMeta) -> list[dict[str, Any]]:
    """``customFields`` as JSON (``{"lifecycleStage": "customer"}``) or deep-object pairs."""
    given: Any = {}
    raw = request.query_params.get("customFields")
    if raw:
        try:
            given = orjson.loads(raw)
        except orjson.JSONDecodeError:
            given = None
        if not isinstance(given, dict):
            raise ValidationFailed.of([FieldError("customFields", "must be a JSON object")])
    for key, value in request.query_params.multi_items():
        if key.startswith("customFields[") and key.endswith("]"):
            given[key[len("customFields[") : -1]] = value
    return [{"field": k, "op": "eq", "value": v} for k, v in _custom_fields(obj, given).items()]


@router.get("/contacts")
async def list_contacts(
    request: Request,
    pageToken: str | None = None,
    pageSize: int = Query(50, ge=1, le=500),
    search: str | None = None,
    archived: bool | None = None,
    createdAfter: str | None = None,
    createdBefore: str | None = None,
    orderBy: str = Query("createdAt", pattern="^(createdAt|updatedAt|name)$"),
    orderDirection: str = Query("desc", pattern="^(asc|desc)$"),
) -> Response:
    """Contacts in the caller's scope, filtered, in pages."""
    async with read(request) as (conn, p):
        obj = (await metadata_for(conn, p)).object(CONTACT)
        conditions = _custom_filter(request, obj)
        tag_ids = [core_id("tag", t, "Tag") for t in _query_list(request, "tagIds")]
        for tag_id in tag_ids:
            await tags.get_tag(conn, p, tag_id)  # an unknown tag is a 404, not an empty page
        if tag_ids:
            conditions.append({"field": "tags", "op": "in", "value": tag_ids})
        channels = _query_list(request, "channels")
        unknown = [c for c in channels if c not in identities.CHANNELS]
        if unknown:
            raise ValidationFailed.of(
                [
                    FieldError(
                        "channels", f"no channel {c!r}; channels: " + ", ".join(identities.CHANNELS)
                    )
                    for c in unknown
                ]
            )
        if channels:
            conditions.append({"field": "channels", "op": "in", "value": channels})
        names = dict(LIST_PARAMS)
        for param, op, value in (
            ("createdAfter", "gte", createdAfter),
            ("createdBefore", "lt", createdBefore),
        ):
            if value:
                names[f"filter.and[{len(conditions)}].value"] = param
                conditions.append({"field": "created_at", "op": op, "value": value})
        query = RecordQuery(
            filter={"and": conditions} if conditions else None,
            sort=[{"field": f, "direction": orderDirection} for f in ORDERS[orderBy]],
            limit=pageSize,
            cursor=pageToken,
            q=search,
            q_links=True,
            archived="only" if archived else "exclude",
        )
        with renamed(names):
            page = await records.find_records(conn, p, CONTACT, query)
        shown = await _render(conn, p, page.records)
    return json_response({"contacts": shown, "nextPageToken": page.next_cursor})


@router.post("/contacts", status_code=201, openapi_extra=json_body(_CONTACT))
async def create_contact(request: Request) -> Response:
    """A new contact; a phone number in E.164 becomes its WhatsApp identity."""
    async with write(request) as (conn, p):
        body = await object_body(request, {"name", "phone", "customFields"})
        obj = (await metadata_for(conn, p)).object(CONTACT)
        fields = {**_custom_fields(obj, body.get("customFields")), **_name_fields(body.get("name"))}
        phone = body.get("phone")
        if phone is None:
            made = await records.create_record(conn, p, CONTACT, fields=fields)
        else:
            address = _phone(phone)
            fields.setdefault("phone", address)
            made, _ = await identities.create_with_identity(
                conn, p, CONTACT, fields=fields, channel="whatsapp", address=address
            )
        (shown,) = await _render(conn, p, [made])
    return json_response(shown, 201)


@router.get("/contacts/count")
async def count_contacts(request: Request, archived: bool = False) -> Response:
    """How many contacts the caller may see, archived or not (no other filter)."""
    async with read(request) as (conn, p):
        query = RecordQuery(archived="only" if archived else "exclude")
        total = await records.count_records(conn, p, CONTACT, query)
    return json_response({"totalSize": total})


@router.get("/contacts/{contact_id}")
async def get_contact(contact_id: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await records.get_record(conn, p, CONTACT, contact_ref(contact_id))
        (shown,) = await _render(conn, p, [found])
    return json_response(shown)


@router.patch("/contacts/{contact_id}", openapi_extra=json_body(_CHANGES))
async def update_contact(contact_id: str, request: Request) -> Response:
    """Change the name and/or custom fields; what the body leaves out stays."""
    async with write(request) as (conn, p):
        body = await object_body(request, {"name", "customFields"})
        obj = (await metadata_for(conn, p)).object(CONTACT)
        fields = {**_custom_fields(obj, body.get("customFields")), **_name_fields(body.get("name"))}
        changed = await records.update_record(
            conn, p, CONTACT, contact_ref(contact_id), fields=fields
        )
        (shown,) = await _render(conn, p, [changed])
    return json_response(shown)


@router.delete("/contacts/{contact_id}", status_code=204)
async def delete_contact(contact_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await records.delete_record(conn, p, CONTACT, contact_ref(contact_id))
    return Response(status_code=204)


@router.post("/contacts/{contact_id}/archive", status_code=204)
async def archive_contact(contact_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await records.set_archived(conn, p, CONTACT, contact_ref(contact_id), archived=True)
    return Response(status_code=204)


@router.post("/contacts/{contact_id}/unarchive", status_code=204)
async def unarchive_contact(contact_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await records.set_archived(conn, p, CONTACT, contact_ref(contact_id), archived=False)
    return Response(status_code=204)


@router.put(
    "/contacts/{contact_id}/custom-fields/{field_id}",
    status_code=204,
    openapi_extra=json_body({"value": {"type": "string"}}, required=["value"]),
)
async def set_field_value(contact_id: str, field_id: str, request: Request) -> Response:
    """Set one custom field value; an empty string clears it."""
    async with write(request) as (conn, p):
        body = await object_body(request, {"value"})
        if "value" not in body:
            raise ValidationFailed.of([FieldError("value", "is required", "required")])
        obj = (await metadata_for(conn, p)).object(CONTACT)
        f = render.field_for(obj, field_id)
        if f is None:
            raise NotFound("Custom field not found")
        with renamed({f.key: "value"}):
            await records.update_record(
                conn, p, CONTACT, contact_ref(contact_id), fields={f.key: body["value"] or None}
            )
    return Response(status_code=204)


@router.post("/contacts/{contact_id}/tags/{tag_id}", status_code=204)
async def add_tag(contact_id: str, tag_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.tag_record(
            conn, p, CONTACT, contact_ref(contact_id), core_id("tag", tag_id, "Tag")
        )
    return Response(status_code=204)


@router.delete("/contacts/{contact_id}/tags/{tag_id}", status_code=204)
async def remove_tag(contact_id: str, tag_id: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await tags.untag_record(
            conn, p, CONTACT, contact_ref(contact_id), core_id("tag", tag_id, "Tag")
        )
    return Response(status_code=204)
