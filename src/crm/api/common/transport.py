"""How a face's clients present their key, and the units of work a face's routes run in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from crm.api.common.http import bearer, json_body, received_unit, require_json, unit
from crm.core.auth.principal import Principal
from crm.core.errors import FieldError, ValidationFailed

Unit = AbstractAsyncContextManager[tuple[AsyncConnection, Principal]]


@dataclass(frozen=True)
class Transport:
    """A face's way of finding the caller's key in a request (``Authorization: Bearer``
    unless it says otherwise)."""

    key: Callable[[Request], str | None] = bearer

    def read(self, request: Request) -> Unit:
        """A read-only unit of work for the caller of ``request``."""
        return unit(request, self.key(request), write=False)

    def write(self, request: Request) -> Unit:
        """A writing unit of work (see :func:`crm.api.common.http.received_unit`)."""
        return received_unit(request, self.key(request))


async def json_object(
    request: Request, allowed: set[str] | None = None, *, accepted: str = "JSON"
) -> dict[str, Any]:
    """The JSON object body; with ``allowed``, a 422 naming each attribute not in it.
    ``accepted`` words the 415 for a body of another media type."""
    require_json(request, accepted)
    payload = await json_body(request)
    if not isinstance(payload, dict):
        raise ValidationFailed.of([FieldError("body", "must be a JSON object")])
    unknown = [k for k in payload if allowed is not None and k not in allowed]
    if unknown:
        raise ValidationFailed.of([FieldError(k, "unknown attribute", "unknown") for k in unknown])
    return payload
