"""Cases: replies on case records, and the workspace's reply templates."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import Page, paging, read, write
from crm.api.native.schemas import ReplyIn, ReplyTemplateIn, ReplyTemplatePatch
from crm.core.cases import service as cases
from crm.core.cases import templates
from crm.core.ids import parse_uuid
from crm.core.metadata.service import metadata_for

router = APIRouter(tags=["cases"])
REPLIES = "/objects/case/records/{record}/replies"
TEMPLATES = "/reply-templates"


def case_ref(text: str) -> str | cases.Identifier:
    """A case named in a path: by its id, or else by its identifier (``REF-1042``)."""
    return text if parse_uuid(text) is not None else cases.Identifier(text)


@router.get(REPLIES, summary="A case's replies, oldest first (the case by id or identifier)")
async def list_replies(
    record: str,
    request: Request,
    asked: Page = Depends(paging(cases.REPLY_PAGE, cases.MAX_REPLY_PAGE)),
) -> Response:
    async with read(request) as (conn, p):
        page = await cases.list_replies(conn, p, case_ref(record), **asked.asked())
    return json_response(
        {"data": [render.reply(r) for r in page.replies], "next_cursor": page.next_cursor}
    )


@router.post(REPLIES, status_code=201, summary="Reply on a case, with text or from a template")
async def add_reply(record: str, body: ReplyIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await cases.add_reply(
            conn, p, case_ref(record), text=body.text, template=body.template_id
        )
    return json_response(render.reply(made), 201)


@router.get(TEMPLATES, summary="The workspace's reply templates by number")
async def list_templates(
    request: Request,
    asked: Page = Depends(paging(templates.TEMPLATE_PAGE, templates.MAX_TEMPLATE_PAGE)),
) -> Response:
    async with read(request) as (conn, p):
        page = await templates.list_templates(conn, p, **asked.asked())
        meta = await metadata_for(conn, p)
    return json_response(
        {
            "data": [render.reply_template(meta, t) for t in page.templates],
            "next_cursor": page.next_cursor,
        }
    )


@router.post(TEMPLATES, status_code=201, summary="Create a reply template")
async def create_template(body: ReplyTemplateIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        made = await templates.create_template(conn, p, name=body.name, body=body.body)
        meta = await metadata_for(conn, p)
    return json_response(render.reply_template(meta, made), 201)


@router.get(f"{TEMPLATES}/{{template}}", summary="Get a reply template (by id or number)")
async def get_template(template: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await templates.get_template(conn, p, template)
        meta = await metadata_for(conn, p)
    return json_response(render.reply_template(meta, found))


@router.patch(f"{TEMPLATES}/{{template}}", summary="Change a reply template's name or body")
async def update_template(template: str, body: ReplyTemplatePatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        changed = await templates.update_template(conn, p, template, body.given())
        meta = await metadata_for(conn, p)
    return json_response(render.reply_template(meta, changed))


@router.delete(f"{TEMPLATES}/{{template}}", status_code=204, summary="Delete a reply template")
async def delete_template(template: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await templates.delete_template(conn, p, template)
    return Response(status_code=204)
