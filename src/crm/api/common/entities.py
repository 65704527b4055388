"""Routes that serve one object type's records, for any face.

A face describes what it serves of an object type by subclassing :class:`EntityRoutes`:
how its paths name a record, how its bodies become the core's values, how it shows
records and pages, and then a table of routes (:meth:`EntityRoutes.add`) pointing at the
handlers here (list, create, get, update, delete, archive, unarchive) and at its own. The
handlers open the face's unit of work and call the core's checked record services as the
caller, so every face serving records keeps the same rules.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.common.problems import renamed
from crm.api.common.transport import Transport, json_object
from crm.core.auth.principal import Principal
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records import service as records
from crm.core.records.model import Page, Record, RecordQuery

__all__ = [
    "Context",
    "EntityRoutes",
    "Handler",
    "Listing",
    "QueryParameter",
    "RouteTable",
    "Values",
    "path_parameters",
]

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Values:
    """What a body asks of a record, in the core's terms."""

    fields: dict[str, Any]
    owner: Any = None


@dataclass(frozen=True)
class Listing:
    """A list request in the core's terms, and the client's names of what it became (so
    that a refused filter names the parameter the client sent)."""

    query: RecordQuery
    names: Mapping[str, str] = field(default_factory=dict)


#: A documented query parameter: its name (a string), or its name and JSON schema.
QueryParameter = str | tuple[str, dict[str, Any]]


def path_parameters(path: str, query: Sequence[QueryParameter] = ()) -> list[dict[str, Any]]:
    """The documented parameters of an operation whose handler reads them from the request:
    the path's (integers where the path converts them, ``{id:int}``, else strings) and the
    optional ``query`` ones."""
    found = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if convert == "int" else "string"},
        }
        for name, convert in re.findall(r"{(\w+)(?::(\w+))?}", path)
    ]
    for q in query:
        name, schema = (q, {"type": "string"}) if isinstance(q, str) else q
        found.append({"name": name, "in": "query", "required": False, "schema": schema})
    return found


class RouteTable:
    """Routes under ``base`` on ``router``, each documented with its parameters."""

    def __init__(self, router: APIRouter, base: str = "") -> None:
        self.router, self.base = router, base

    def add(
        self,
        method: str,
        suffix: str,
        handler: Handler,
        *,
        status: int = 200,
        body: Mapping[str, Any] | None = None,
        query: Sequence[QueryParameter] = (),
    ) -> None:
        """Serve ``handler`` at ``base + suffix``, documented with its path parameters (see
        :func:`path_parameters`), ``query`` parameters and ``body`` (an ``openapi_extra``)."""
        path = self.base + suffix
        extra: dict[str, Any] = dict(body or {})
        found = path_parameters(path, query)
        if found:
            extra["parameters"] = found
        self.router.add_api_route(
            path,
            handler,
            methods=[method],
            status_code=status,
            openapi_extra=extra or None,
            name=f"{method.lower()} {path}",
        )


@dataclass(frozen=True)
class Context:
    """What a handler works in: its transaction, the caller, the workspace's metadata and
    the object served."""

    conn: AsyncConnection
    p: Principal
    meta: WorkspaceMeta
    obj: ObjectMeta


class EntityRoutes(RouteTable):
    """The routes of one object type under ``base`` on ``router``, in a face's terms.

    A subclass says which object it serves (:meth:`object`), how a path names a record
    (:meth:`ref`), how a body becomes values (:meth:`values`), how records are shown
    (:meth:`shown`, :meth:`one`, :meth:`page`) and how a list request is read
    (:meth:`listing`); its route table (:meth:`add`) points at the handlers below and at
    its own, which work in :meth:`unit`.
    """

    def __init__(
        self, router: APIRouter, base: str, transport: Transport, object_key: str = ""
    ) -> None:
        super().__init__(router, base)
        self.transport, self.object_key = transport, object_key

    # What the face describes.

    async def object(
        self, conn: AsyncConnection, p: Principal, request: Request
    ) -> tuple[WorkspaceMeta, ObjectMeta]:
        """The workspace's metadata and the object served (``object_key`` unless the path
        names it)."""
        meta = await metadata_for(conn, p)
        return meta, meta.object(self.object_key)

    def ref(self, request: Request) -> str | int:
        """The record a path names, as the core takes it (a 404 for what cannot be one)."""
        raise NotImplementedError

    async def body(self, request: Request, *, creating: bool) -> dict[str, Any]:
        """A create or update body (any JSON object unless the face says more)."""
        return await json_object(request)

    async def values(self, at: Context, body: dict[str, Any], *, creating: bool) -> Values:
        """What a create or update body asks, in the core's terms."""
        raise NotImplementedError

    def names(self, at: Context) -> Mapping[str, str]:
        """The client's name of each core field an error may name."""
        return {}

    async def shown(self, at: Context, found: list[Record]) -> list[dict[str, Any]]:
        """Records as the face shows them (loaded for the whole page at once)."""
        raise NotImplementedError

    def one(self, shown: dict[str, Any], status: int = 200) -> Response:
        """The answer holding one record."""
        return json_response(shown, status)

    async def listing(self, at: Context, request: Request) -> Listing:
        """A list request in the core's terms."""
        raise NotImplementedError

    def page(self, page: Page, shown: list[dict[str, Any]]) -> Response:
        """The answer holding a page of records."""
        return json_response(shown)

    # The handlers.

    @asynccontextmanager
    async def unit(self, request: Request, *, write: bool = False) -> AsyncIterator[Context]:
        """The face's unit of work for ``request`` (writing or not), with the object served."""
        opened = self.transport.write(request) if write else self.transport.read(request)
        async with opened as (conn, p):
            meta, obj = await self.object(conn, p, request)
            yield Context(conn, p, meta, obj)

    async def answer(self, at: Context, found: Record, status: int = 200) -> Response:
        """The answer holding ``found``."""
        (shown,) = await self.shown(at, [found])
        return self.one(shown, status)

    async def list(self, request: Request) -> Response:
        """A page of the caller's visible records."""
        async with self.unit(request) as at:
            asked = await self.listing(at, request)
            with renamed(asked.names):
                page = await records.find_records(at.conn, at.p, at.obj.key, asked.query)
            shown = await self.shown(at, page.records)
        return self.page(page, shown)

    async def make(self, at: Context, body: dict[str, Any]) -> Record:
        """Create the record a body describes."""
        asked = await self.values(at, body, creating=True)
        with renamed(self.names(at)):
            return await records.create_record(
                at.conn, at.p, at.obj.key, fields=asked.fields, owner=asked.owner
            )

    async def create(self, request: Request) -> Response:
        async with self.unit(request, write=True) as at:
            made = await self.make(at, await self.body(request, creating=True))
            return await self.answer(at, made, 201)

    async def get(self, request: Request) -> Response:
        async with self.unit(request) as at:
            found = await records.get_record(at.conn, at.p, at.obj.key, self.ref(request))
            return await self.answer(at, found)

    async def update(self, request: Request) -> Response:
        """Change what the body names; what it leaves out stays."""
        async with self.unit(request, write=True) as at:
            ref = self.ref(request)
            body = await self.body(request, creating=False)
            asked = await self.values(at, body, creating=False)
            with renamed(self.names(at)):
                changed = await records.update_record(
                    at.conn, at.p, at.obj.key, ref, fields=asked.fields, owner=asked.owner
                )
            return await self.answer(at, changed)

    async def delete(self, request: Request) -> Response:
        async with self.unit(request, write=True) as at:
            await records.delete_record(at.conn, at.p, at.obj.key, self.ref(request))
        return Response(status_code=204)

    async def _archived(self, request: Request, archived: bool) -> Response:
        async with self.unit(request, write=True) as at:
            ref = self.ref(request)
            await records.set_archived(at.conn, at.p, at.obj.key, ref, archived=archived)
        return Response(status_code=204)

    async def archive(self, request: Request) -> Response:
        return await self._archived(request, True)

    async def unarchive(self, request: Request) -> Response:
        return await self._archived(request, False)
