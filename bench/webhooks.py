"""Webhook deliveries to a local receiver: messages delivered per second, and the lag from
a change's commit to its delivery (p50, p99).

The receiver is a process of its own (``python -m bench.webhooks``: uvicorn on loopback,
answering 204 and noting when each message arrived). First, what ``send`` alone gets
through, one message after another, with no database. Throughput: ``events`` contacts are
made with no worker running, then one ``drain`` delivers them, timed, to one subscription
(its messages go one after another, each with its outcome written) and to eight
subscriptions of eight workspaces (served at once). Lag: the worker loop as ``crm worker``
runs it, while contacts are made one at a time at ``rate`` per second; each lag is the
time from the end of the contact's transaction (committed) to its message's arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import load
from crm.core.auth.service import principal_for_user
from crm.core.events.stream import settle
from crm.core.records.service import create_record
from crm.core.webhooks.safety import check, outbound
from crm.core.webhooks.signing import new_secret
from crm.core.webhooks.subscriptions import create_subscription
from crm.core.workspaces.service import create_workspace
from crm.db.engine import BULK, make_engine, transaction
from crm.db.schema import events
from crm.settings import Settings
from crm.worker.loop import drain, run
from crm.worker.webhooks import send

#: Subscriptions (each of a workspace of its own) served at once in the second figure.
MANY = 8


@dataclass(frozen=True)
class Options:
    db: str
    url: str
    events: int = 2000
    rate: float = 50.0
    seconds: float = 10.0


def default_url(db: str) -> str:
    return load.default_url(db, 0).replace("-0", "-webhooks").replace("_0", "_webhooks")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _arrivals(path: Path) -> dict[str, float]:
    """When each message arrived, by its id, as the receiver noted it."""
    found = {}
    for line in path.read_text().splitlines():
        message_id, _, at = line.partition(" ")
        found[message_id] = float(at)
    return found


async def _workspace(engine: Any, settings: Settings, hook: str, name: str) -> Any:
    """A workspace subscribed to ``hook``; its owner."""
    async with transaction(engine, write=True) as conn:
        made = await create_workspace(conn, name=name)
        owner = await principal_for_user(conn, made["owner"]["id"])
    target = await check(hook, outbound(settings))
    assert await settle(engine)
    async with transaction(engine, write=True) as conn:
        await create_subscription(conn, owner, url=target)
    return owner


async def _contact(engine: Any, owner: Any, n: int) -> Any:
    async with transaction(engine, write=True) as conn:
        return await create_record(conn, owner, "contact", fields={"first_name": f"P{n}"})


async def _throughput(engine: Any, settings: Settings, hook: str, spaces: int, n: int) -> float:
    owners = [
        await _workspace(engine, settings, hook, f"Bench {spaces}-{i}") for i in range(spaces)
    ]
    for i in range(n):
        await _contact(engine, owners[i % spaces], i)
    assert await settle(engine)
    started = time.perf_counter()
    delivered = await drain(engine, settings=settings)
    elapsed = time.perf_counter() - started
    assert delivered == n, (delivered, n)
    return round(n / elapsed)


async def _sending(settings: Settings, hook: str, n: int) -> float:
    """Messages per second that :func:`send` alone gets through, one after another."""
    policy, secret, body = outbound(settings), new_secret(), b'{"id": "x"}' * 40
    started = time.perf_counter()
    async with httpx.AsyncClient(trust_env=False) as client:
        for i in range(n):
            outcome = await send(
                hook, body, message_id=str(i), secrets=[secret], policy=policy, client=client
            )
            assert outcome.delivered, outcome
    return round(n / (time.perf_counter() - started))


async def _lag(
    engine: Any, settings: Settings, hook: str, arrivals: Path, opts: Options
) -> dict[str, float]:
    owner = await _workspace(engine, settings, hook, "Bench lag")
    stop = asyncio.Event()
    worker = asyncio.create_task(run(engine, stop, settings=settings))
    committed: dict[str, float] = {}
    try:
        count = int(opts.rate * opts.seconds)
        for i in range(count):
            record = await _contact(engine, owner, i)
            committed[str(record.uuid)] = time.time()
            await asyncio.sleep(1 / opts.rate)
        await asyncio.sleep(3)
    finally:
        stop.set()
        await worker
    by_record = await _records_of(engine, arrivals, set(committed))
    lags = sorted((by_record[r] - at) * 1000 for r, at in committed.items() if r in by_record)
    assert len(lags) == len(committed), (len(lags), len(committed))
    return {
        "messages": len(lags),
        "p50_ms": round(statistics.median(lags), 1),
        "p99_ms": round(lags[int(len(lags) * 0.99) - 1], 1),
    }


async def _records_of(engine: Any, arrivals: Path, records: set[str]) -> dict[str, float]:
    """When the message of each record's creation arrived, by record id."""
    arrived = await asyncio.to_thread(_arrivals, arrivals)
    async with transaction(engine, write=False) as conn:
        rows = await conn.execute(
            sa.select(events.c.uuid, events.c.payload).where(events.c.type == "record.created")
        )
        by_event = {str(u): p.get("record") for u, p in rows}
    return {by_event[m]: at for m, at in arrived.items() if by_event.get(m) in records}


@contextmanager
def _receiver() -> Iterator[tuple[str, Path]]:
    """The receiver's process, serving while the block runs: its URL, and the file where
    it notes arrivals."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="crm-bench-webhooks-") as folder:
        arrivals = Path(folder) / "arrivals.log"
        receiver = subprocess.Popen(
            [sys.executable, "-m", "bench.webhooks", "--port", str(port), "--out", str(arrivals)]
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the receiver did not start"
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/hook", arrivals
        finally:
            receiver.terminate()
            receiver.wait(30)


async def _measure(opts: Options, hook: str, arrivals: Path) -> dict[str, Any]:
    engine = make_engine(opts.url, pool_size=4, caches=BULK)
    settings = Settings(opts.url, webhook_allowed_networks=("127.0.0.0/8",))
    try:
        return {
            "send_alone_per_s": await _sending(settings, hook, opts.events),
            "one_subscription_per_s": await _throughput(engine, settings, hook, 1, opts.events),
            f"{MANY}_subscriptions_per_s": await _throughput(
                engine, settings, hook, MANY, opts.events
            ),
            "lag": await _lag(engine, settings, hook, arrivals, opts),
        }
    finally:
        await engine.dispose()


def main(opts: Options) -> dict[str, Any]:
    """Measure on a migrated database; the figures, also printed."""
    with _receiver() as (hook, arrivals):
        results = asyncio.run(_measure(opts, hook, arrivals))
    print({"db": opts.db, "events": opts.events, "rate": opts.rate, **results})
    return results


def receive(port: int, out: Path) -> None:
    """Serve the receiver: 204 for every request, its ``webhook-id`` and arrival noted."""
    import uvicorn

    notes = out.open("a", buffering=1)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        notes.write(f"{headers.get(b'webhook-id', b'').decode()} {time.time()}\n")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the benchmark's webhook receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    receive(args.port, args.out)
