"""What the rate limits cost a request: their buckets alone, and a whole point read with
the limits off, counted in memory and counted in the database.

Sequential calls in this process (no network), µs per call (the median of rounds taken
in turn); then many tasks at once
taking tokens of one key, and of as many keys, to show what the row lock of a shared
bucket costs when one key's requests arrive together.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench import load
from bench.anatomy import call, per_call, scope_of
from crm.api.app import create_app
from crm.core.auth.service import principal_for_user
from crm.core.ratelimits import Buckets, DatabaseBuckets, MemoryBuckets, Rate
from crm.core.records.service import create_record
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.settings import Settings

#: Each step is timed this many times, in turn with the others; its median is reported.
ROUNDS = 7
#: A limit no measurement meets: every take finds a token.
UNMET = Rate(1e9, 10**9)


@dataclass(frozen=True)
class Options:
    url: str
    calls: int = 2000
    tasks: int = 32


def default_url(db: str) -> str:
    return load.default_url(db, 0).replace("-0", "-limits").replace("_0", "_limits")


async def _together(buckets: Buckets, tasks: int, calls: int, *, one_key: bool) -> float:
    """Takes per second when ``tasks`` tasks take ``calls`` tokens each at once."""

    async def task(n: int) -> None:
        for _ in range(calls):
            await buckets.take("key:shared" if one_key else f"key:{n}", UNMET)

    t0 = time.perf_counter()
    await asyncio.gather(*(task(n) for n in range(tasks)))
    return round(tasks * calls / (time.perf_counter() - t0))


#: The limits each measured app runs with: none, in memory, in the database.
_STORES: dict[str, dict[str, Any]] = {
    "off": {"rate_limit": 0, "auth_failures": 0},
    "memory": {"rate_limit": 1e9, "rate_burst": 10**9, "auth_failures": 10**9},
    "database": {
        "rate_limit": 1e9,
        "rate_burst": 10**9,
        "auth_failures": 10**9,
        "rate_limit_store": "database",
    },
}


async def main(opts: Options) -> dict[str, Any]:
    engine = make_engine(opts.url, pool_size=opts.tasks)
    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Limits bench", subdomain="bench-limits")
        async with transaction(engine, write=True) as conn:
            owner = await principal_for_user(conn, made["owner"]["id"])
            record = await create_record(conn, owner, "contact", fields={"first_name": "Ada"})
        scope = scope_of(f"/api/v1/objects/contact/records/{record.uuid}", made["api_key"])
        apps = {
            store: create_app(Settings(opts.url, inline_worker=False, **limits), engine)
            for store, limits in _STORES.items()
        }
        memory, database = MemoryBuckets(), DatabaseBuckets(engine)
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "a key's token, in memory": lambda: memory.take("key:k", UNMET),
            "a key's token, in the database": lambda: database.take("key:k", UNMET),
            "an address's failures, read from the database": lambda: database.wait(
                "auth:127.0.0.1", UNMET
            ),
            **{f"GET one contact, limits {s}": partial(call, a, scope) for s, a in apps.items()},
        }
        for app in apps.values():
            assert await call(app, scope) == 200
        rounds: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(ROUNDS):  # in turn, so that the machine's load falls on every step alike
            for name, step in steps.items():
                rounds[name].append(await per_call(step, opts.calls // ROUNDS))
        us = {name: statistics.median(times) for name, times in rounds.items()}
        per_second = {
            f"{opts.tasks} tasks, one key": await _together(
                database, opts.tasks, opts.calls // opts.tasks, one_key=True
            ),
            f"{opts.tasks} tasks, a key each": await _together(
                database, opts.tasks, opts.calls // opts.tasks, one_key=False
            ),
        }
        return {"us_per_call": us, "database_takes_per_second": per_second}
    finally:
        await engine.dispose()


def run(opts: Options) -> dict[str, Any]:
    load.reset_database(opts.url)
    out = asyncio.run(main(opts))
    for name, us in out["us_per_call"].items():
        print(f"{us:>10,.1f} µs  {name}")
    for name, rate in out["database_takes_per_second"].items():
        print(f"{rate:>10,} takes/s  {name}")
    return out
