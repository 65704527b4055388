"""The methods a path serves, for the ``Allow`` header of a 405.

FastAPI registers one route per operation, and Starlette's 405 names only the methods of the
first route whose path matched; a path served by ``GET``, ``PATCH`` and ``DELETE`` routes
then answers ``Allow: GET, HEAD``. Every face's error handler asks :func:`error_headers`
instead, which lists the methods of every route of the app that matches the path.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match, Route

__all__ = ["error_headers", "methods_serving"]


def methods_serving(request: Request) -> set[str]:
    """Every method some route of the request's app serves at the request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return methods


def error_headers(request: Request, exc: HTTPException) -> dict[str, str]:
    """The headers of an HTTP error's answer; a 405's ``Allow`` lists the path's methods."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(methods_serving(request)))
    return headers
