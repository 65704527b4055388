"""A case's replies, by the case's id or by its identifier (``REF-1042``): read them, and
reply with ``text`` or from a reply template (``template_id``, the template's id), whose
merge fields are filled in from the case and its contact."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.bodies import documented, parsed
from crm.api.common.http import json_response
from crm.api.flexie.filters import MAX_START, count
from crm.api.flexie.records import number, parameters
from crm.api.flexie.render import reply
from crm.api.flexie.transport import FlexieBody, read, write
from crm.core.cases import service as cases
from crm.core.cases.service import MAX_REPLY_PAGE, REPLY_PAGE, Identifier
from crm.core.metadata.service import metadata_for

router = APIRouter()


class ReplyBody(FlexieBody):
    """A reply: its text, or the template reply it is written from."""

    text: str | None = Field(None, min_length=1)
    template_id: int | None = Field(None, ge=1)


def _case(request: Request) -> Any:
    params = request.path_params
    return Identifier(params["identifier"]) if "identifier" in params else number(params["id"])


async def _replies(request: Request) -> Response:
    given = request.query_params
    async with read(request) as (conn, p):
        page = await cases.list_replies(
            conn,
            p,
            _case(request),
            limit=count(given.get("limit"), "limit", REPLY_PAGE, MAX_REPLY_PAGE, 1),
            offset=count(given.get("start"), "start", 0, MAX_START, 0),
        )
        meta = await metadata_for(conn, p)
    return json_response({"total": page.total, "replies": [reply(meta, r) for r in page.replies]})


async def _reply(request: Request) -> Response:
    async with write(request) as (conn, p):
        body = await parsed(request, ReplyBody)
        made = await cases.add_reply(
            conn, p, _case(request), text=body.text, template=body.template_id
        )
        meta = await metadata_for(conn, p)
    return json_response({"reply": reply(meta, made)}, 201)


for _path in ("/cases/replies/{identifier}", "/cases/{id:int}/replies"):
    _query = parameters(_path, ("start", "limit"))
    router.add_api_route(_path, _replies, methods=["GET"], openapi_extra=_query)
    router.add_api_route(
        _path,
        _reply,
        methods=["POST"],
        status_code=201,
        openapi_extra={**documented(ReplyBody), **parameters(_path)},
    )
