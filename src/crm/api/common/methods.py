"""The methods a path serves, for the ``Allow`` header of a 405.

FastAPI registers one route per operation, and Starlette's 405 names only the methods of the
first route whose path matched; a path served by ``GET``, ``PATCH`` and ``DELETE`` routes
then answers ``Allow: GET, HEAD``. Every face's error handler asks :func:`error_headers`
instead, which lists the methods of the path as the app's OpenAPI document (made from the
same routes) gives them.

Where a literal path also fits a parameterised one (``/records/search`` and
``/records/{record}``), the literal one is the resource: its methods are the ones allowed.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match, Mount

__all__ = ["error_headers", "methods_serving"]

_PROBED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_DOCUMENTED = ("get", "put", "post", "patch", "delete")


def _route_path(request: Request) -> str:
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] or "/" if root and path.startswith(root) else path


def _documented(request: Request, path: str) -> set[str] | None:
    """The methods of the most literal documented path that ``path`` fits, if any fits."""
    fits: list[tuple[int, dict[str, object]]] = []
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path, re.DOTALL):
            fits.append((template.count("{"), item))
    if not fits:
        return None
    _, item = min(fits, key=lambda fit: fit[0])
    methods = {m.upper() for m in item if m in _DOCUMENTED}
    return methods | {"HEAD"} if "GET" in methods else methods


def methods_serving(request: Request) -> set[str]:
    """Every method the request's app serves at the request's path.

    A path no document lists (``/healthz``) is tried with each method against the app's
    routes, as a request of that method would be.
    """
    documented = _documented(request, _route_path(request))
    if documented is not None:
        return documented
    return {
        method
        for method in _PROBED
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
