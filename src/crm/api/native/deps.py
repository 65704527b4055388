"""The native API's transport: bearer keys, one transaction per request."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple

from fastapi import Query
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


class Page(NamedTuple):
    """What page of a list the caller asks for."""

    limit: int
    cursor: str | None

    def asked(self) -> dict[str, Any]:
        return {"limit": self.limit, "cursor": self.cursor}


def paging(default: int, most: int) -> Callable[..., Page]:
    """A dependency reading ``limit`` (``default`` unless asked, at most ``most``) and the
    ``cursor`` a page's ``next_cursor`` gave."""

    def page(
        limit: int = Query(default, ge=1, le=most),
        cursor: str | None = Query(None, max_length=1000, description="next_cursor of a page"),
    ) -> Page:
        return Page(limit, cursor)

    return page
