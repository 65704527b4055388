"""Every record endpoint of contacts, leads, accounts, deals, cases and custom entities:
list (by query or by filter body), create, read, update, update by an identifying field,
delete, the fields and their categories, and a record's notes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.common.openapi import json_body
from crm.api.common.problems import renamed
from crm.api.common.transport import json_object
from crm.api.flexie.entities import CUSTOM, STANDARD, Kind, object_of
from crm.api.flexie.fields import describe
from crm.api.flexie.filters import LIST_BODY, LIST_QUERY, filter_names, list_request, listing
from crm.api.flexie.render import note, relation_values
from crm.api.flexie.render import records as records_shown
from crm.api.flexie.transport import read, write
from crm.api.flexie.values import client_names, core_values, related_by_number
from crm.core.auth.principal import Principal
from crm.core.errors import NotFound
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.notes.service import MAX_NOTE_PAGE, list_notes
from crm.core.records import service as records
from crm.core.records.lookup import numbers_of, update_matching
from crm.core.records.model import Numbered, Record

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
    """The parameters of an operation whose handler reads them from the request."""
    found = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"} if name == "tableName" else {"type": "integer"},
        }
        for name in re.findall(r"{(\w+)(?::\w+)?}", path)
    ]
    found += [
        {"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query
    ]
    return {"parameters": found} if found else {}


Handler = Callable[[Request], Awaitable[Response]]


class Serve:
    """The routes of one record type under ``base``; a record type with rules of its own
    (tasks) says how its bodies become values and how its records are shown."""

    def __init__(self, base: str, kind: Kind, served_by: APIRouter = router) -> None:
        self.base, self.kind, self.router = base, kind, served_by

    async def values(
        self,
        conn: AsyncConnection,
        p: Principal,
        meta: WorkspaceMeta,
        obj: ObjectMeta,
        body: dict[str, Any],
        *,
        creating: bool = False,
    ) -> tuple[dict[str, Any], str | None]:
        """The core's fields and owner of a body."""
        return await core_values(conn, p, meta, obj, body, creating=creating)

    async def object(
        self, conn: AsyncConnection, p: Principal, request: Request
    ) -> tuple[WorkspaceMeta, ObjectMeta]:
        meta = await metadata_for(conn, p)
        return meta, object_of(meta, self.kind, request.path_params.get("tableName"))

    async def shown(
        self, conn: AsyncConnection, p: Principal, meta: WorkspaceMeta, found: list[Record]
    ) -> list[dict[str, Any]]:
        related = await numbers_of(conn, p, relation_values(found))
        return records_shown(meta, found, related)

    def add(
        self,
        method: str,
        suffix: str,
        handler: Handler,
        *,
        status: int = 200,
        body: dict[str, Any] | None = None,
        query: tuple[str, ...] = (),
    ) -> None:
        path = self.base + suffix
        extra = parameters(path, query)
        if body is not None:
            extra.update(body)
        self.router.add_api_route(
            path,
            handler,
            methods=[method],
            status_code=status,
            openapi_extra=extra or None,
            name=f"{method.lower()} {path}",
        )

    def routes(self, *, whole: bool = True) -> None:
        """Serve the record type; ``whole`` adds update by an identifying field, the fields
        and their categories, and a record's notes."""
        free = json_body({}, free_form=True)
        self.add("GET", "", self.list_by_query, query=LIST_QUERY)
        self.add("POST", "", self.list_by_body, body=LIST_BODY)
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

    async def _page(self, request: Request, body: bool) -> Response:
        async with read(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            query = listing(meta, obj, *await list_request(request, body))
            await related_by_number(conn, p, obj, query)
            with renamed(filter_names(query)):
                page = await records.find_records(conn, p, obj.key, query)
            shown = await self.shown(conn, p, meta, page.records)
        return json_response({"total": page.total, self.kind.many: shown})

    async def list_by_query(self, request: Request) -> Response:
        return await self._page(request, body=False)

    async def list_by_body(self, request: Request) -> Response:
        return await self._page(request, body=True)

    async def _one(
        self,
        conn: AsyncConnection,
        p: Principal,
        meta: WorkspaceMeta,
        found: Record,
        status: int = 200,
    ) -> Response:
        (shown,) = await self.shown(conn, p, meta, [found])
        return json_response({self.kind.one: shown}, status)

    async def create(self, request: Request) -> Response:
        async with write(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            body = await json_object(request)
            fields, owner = await self.values(conn, p, meta, obj, body, creating=True)
            with renamed(client_names(meta, obj)):
                created = await records.create_record(conn, p, obj.key, fields=fields, owner=owner)
            return await self._one(conn, p, meta, created, 201)

    async def get(self, request: Request) -> Response:
        async with read(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            found = await records.get_record(conn, p, obj.key, number(request.path_params["id"]))
            return await self._one(conn, p, meta, found)

    async def update(self, request: Request) -> Response:
        async with write(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            ref = number(request.path_params["id"])
            fields, owner = await self.values(conn, p, meta, obj, await json_object(request))
            with renamed(client_names(meta, obj)):
                changed = await records.update_record(
                    conn, p, obj.key, ref, fields=fields, owner=owner
                )
            return await self._one(conn, p, meta, changed)

    async def edit_matching(self, request: Request) -> Response:
        async with write(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            fields, owner = await self.values(conn, p, meta, obj, await json_object(request))
            with renamed(client_names(meta, obj)):
                changed = await update_matching(conn, p, obj.key, fields=fields, owner=owner)
            return await self._one(conn, p, meta, changed)

    async def delete(self, request: Request) -> Response:
        async with write(request) as (conn, p):
            _, obj = await self.object(conn, p, request)
            await records.delete_record(conn, p, obj.key, number(request.path_params["id"]))
        return Response(status_code=204)

    async def fields(self, request: Request) -> Response:
        async with read(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            p.require_scope(obj.key, "read")
        shown = [describe(meta, obj, f) for f in obj.value_fields]
        return json_response({"total": len(shown), "fields": shown})

    async def categories(self, request: Request) -> Response:
        async with read(request) as (conn, p):
            _, obj = await self.object(conn, p, request)
            p.require_scope(obj.key, "read")
        shown = [{"alias": c.key, "label": c.label, "order": c.position} for c in obj.categories]
        return json_response({"total": len(shown), "categories": shown})

    async def notes(self, request: Request) -> Response:
        async with read(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            ref = number(request.path_params["id"])
            page = await list_notes(conn, p, obj.key, ref, limit=MAX_NOTE_PAGE)
        shown = [note(meta, n) for n in page.notes]
        return json_response({"total": len(shown), "notes": shown})


for _path, _kind in STANDARD.items():
    Serve(f"/{_path}", _kind).routes()
Serve("/ce/{tableName}", CUSTOM).routes()
