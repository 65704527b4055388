"""Every record endpoint of contacts, leads, accounts, deals, cases and custom entities:
list (by query or by filter body), create, read, update, update by an identifying field,
delete, the fields and their categories, and a record's notes and workflow runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.entities import Context, EntityRoutes, Listing, Values, path_parameters
from crm.api.common.http import json_response
from crm.api.common.openapi import json_body
from crm.api.common.problems import renamed
from crm.api.flexie.entities import CUSTOM, STANDARD, Kind, object_of
from crm.api.flexie.fields import describe
from crm.api.flexie.filters import (
    LIST_BODY,
    LIST_QUERY,
    MAX_START,
    count,
    filter_names,
    list_request,
    listing,
)
from crm.api.flexie.render import note, relation_values, workflow_run
from crm.api.flexie.render import records as records_shown
from crm.api.flexie.transport import APIKEY
from crm.api.flexie.values import client_names, core_values, related_by_number
from crm.core.auth.principal import Principal
from crm.core.errors import NotFound
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.notes.service import MAX_NOTE_PAGE, list_notes
from crm.core.records.lookup import numbers_of, update_matching
from crm.core.records.model import Numbered, Page, Record
from crm.core.workflows.service import MAX_RUN_PAGE, runs_of

router = APIRouter()
#: The largest record number a path may name.
MAX_NUMBER = 2**62


def number(raw: Any, what: str = "record") -> Numbered:
    """A record's (or ``what``'s) number from a path; 404 for anything that cannot be one."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < MAX_NUMBER:
        raise NotFound(f"No {what} matched the request")
    return Numbered(int(text))


def parameters(path: str, query: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``openapi_extra`` of an operation whose handler reads its parameters from the
    request (see :func:`crm.api.common.entities.path_parameters`)."""
    found = path_parameters(path, query)
    return {"parameters": found} if found else {}


class Serve(EntityRoutes):
    """The routes of one record type under ``base``; a record type with rules of its own
    (tasks) says how its bodies become values and how its records are shown."""

    def __init__(self, base: str, kind: Kind, served_by: APIRouter = router) -> None:
        super().__init__(served_by, base, APIKEY)
        self.kind = kind

    async def object(
        self, conn: AsyncConnection, p: Principal, request: Request
    ) -> tuple[WorkspaceMeta, ObjectMeta]:
        meta = await metadata_for(conn, p)
        return meta, object_of(meta, self.kind, request.path_params.get("tableName"))

    def ref(self, request: Request) -> Numbered:
        return number(request.path_params["id"])

    async def values(self, at: Context, body: dict[str, Any], *, creating: bool) -> Values:
        return await core_values(at.conn, at.p, at.meta, at.obj, body, creating=creating)

    def names(self, at: Context) -> Mapping[str, str]:
        return client_names(at.meta, at.obj)

    async def shown(self, at: Context, found: list[Record]) -> list[dict[str, Any]]:
        related = await numbers_of(at.conn, at.p, relation_values(found))
        return records_shown(at.meta, found, related)

    def one(self, shown: dict[str, Any], status: int = 200) -> Response:
        return json_response({self.kind.one: shown}, status)

    async def listing(self, at: Context, request: Request) -> Listing:
        """The query string's listing, or the filter body's (``POST``)."""
        given = await list_request(request, request.method == "POST")
        query = listing(at.meta, at.obj, *given)
        await related_by_number(at.conn, at.p, at.obj, query)
        return Listing(query, filter_names(query))

    def page(self, page: Page, shown: list[dict[str, Any]]) -> Response:
        return json_response({"total": page.total, self.kind.many: shown})

    def routes(self, *, whole: bool = True) -> None:
        """Serve the record type; ``whole`` adds update by an identifying field, the fields
        and their categories, and a record's notes and workflow runs."""
        free = json_body({}, free_form=True)
        self.add("GET", "", self.list, query=LIST_QUERY)
        self.add("POST", "", self.list, body=LIST_BODY)
        self.add("POST", "/new", self.create, status=201, body=free)
        if whole:
            self.add("PUT", "/edit", self.edit_matching, body=free)
            self.add("GET", "/list/fields", self.fields)
            self.add("GET", "/list/fields/categories", self.categories)
        self.add("GET", "/{id:int}", self.get)
        self.add("PUT", "/{id:int}", self.update, body=free)
        self.add("DELETE", "/{id:int}", self.delete, status=204)
        if whole:
            self.add("GET", "/{id:int}/notes", self.notes)
            self.add("GET", "/{id:int}/workflows", self.workflows, query=("start", "limit"))

    async def edit_matching(self, request: Request) -> Response:
        """Update the record that the body's identifying field names."""
        async with self.unit(request, write=True) as at:
            asked = await self.values(at, await self.body(request, creating=False), creating=False)
            with renamed(self.names(at)):
                changed = await update_matching(
                    at.conn, at.p, at.obj.key, fields=asked.fields, owner=asked.owner
                )
            return await self.answer(at, changed)

    async def fields(self, request: Request) -> Response:
        async with self.unit(request) as at:
            at.p.require_scope(at.obj.key, "read")
        shown = [describe(at.meta, at.obj, f) for f in at.obj.value_fields]
        return json_response({"total": len(shown), "fields": shown})

    async def categories(self, request: Request) -> Response:
        async with self.unit(request) as at:
            at.p.require_scope(at.obj.key, "read")
        found = at.obj.categories
        shown = [{"alias": c.key, "label": c.label, "order": c.position} for c in found]
        return json_response({"total": len(shown), "categories": shown})

    async def notes(self, request: Request) -> Response:
        async with self.unit(request) as at:
            ref = self.ref(request)
            page = await list_notes(at.conn, at.p, at.obj.key, ref, limit=MAX_NOTE_PAGE)
        shown = [note(at.meta, n) for n in page.notes]
        return json_response({"total": len(shown), "notes": shown})

    async def workflows(self, request: Request) -> Response:
        """The workflow runs on the record, newest first (``start``, ``limit``: all up to
        500 unless asked)."""
        given = request.query_params
        async with self.unit(request) as at:
            page = await runs_of(
                at.conn,
                at.p,
                object_key=at.obj.key,
                record=self.ref(request),
                limit=count(given.get("limit"), "limit", MAX_RUN_PAGE, MAX_RUN_PAGE, 1),
                offset=count(given.get("start"), "start", 0, MAX_START, 0),
            )
        shown = [workflow_run(r) for r in page.runs]
        return json_response({"total": page.total, "workflows": shown})


for _path, _kind in STANDARD.items():
    Serve(f"/{_path}", _kind).routes()
Serve("/ce/{tableName}", CUSTOM).routes()
