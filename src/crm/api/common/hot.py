"""Hot routes: the few most frequent requests, answered in front of the FastAPI app.

Each face lists its hot routes (:class:`HotRoute`): a method, a path template and a handler
that reads what it needs from the raw ASGI scope and returns a finished :class:`Answer`,
or ``None`` when the request needs more than the hot path knows (the handler then has
done nothing). :class:`HotRoutes` tries them first and hands every other request, and
every ``None``, to the app, whose route for the same path documents it in the OpenAPI
document and gives the same answer the slow way. Rate limits and body limits sit in
front of both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from crm.api.common.clients import bearer_token
from crm.db.direct import Direct


@dataclass(frozen=True)
class Answer:
    """A complete JSON response."""

    status: int
    body: bytes


@dataclass(frozen=True)
class Hit:
    """A request a hot route matched: its path parameters, headers and query string."""

    params: dict[str, str]
    headers: dict[bytes, bytes]
    query: bytes
    direct: Direct


Handler = Callable[[Hit], Awaitable[Answer | None]]


@dataclass(frozen=True)
class HotRoute:
    method: str
    path: str
    handler: Handler

    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))


class HotRoutes:
    """ASGI middleware serving ``routes`` before ``app`` (see the module docstring).

    ``direct`` gives the :class:`Direct` reader of the app's engine once it is open.
    """

    def __init__(
        self, app: Any, routes: Iterable[HotRoute], direct: Callable[[], Direct | None]
    ) -> None:
        self.app, self.direct = app, direct
        self._table: dict[tuple[str, int], list[tuple[tuple[str, ...], Handler]]] = {}
        for route in routes:
            parts = route.parts()
            self._table.setdefault((route.method, len(parts)), []).append((parts, route.handler))

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        parts = path.strip("/").split("/")
        for template, handler in self._table.get((method, len(parts)), ()):
            params: dict[str, str] = {}
            for want, got in zip(template, parts, strict=True):
                if want[0] == "{":
                    if not got:
                        break
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return handler, params
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            matched = self._match(scope["method"], scope["path"])
            direct = self.direct() if matched is not None else None
            if matched is not None and direct is not None:
                handler, params = matched
                hit = Hit(params, dict(scope["headers"]), scope["query_string"], direct)
                answer = await handler(hit)
                if answer is not None:
                    await _send(send, answer)
                    return
        await self.app(scope, receive, send)


async def _send(send: Any, answer: Answer) -> None:
    headers = [
        (b"content-length", str(len(answer.body)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def bearer_key(hit: Hit) -> str | None:
    """The key from ``Authorization: Bearer ak_...``."""
    return bearer_token(hit.headers.get(b"authorization", b"").decode("latin-1"))
