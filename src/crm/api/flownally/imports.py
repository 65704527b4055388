"""Contact imports: upload a CSV, then poll its progress and refused rows."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import bearer, json_response
from crm.api.common.imports import UPLOAD_BODY, start_import
from crm.api.common.limits import receives_upload
from crm.api.flownally import render
from crm.api.flownally.ids import core_id, face_id
from crm.api.flownally.transport import read
from crm.core.imports import service as imports

router = APIRouter()
#: Row errors shown with an import's status; the native API pages through all of them.
SHOWN_ERRORS = 1000


@router.post("/contacts/import", status_code=202, openapi_extra=UPLOAD_BODY)
@receives_upload
async def import_contacts(request: Request) -> Response:
    """Queue a CSV of contacts; a phone in E.164 also becomes the contact's WhatsApp."""
    started = await start_import(request, bearer(request), "contact", phone_channel="whatsapp")
    return json_response({"importId": face_id("import", started.uuid)}, 202)


@router.get("/contacts/imports/{import_id}")
async def get_import(import_id: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        ref = core_id("import", import_id, "Import")
        found, errors = await imports.row_errors(conn, p, ref, limit=SHOWN_ERRORS)
    return json_response(render.contact_import(found, errors))
