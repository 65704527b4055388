"""Static lists of each record type: filter them, put records on them and take them off,
and the lists a record is on.

A list belongs to one record type: ``/contact/lists/{id}/add/{entityId}`` with the id of a
lead list is a 404, as is a list or record of another workspace. Adding a record that is
on the list already, or removing one that is not, changes nothing and succeeds.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.entities import RouteTable
from crm.api.common.http import json_response
from crm.api.flexie.entities import CUSTOM, STANDARD, Kind, object_of
from crm.api.flexie.filters import MAX_START, count
from crm.api.flexie.records import number
from crm.api.flexie.render import static_list
from crm.api.flexie.transport import read, write
from crm.core.auth.principal import Principal
from crm.core.errors import NotFound
from crm.core.lists import service as lists
from crm.core.lists.service import MAX_LIST_PAGE, StaticList
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records.service import get_record

router = APIRouter()
_QUERY = ("search", "start", "limit")


class _Lists(RouteTable):
    """The list routes of one record type: ``one_base`` holds a record's (``/contacts``),
    ``lists_base`` the type's lists (``/contact/lists``)."""

    def __init__(self, one_base: str, lists_base: str, kind: Kind) -> None:
        super().__init__(router)
        self.one_base, self.lists_base, self.kind = one_base, lists_base, kind

    async def object(
        self, conn: AsyncConnection, p: Principal, request: Request
    ) -> tuple[WorkspaceMeta, ObjectMeta]:
        meta = await metadata_for(conn, p)
        return meta, object_of(meta, self.kind, request.path_params.get("tableName"))

    def routes(self) -> None:
        self.add("GET", self.one_base + "/list/lists", self.every, query=_QUERY)
        self.add("GET", self.one_base + "/{id:int}/lists", self.of_record)
        self.add("GET", self.lists_base, self.every, query=_QUERY)
        self.add("POST", self.lists_base + "/{id:int}/add/{entityId:int}", self.put_on)
        self.add("POST", self.lists_base + "/{id:int}/remove/{entityId:int}", self.take_off)

    async def every(self, request: Request) -> Response:
        given = request.query_params
        async with read(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            page = await lists.find_lists(
                conn,
                p,
                object=obj.key,
                q=given.get("search"),
                limit=count(given.get("limit"), "limit", MAX_LIST_PAGE, MAX_LIST_PAGE, 1),
                offset=count(given.get("start"), "start", 0, MAX_START, 0),
            )
        shown = [static_list(meta, lst) for lst in page.lists]
        return json_response({"total": page.total, "lists": shown})

    async def of_record(self, request: Request) -> Response:
        async with read(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            found = await get_record(conn, p, obj.key, number(request.path_params["id"]))
            on = await lists.lists_of_record(conn, p, found)
        return json_response({"total": len(on), "lists": [static_list(meta, lst) for lst in on]})

    async def _change(self, request: Request, adding: bool) -> Response:
        async with write(request) as (conn, p):
            meta, obj = await self.object(conn, p, request)
            lst = await self._list_of(conn, p, obj, request.path_params["id"])
            entity = number(request.path_params["entityId"])
            change = lists.add_member if adding else lists.remove_member
            await change(conn, p, lst.number, entity)
            changed = await lists.get_list(conn, p, lst.number)
        return json_response({"success": True, "list": static_list(meta, changed)})

    async def _list_of(
        self, conn: AsyncConnection, p: Principal, obj: ObjectMeta, ref: str
    ) -> StaticList:
        lst = await lists.get_list(conn, p, number(ref))
        if lst.object.id != obj.id:
            raise NotFound(f"No {obj.label.lower()} list {ref}")
        return lst

    async def put_on(self, request: Request) -> Response:
        return await self._change(request, adding=True)

    async def take_off(self, request: Request) -> Response:
        return await self._change(request, adding=False)


for _path, _kind in STANDARD.items():
    _Lists(f"/{_path}", f"/{_kind.word}/lists", _kind).routes()
_Lists("/ce/{tableName}", "/ce/{tableName}/lists", CUSTOM).routes()
