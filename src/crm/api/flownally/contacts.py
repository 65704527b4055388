"""Contacts: list, create, read, change, delete, count, archive, field values, tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter
from pydantic import Field, WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import FaceBody, checked, documented, parsed
from crm.api.common.entities import Context, EntityRoutes, Listing, QueryParameter, Values
from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.common.transport import json_object
from crm.api.flownally import render
from crm.api.flownally.ids import core_id
from crm.api.flownally.transport import BEARER
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.identities import service as identities
from crm.core.metadata.model import ObjectMeta
from crm.core.records import service as records
from crm.core.records.model import Page, Record, RecordQuery
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
MAX_PAGE_SIZE = 500
#: The list's query parameters (``tagIds`` and ``channels`` repeated, bracketed or
#: comma-separated; ``customFields`` as JSON or ``customFields[id]=value`` pairs).
LIST_QUERY: tuple[QueryParameter, ...] = (
    "pageToken",
    ("pageSize", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50}),
    "search",
    ("archived", {"type": "boolean", "default": False}),
    "createdAfter",
    "createdBefore",
    ("orderBy", {"enum": list(ORDERS), "default": "createdAt"}),
    ("orderDirection", {"enum": ["asc", "desc"], "default": "desc"}),
    ("tagIds", {"type": "array", "items": {"type": "string"}}),
    ("channels", {"type": "array", "items": {"enum": list(identities.CHANNELS)}}),
    "customFields",
)
#: A custom field's value: text, a number or a yes/no, or null to clear it (the field's
#: type decides what it takes).
FieldValue = Annotated[Any, WithJsonSchema({"type": ["string", "number", "boolean", "null"]})]

#: A phone number, read by the identity rules so that a number sent bare (``48123...``)
#: is told what form it must take.
Phone = Annotated[
    Any,
    WithJsonSchema({"type": ["string", "null"], "description": "E.164, e.g. +48123456789"}),
]


class ContactChanges(FaceBody):
    """A contact's changes as the document describes them: every attribute optional."""

    name: str | None = None
    custom_fields: dict[str, FieldValue] | None = Field(None, alias="customFields")


class NewContact(ContactChanges):
    """A new contact: its changes and a phone, which also becomes its WhatsApp identity."""

    phone: Phone = None


class FieldValueIn(FaceBody):
    """One custom field's value; an empty string clears it."""

    value: FieldValue


def contact_ref(text: str) -> str:
    return core_id("con", text, "Contact")


def _name_fields(name: str | None) -> dict[str, Any]:
    """A full name as first and last name: the last word is the last name."""
    if name is None:
        return {}
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


def _custom_fields(obj: ObjectMeta, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Custom field values by the core's keys; 422 naming each field that is none."""
    out: dict[str, Any] = {}
    errors = []
    for ref, value in (given or {}).items():
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


def _one_of(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise ValidationFailed.of([FieldError(name, "must be one of " + ", ".join(allowed))])
    return value


def _page_size(request: Request) -> int:
    raw = request.query_params.get("pageSize", "50")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationFailed.of([FieldError("pageSize", f"must be 1 to {MAX_PAGE_SIZE}")])
    return int(raw)


def _archived(request: Request) -> bool:
    raw = request.query_params.get("archived", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationFailed.of([FieldError("archived", "must be true or false")])
    return raw in ("true", "1")


class Contacts(EntityRoutes):
    """The contact object as Flownally serves it: ids with a ``con_`` prefix, a name in one
    attribute, custom fields by their own ids, a phone that is a WhatsApp identity."""

    def __init__(self) -> None:
        super().__init__(router, "/contacts", BEARER, CONTACT)

    def ref(self, request: Request) -> str:
        return contact_ref(request.path_params["contact_id"])

    async def body(self, request: Request, *, creating: bool) -> dict[str, Any]:
        model = NewContact if creating else ContactChanges
        return checked(model, await json_object(request)).model_dump(exclude_unset=True)

    async def values(self, at: Context, body: dict[str, Any], *, creating: bool) -> Values:
        custom = _custom_fields(at.obj, body.get("custom_fields"))
        return Values({**custom, **_name_fields(body.get("name"))})

    async def shown(self, at: Context, found: list[Record]) -> list[dict[str, Any]]:
        """Contacts with their identities and tags, loaded for the whole page at once."""
        reached = await identities.identities_of(at.conn, at.p, found)
        labels = await tags.tags_of(at.conn, at.p, found)
        return [render.contact(at.p, at.meta, r, reached[r.id], labels[r.id]) for r in found]

    async def make(self, at: Context, body: dict[str, Any]) -> Record:
        """A new contact; a phone number in E.164 becomes its WhatsApp identity."""
        phone = body.get("phone")
        if phone is None:
            return await super().make(at, body)
        asked = await self.values(at, body, creating=True)
        address = _phone(phone)
        made, _ = await identities.create_with_identity(
            at.conn,
            at.p,
            CONTACT,
            fields={"phone": address, **asked.fields},
            channel="whatsapp",
            address=address,
        )
        return made

    async def listing(self, at: Context, request: Request) -> Listing:
        """Contacts in the caller's scope, filtered by tags, channels, custom field values
        and creation time, in pages by cursor."""
        conditions = _custom_filter(request, at.obj)
        tag_ids = [core_id("tag", t, "Tag") for t in _query_list(request, "tagIds")]
        for tag_id in tag_ids:
            await tags.get_tag(at.conn, at.p, tag_id)  # an unknown tag is a 404, not an empty page
        if tag_ids:
            conditions.append({"field": "tags", "op": "in", "value": tag_ids})
        channels = _query_list(request, "channels")
        unknown = [c for c in channels if c not in identities.CHANNELS]
        if unknown:
            listed = ", ".join(identities.CHANNELS)
            raise ValidationFailed.of(
                [FieldError("channels", f"no channel {c!r}; channels: {listed}") for c in unknown]
            )
        if channels:
            conditions.append({"field": "channels", "op": "in", "value": channels})
        names = dict(LIST_PARAMS)
        for param, op in (("createdAfter", "gte"), ("createdBefore", "lt")):
            value = request.query_params.get(param)
            if value:
                names[f"filter.and[{len(conditions)}].value"] = param
                conditions.append({"field": "created_at", "op": op, "value": value})
        order = _one_of(request, "orderBy", tuple(ORDERS), "createdAt")
        direction = _one_of(request, "orderDirection", ("asc", "desc"), "desc")
        query = RecordQuery(
            filter={"and": conditions} if conditions else None,
            sort=[{"field": f, "direction": direction} for f in ORDERS[order]],
            limit=_page_size(request),
            cursor=request.query_params.get("pageToken"),
            q=request.query_params.get("search"),
            q_links=True,
            archived="only" if _archived(request) else "exclude",
        )
        return Listing(query, names)

    def page(self, page: Page, shown: list[dict[str, Any]]) -> Response:
        return json_response({"contacts": shown, "nextPageToken": page.next_cursor})

    async def count(self, request: Request) -> Response:
        """How many contacts the caller may see, archived or not (no other filter)."""
        async with self.unit(request) as at:
            query = RecordQuery(archived="only" if _archived(request) else "exclude")
            total = await records.count_records(at.conn, at.p, CONTACT, query)
        return json_response({"totalSize": total})

    async def set_value(self, request: Request) -> Response:
        """Set one custom field value; an empty string clears it."""
        async with self.unit(request, write=True) as at:
            given = await parsed(request, FieldValueIn)
            f = render.field_for(at.obj, request.path_params["field_id"])
            if f is None:
                raise NotFound("Custom field not found")
            with renamed({f.key: "value"}):
                await records.update_record(
                    at.conn, at.p, CONTACT, self.ref(request), fields={f.key: given.value or None}
                )
        return Response(status_code=204)

    async def _tagged(self, request: Request, tagged: bool) -> Response:
        async with self.unit(request, write=True) as at:
            change = tags.tag_record if tagged else tags.untag_record
            tag = core_id("tag", request.path_params["tag_id"], "Tag")
            await change(at.conn, at.p, CONTACT, self.ref(request), tag)
        return Response(status_code=204)

    async def add_tag(self, request: Request) -> Response:
        return await self._tagged(request, True)

    async def remove_tag(self, request: Request) -> Response:
        return await self._tagged(request, False)


CONTACTS = Contacts()
CONTACTS.add("GET", "", CONTACTS.list, query=LIST_QUERY)
CONTACTS.add("POST", "", CONTACTS.create, status=201, body=documented(NewContact))
CONTACTS.add("GET", "/count", CONTACTS.count, query=LIST_QUERY[3:4])
CONTACTS.add("GET", "/{contact_id}", CONTACTS.get)
CONTACTS.add("PATCH", "/{contact_id}", CONTACTS.update, body=documented(ContactChanges))
CONTACTS.add("DELETE", "/{contact_id}", CONTACTS.delete, status=204)
CONTACTS.add("POST", "/{contact_id}/archive", CONTACTS.archive, status=204)
CONTACTS.add("POST", "/{contact_id}/unarchive", CONTACTS.unarchive, status=204)
CONTACTS.add(
    "PUT",
    "/{contact_id}/custom-fields/{field_id}",
    CONTACTS.set_value,
    status=204,
    body=documented(FieldValueIn),
)
CONTACTS.add("POST", "/{contact_id}/tags/{tag_id}", CONTACTS.add_tag, status=204)
CONTACTS.add("DELETE", "/{contact_id}/tags/{tag_id}", CONTACTS.remove_tag, status=204)
