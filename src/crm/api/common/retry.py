"""Running a request again when the database aborted it only because of other transactions.

Writers take their locks in one order (docs/adr/0005-concurrency.md), so PostgreSQL should
never pick a deadlock victim among them; this is the net under that rule. A request whose
transaction was aborted as a deadlock victim or a serialisation failure, and to which
nothing has been answered yet, is run again from the start with the same body.
"""

from __future__ import annotations

from typing import Any

from crm.db.locks import is_transient

#: Times a request runs at most.
ATTEMPTS = 3
#: A body larger than this is not kept for a second run (uploads stream through).
REPLAYABLE_BYTES = 1024 * 1024


class _Run:
    """One run of the request: the body kept so far is read again before any more, and
    whether a response has started is noted."""

    def __init__(self, kept: list[dict[str, Any]], more: Any, send: Any) -> None:
        self.again, self.more, self.send_on = list(kept), more, send
        self.started = False

    async def receive(self) -> Any:
        return self.again.pop(0) if self.again else await self.more()

    async def send(self, message: Any) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send_on(message)


class RetryTransient:
    """ASGI middleware: run the request again after a transient database abort, while no
    response has started and the body it read is small enough to have been kept."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kept: list[dict[str, Any]] = []
        size = 0

        async def keeping() -> Any:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size <= REPLAYABLE_BYTES:
                kept.append(message)
            else:
                kept.clear()
            return message

        for attempt in range(1, ATTEMPTS + 1):
            run = _Run(kept, keeping, send)
            try:
                await self.app(scope, run.receive, run.send)
                return
            except Exception as exc:
                if run.started or attempt == ATTEMPTS or size > REPLAYABLE_BYTES:
                    raise
                if not is_transient(exc):
                    raise
