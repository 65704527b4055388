"""How Leadflip clients talk: bearer keys, and bodies as JSON or as forms.

Landing-page builders post forms; a form key given more than once, or written ``key[]``,
becomes a list (``viewers[]=a&viewers[]=b``). Uploaded files in a form are not values and
are refused.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from crm.api.common.http import MalformedBody, media_type
from crm.api.common.transport import Transport, json_object
from crm.core.errors import FieldError, ValidationFailed

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

BEARER = Transport()
read = BEARER.read
write = BEARER.write


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
    return await json_object(request, accepted="JSON or a form" if forms else "JSON")
