"""Starting an import from an upload, the same way on every face."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from crm.api.common.http import engine_of, unit
from crm.api.common.uploads import receive_upload
from crm.core.errors import FieldError, ValidationFailed
from crm.core.imports.service import Import, begin_import, discard_upload, upload_done
from crm.core.imports.storage import Upload

#: The ``openapi_extra`` of an import upload: a multipart file (and its encoding), or the
#: CSV itself as the body.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "encoding": {"type": "string", "default": "utf-8"},
                    },
                }
            },
            # any bytes are read as CSV text, so no body is malformed for this media type
            "text/csv": {"schema": {}},
        },
    }
}


async def start_import(
    request: Request, key: str | None, entity: Any, *, phone_channel: str | None = None
) -> Import:
    """Check the caller, stream the uploaded file into storage, and queue the import.

    The caller is checked before the body is read; an upload that fails half-way (too
    large, malformed, no file) leaves nothing behind.
    """
    engine = engine_of(request)
    async with unit(request, key, write=True) as (conn, principal):
        started = await begin_import(conn, principal, entity, phone_channel=phone_channel)
    upload = Upload(engine, started.id, request.app.state.settings.max_import_bytes)
    try:
        received = await receive_upload(request, upload)
        if not received.found:
            raise ValidationFailed.of([FieldError("file", "a CSV file is required", "required")])
        encoding = received.fields.get("encoding") or request.query_params.get("encoding")
        return await upload_done(
            engine,
            principal,
            started,
            size=upload.size,
            filename=received.filename,
            encoding=encoding or "utf-8",
        )
    except BaseException:
        await discard_upload(engine, started)
        raise
