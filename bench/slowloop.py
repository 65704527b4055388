"""Slow searches in a loop, from a process of their own, until its standard input closes.

``python -m bench.slowloop PLAN`` reads a JSON file ``{"base", "key", "connections",
"requests": [{"method", "path", "params"?, "json"?}]}`` and sends the requests in turn over
``connections`` concurrent connections, each waiting for its answer before the next. It
prints ``started`` once every connection has had an answer, then, when its standard input
closes, one JSON line: searches completed, their rate and latencies, non-2xx answers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def loop(plan: dict[str, Any]) -> dict[str, Any]:
    """Search until standard input closes; the searches' count, rate and latencies."""
    requests = itertools.cycle(plan["requests"])
    latencies: list[float] = []
    errors = 0
    stop = asyncio.Event()
    answered = asyncio.Semaphore(0)

    async def searcher(client: httpx.AsyncClient) -> None:
        nonlocal errors
        first = True
        while not stop.is_set():
            r = next(requests)
            t0 = time.perf_counter()
            answer = await client.request(
                r["method"], r["path"], params=r.get("params"), json=r.get("json")
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += answer.status_code >= 300
            if first:
                answered.release()
                first = False

    n = plan["connections"]
    async with httpx.AsyncClient(
        base_url=plan["base"],
        headers={"Authorization": f"Bearer {plan['key']}"},
        limits=httpx.Limits(max_connections=n),
        timeout=60,
    ) as client:
        tasks = [asyncio.create_task(searcher(client)) for _ in range(n)]
        for _ in range(n):
            await answered.acquire()
        latencies.clear()
        started = time.perf_counter()
        print("started", flush=True)
        await asyncio.to_thread(sys.stdin.read)
        stop.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
    return {
        "connections": n,
        "searches": len(latencies),
        "seconds": round(seconds, 2),
        "per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(_percentile(latencies, 50), 2) if latencies else None,
        "p99_ms": round(_percentile(latencies, 99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(loop(json.loads(Path(sys.argv[1]).read_text())))), flush=True)
