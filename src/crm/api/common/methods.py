"""The methods a path serves, for the ``Allow`` header of a 405.

FastAPI registers one route per operation, and Starlette's 405 names only the methods of the
first route whose path matched; a path served by ``GET``, ``PATCH`` and ``DELETE`` routes
then answers ``Allow: GET, HEAD``. Every face's error handler asks :func:`error_headers`
instead, which lists the methods of every route of the app that matches the path.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match, Mount

__all__ = ["error_headers", "methods_serving"]

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def methods_serving(request: Request) -> set[str]:
    """Every method some route of the request's app serves at the request's path.

    Each method is tried against the app's routes as a request of that method would be, so
    routes of included routers count too, however the framework nests them.
    """
    return {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
            if not isinstance(route, Mount)
        )
    }


def error_headers(request: Request, exc: HTTPException) -> dict[str, str]:
    """The headers of an HTTP error's answer; a 405's ``Allow`` lists the path's methods."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(methods_serving(request)))
    return headers
