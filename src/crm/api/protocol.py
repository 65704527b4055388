"""The HTTP protocol ``crm serve`` runs: uvicorn's, with a deadline for request headers.

uvicorn holds a connection that sends nothing, or half a request line, for as long as
the client likes: its keep-alive timeout only runs between requests, and every byte that
arrives stops it. Enough such connections exhaust the server's file descriptors
(slowloris). Here every request's headers must be complete within ``CRM_HEADER_TIMEOUT``
seconds of its first byte (of the connection, for the first request), or the connection
is closed. Bodies and responses are not timed: a large upload may take its time.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from crm.settings import Settings


@cache
def header_timeout() -> float:
    """This process's header deadline, in seconds."""
    return Settings.from_env().header_timeout


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose headers come too slowly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(header_timeout(), self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # a pipelined request waits while the one before it is answered
        elif not self.transport.is_closing():
            self.transport.close()
