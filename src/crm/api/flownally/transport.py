"""How Flownally clients talk: bearer keys and JSON bodies."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from crm.api.common.http import bearer, json_body, received_unit, require_json, unit
from crm.core.auth.principal import Principal
from crm.core.errors import FieldError, ValidationFailed

Unit = AbstractAsyncContextManager[tuple[AsyncConnection, Principal]]


def read(request: Request) -> Unit:
    """A read-only unit of work for the caller of ``request``."""
    return unit(request, bearer(request), write=False)


def write(request: Request) -> Unit:
    """A writing unit of work (see :func:`crm.api.common.http.received_unit`)."""
    return received_unit(request, bearer(request))


async def object_body(request: Request, allowed: set[str]) -> dict[str, Any]:
    """The JSON object body; 422 naming each attribute that is not in ``allowed``."""
    require_json(request)
    payload = await json_body(request)
    if not isinstance(payload, dict):
        raise ValidationFailed.of([FieldError("body", "must be a JSON object")])
    unknown = [k for k in payload if k not in allowed]
    if unknown:
        raise ValidationFailed.of([FieldError(k, "unknown attribute", "unknown") for k in unknown])
    return payload
