"""The native API's transport: bearer keys, one transaction per request."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from crm.api.common.http import bearer, unit
from crm.core.auth.principal import Principal

Unit = AbstractAsyncContextManager[tuple[AsyncConnection, Principal]]


def read(request: Request) -> Unit:
    """A read-only unit of work for the caller of ``request``."""
    return unit(request, bearer(request), write=False)


def write(request: Request) -> Unit:
    """A writing unit of work for the caller of ``request``."""
    return unit(request, bearer(request), write=True)
