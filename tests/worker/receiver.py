"""A webhook receiver for tests: a small ASGI app under uvicorn on loopback, in a thread
of its own, that keeps every request it gets and checks each signature with the
``standardwebhooks`` package against the secrets the test gave it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    headers: dict[str, str]
    raw: bytes
    #: The secrets (of those the receiver held) whose signature the request carries.
    verified_by: tuple[str, ...]
    at: float

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def body(self) -> dict[str, Any]:
        return dict(orjson.loads(self.raw))


async def until(condition: Callable[[], bool], within: float, every: float = 0.01) -> bool:
    """Look every ``every`` seconds until ``condition()`` holds (True) or ``within`` seconds
    pass (False): for what another thread changes."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


def _verifies(secret: str, raw: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(raw, headers)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Receiver:
    """Answers each request with the next status of ``answers`` (200 when none is left);
    while ``hold`` is set, keeps each request waiting until it is cleared, and with
    ``silent`` never answers at all."""

    port: int = 0
    path: str = "/hook"
    secrets: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    silent: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def named_url(self, host: str) -> str:
        return f"http://{host}:{self.port}{self.path}"

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.received]

    @property
    def types(self) -> list[str]:
        return [r.body["type"] for r in self.received]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        verified = tuple(s for s in list(self.secrets) if _verifies(s, raw, headers))
        self.received.append(Received(headers, raw, verified, time.monotonic()))
        self.arrived.set()
        await until(lambda: not (self.silent or self.hold.is_set()), float("inf"))
        status = self.answers.pop(0) if self.answers else 200
        extra = [(b"location", b"http://127.0.0.1:1/elsewhere")] if 300 <= status < 400 else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": f"answered {status}".encode()})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    """``receiver`` served on a free loopback port while the block runs."""
    receiver.port = _free_port()
    config = uvicorn.Config(
        receiver,
        host="127.0.0.1",
        port=receiver.port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    try:
        yield receiver
    finally:
        receiver.silent = False
        receiver.hold.clear()
        server.should_exit = True
        thread.join(10)
