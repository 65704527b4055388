"""Sending webhooks: one signed POST through the outbound checks (:func:`send`), and the
deliveries of the subscriptions a worker claims, several subscriptions at once.

Each claimed subscription is served by a task of its own, with a client of its own, so a
receiver that is slow or never answers holds up only its own subscription; at most
``concurrency`` are served at once. No database transaction is open while a request is
in flight (:mod:`crm.core.webhooks.deliveries` writes each outcome afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm import __version__
from crm.core.webhooks import deliveries, signing
from crm.core.webhooks.deliveries import Claimed, Message, Outcome
from crm.core.webhooks.safety import Outbound, Refused, check

__all__ = ["IDLE", "USER_AGENT", "drain", "run", "send"]

log = logging.getLogger(__name__)

USER_AGENT = f"crm/{__version__} (webhooks)"
#: Seconds between looks for due subscriptions when there are none.
IDLE = 0.2
#: Seconds a worker serves one subscription before it lets others have a turn.
TURN = 10.0
#: Outcomes written together at most, and the longest the first of them waits.
FLUSH = 50
FLUSH_SECONDS = 0.1
#: Bytes of an answer read for the log's excerpt.
_READ = 4 * deliveries.EXCERPT


def _client(policy: Outbound) -> httpx.AsyncClient:
    """A client that follows no redirect, reads no proxy or other setting from the
    environment, and gives up connecting after ``policy.connect_timeout``."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
    )


async def _excerpt(answer: httpx.Response) -> str | None:
    read = b""
    async for chunk in answer.aiter_bytes():
        read += chunk
        if len(read) >= _READ:
            break
    text = read.decode("utf-8", errors="replace").strip()
    return text[: deliveries.EXCERPT] or None


def _failure(exc: Exception, policy: Outbound) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect within {policy.connect_timeout:g} s"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no answer within {policy.timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc}" if str(exc) else "could not connect"
    return f"the request failed: {type(exc).__name__}" + (f": {exc}" if str(exc) else "")


async def send(
    url: str,
    body: bytes,
    *,
    message_id: str,
    secrets: Sequence[str],
    policy: Outbound,
    client: httpx.AsyncClient | None = None,
) -> Outcome:
    """POST the JSON ``body`` to ``url``, signed with each of ``secrets`` as message
    ``message_id``, and say what came of it. The URL is checked first and the connection
    made to the address that passed; redirects are not followed (a 3xx is no delivery),
    and the whole request takes at most ``policy.timeout`` seconds."""
    started = time.perf_counter()

    def done(status: int | None, excerpt: str | None, error: str | None) -> Outcome:
        return Outcome(status, excerpt, error, round((time.perf_counter() - started) * 1000))

    try:
        target = await check(url, policy)
    except Refused as exc:
        return done(None, None, f"refused: {exc}")
    headers = {
        **signing.headers(secrets, message_id, int(time.time()), body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": target.host_header,
    }
    pinned = httpx.URL(url).copy_with(host=str(target.address))
    sni = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            own = client
            if own is None:
                own = await stack.enter_async_context(_client(policy))
            async with asyncio.timeout(policy.timeout):
                request = own.build_request(
                    "POST", pinned, content=body, headers=headers, extensions=sni
                )
                answer = await own.send(request, stream=True)
                stack.push_async_callback(answer.aclose)
                return done(answer.status_code, await _excerpt(answer), None)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        return done(None, None, _failure(exc, policy))


class _Outcomes:
    """The outcomes of one subscription's attempts not yet written: written together once
    :data:`FLUSH` of them wait or the first has waited :data:`FLUSH_SECONDS`, at once after
    a failure, and before the cursor moves otherwise."""

    def __init__(self, engine: AsyncEngine, sub: Claimed) -> None:
        self.engine, self.sub = engine, sub
        self.waiting: list[tuple[Message, Outcome]] = []
        self.since = 0.0

    def due(self, message: Message, outcome: Outcome) -> bool:
        """Keep an outcome; whether the waiting ones are to be written now."""
        if not self.waiting:
            self.since = time.monotonic()
        self.waiting.append((message, outcome))
        return (
            not outcome.delivered
            or len(self.waiting) >= FLUSH
            or time.monotonic() - self.since >= FLUSH_SECONDS
        )

    async def write(self) -> bool:
        """Write the waiting outcomes; whether the subscription is still this worker's."""
        held = await deliveries.record(self.engine, self.sub, self.waiting)
        self.waiting = []
        return held


async def _serve(
    engine: AsyncEngine, sub: Claimed, policy: Outbound, stopping: Callable[[], bool]
) -> int:
    """Deliver the claimed subscription's events in order until none is left, one fails,
    its turn is over or the worker stops; how many were delivered."""
    delivered, turn_ends = 0, time.monotonic() + TURN
    outcomes = _Outcomes(engine, sub)
    async with _client(policy) as client:
        while not stopping() and time.monotonic() < turn_ends:
            messages, end = await deliveries.next_batch(engine, sub)
            if not messages and end == sub.cursor:
                break
            for message in messages:
                if stopping():
                    break
                outcome = await send(
                    sub.url,
                    message.body,
                    message_id=str(message.event_uuid),
                    secrets=sub.secrets,
                    policy=policy,
                    client=client,
                )
                if outcomes.due(message, outcome) and not await outcomes.write():
                    return delivered  # another worker holds the subscription now
                if not outcome.delivered:
                    return delivered  # written: it waits for its next attempt
                delivered += 1
            else:
                if await outcomes.write() and await deliveries.advance(engine, sub, end):
                    continue
                return delivered
            break
    if await outcomes.write():
        await deliveries.release(engine, sub)
    return delivered


async def _guarded(
    engine: AsyncEngine, sub: Claimed, policy: Outbound, stopping: Callable[[], bool]
) -> int:
    """:func:`_serve`, logging an unexpected failure: the subscription's lease runs out
    and another turn sends what was not recorded."""
    try:
        return await _serve(engine, sub, policy, stopping)
    except Exception:
        log.exception("delivering webhooks of subscription %s failed", sub.id)
        return 0


async def drain(engine: AsyncEngine, owner: str, policy: Outbound, concurrency: int) -> int:
    """Deliver until no subscription is due now; how many messages were delivered."""
    delivered = 0
    while claimed := await deliveries.claim(engine, owner, concurrency):
        served = await asyncio.gather(
            *(_guarded(engine, sub, policy, lambda: False) for sub in claimed)
        )
        delivered += sum(served)
    return delivered


async def run(
    engine: AsyncEngine,
    owner: str,
    stop: asyncio.Event,
    policy: Outbound,
    concurrency: int,
    *,
    idle: float = IDLE,
) -> None:
    """Serve due subscriptions until ``stop`` is set, up to ``concurrency`` at once: a
    slot that frees up takes the next due subscription."""
    running: set[asyncio.Task[int]] = set()
    try:
        while not stop.is_set():
            claimed: list[Claimed] = []
            if len(running) < concurrency:
                try:
                    claimed = await deliveries.claim(engine, owner, concurrency - len(running))
                except Exception:  # the database is away: look again later
                    log.exception("claiming webhook subscriptions failed")
            for sub in claimed:
                running.add(asyncio.create_task(_guarded(engine, sub, policy, stop.is_set)))
            stopped = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait(
                {*running, stopped}, timeout=idle, return_when=asyncio.FIRST_COMPLETED
            )
            stopped.cancel()
            running -= done
    except asyncio.CancelledError:
        for task in running:
            task.cancel()
        raise
    finally:
        # stopped, each task ends after the message at hand; cancelled, at once
        await asyncio.gather(*running, return_exceptions=True)
