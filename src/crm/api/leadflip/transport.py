"""How Leadflip clients talk: bearer keys, and bodies as JSON or as forms.

Landing-page builders post forms; a form key given more than once, or written ``key[]``,
becomes a list (``viewers[]=a&viewers[]=b``). Uploaded files in a form are not values and
are refused.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from crm.api.common.http import (
    MalformedBody,
    bearer,
    json_body,
    media_type,
    received_unit,
    require_json,
    unit,
)
from crm.core.auth.principal import Principal
from crm.core.errors import FieldError, ValidationFailed

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

Unit = AbstractAsyncContextManager[tuple[AsyncConnection, Principal]]


def read(request: Request) -> Unit:
    """A read-only unit of work for the caller of ``request``."""
    return unit(request, bearer(request), write=False)


def write(request: Request) -> Unit:
    """A writing unit of work (see :func:`crm.api.common.http.received_unit`)."""
    return received_unit(request, bearer(request))


async def _form(request: Request) -> dict[str, Any]:
    try:
        async with request.form() as form:
            return _values(form.multi_items())
    except (ValidationFailed, MalformedBody):
        raise
    except Exception:  # the multipart parser raises several kinds for a broken body
        raise MalformedBody("The form body could not be read") from None


def _values(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in items:
        if not isinstance(value, str):
            raise ValidationFailed.of([FieldError(key, "must be a value, not a file")])
        name = key[:-2] if key.endswith("[]") else key
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = [value] if key.endswith("[]") else value
    return out


async def object_body(request: Request, *, forms: bool = False) -> dict[str, Any]:
    """The body as an object: JSON, or (where ``forms``) a URL-encoded or multipart form."""
    if forms and media_type(request) in FORMS:
        return await _form(request)
    require_json(request, "JSON or a form" if forms else "JSON")
    payload = await json_body(request)
    if not isinstance(payload, dict):
        raise ValidationFailed.of([FieldError("body", "must be a JSON object")])
    return payload
