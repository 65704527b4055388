"""How large a request body may be, by the route that reads it.

A JSON body may hold the server's body limit. A route that receives an uploaded file says
so on its handler (:func:`receives_upload`); its ``POST`` body streams in up to the upload
limit, its handler storing and counting the file as it comes. :class:`BodyLimit` counts
every body as its route reads it (a declared ``Content-Length`` is refused before anything
is read), so the route is known, and reading past the route's limit ends the request with a
413 in the face's own error shape: no oversized body reaches a handler whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from crm.api.common.http import UPLOAD_SLACK
from crm.api.common.problems import Refusal

__all__ = ["BodyLimit", "receives_upload"]

_MARK = "receives_upload"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def receives_upload(endpoint: Endpoint) -> Endpoint:
    """Mark a route's handler as receiving an uploaded file: its ``POST`` body may be as
    large as the upload limit, not the JSON one."""
    setattr(endpoint, _MARK, True)
    return endpoint


class BodyLimit:
    """ASGI middleware: a request body past its route's limit ends in a 413.

    ``limit`` bytes for any body; ``upload_limit`` (with room for a form around the file)
    for the ``POST`` of a route marked with :func:`receives_upload`. Routing sets the
    route's handler in the request's scope before any handler reads the body.
    """

    def __init__(self, app: Any, limit: int, *, upload_limit: int = 0) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    def allowed(self, scope: Any) -> int:
        """The most the body of the request routed in ``scope`` may hold."""
        endpoint = scope.get("endpoint")
        if scope["method"] == "POST" and getattr(endpoint, _MARK, False):
            return self.upload_limit + UPLOAD_SLACK
        return self.limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        declared = int(length) if length.isdigit() else 0
        seen = 0

        def check(size: int) -> None:
            allowed = self.allowed(scope)
            if size > allowed:
                raise Refusal(413, f"The request body exceeds {allowed} bytes")

        async def counted() -> Any:
            nonlocal seen
            check(declared)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                check(seen)
            return message

        await self.app(scope, counted, send)
