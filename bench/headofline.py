"""Point reads while slow searches run: does a slow request hold up the quick ones?

wrk reads one contact at a time through the native API over ``CONNECTIONS`` connections,
first alone, then while ``bench.slowloop`` (a process of its own) keeps ``SLOW_CONNECTIONS``
connections busy with the slowest searches of ``queries.py``, sent as HTTP list requests:
the ``q`` search on an email's local part (``GET ...?q=``) and a range on the custom
``score`` field (``POST .../search`` with its filter).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench import served
from bench.queries import build
from bench.storage import sample
from crm.core.auth.principal import Principal
from crm.core.metadata.service import metadata_for
from crm.core.records.model import RecordQuery
from crm.db.engine import transaction

CONNECTIONS = 16
SLOW_CONNECTIONS = 4
#: The slowest queries of ``queries.py`` (at 1,000,000 contacts), by name.
SLOW_QUERIES = ("q_email", "range_score")
VARIANTS = 100
P99_TARGET_MS = 25.0
LIST = "/api/v1/objects/contact/records"


def _request(query: RecordQuery) -> dict[str, Any]:
    """A list request with the query's ``q``, or a search request with its filter."""
    if query.filter is None:
        return {"method": "GET", "path": LIST, "params": {"q": query.q}}
    return {"method": "POST", "path": f"{LIST}/search", "json": {"filter": query.filter}}


async def slow_requests(
    engine: AsyncEngine, principal: Principal, seed: int
) -> list[dict[str, Any]]:
    """``VARIANTS`` requests of each slow query, interleaved, with constants drawn from data."""
    async with transaction(engine, write=False) as conn:
        ot = (await metadata_for(conn, principal)).object("contact").id
    constants = await sample(engine, principal.workspace_id, seed)
    queries = [
        q
        for q in build(engine.dialect.name, principal.workspace_id, ot, constants, {})
        if q.name in SLOW_QUERIES
    ]
    rng = random.Random(seed)
    return [_request(q.make(rng).query) for _ in range(VARIANTS) for q in queries]


def measure(
    server: served.Server,
    key: str,
    paths: list[str],
    slow: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """Point reads alone, then beside the slow searches; both wrk runs last ``seconds``."""

    def reads() -> dict[str, Any]:
        return served.wrk(
            server.base, key=key, paths=paths, seconds=seconds, connections=CONNECTIONS
        )

    server.settle()
    alone = reads()
    server.settle()
    plan = {"base": server.base, "key": key, "connections": SLOW_CONNECTIONS, "requests": slow}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(plan, f)
        f.flush()
        searcher = subprocess.Popen(
            [sys.executable, "-m", "bench.slowloop", f.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert searcher.stdout is not None
        try:
            if searcher.stdout.readline().strip() != "started":
                raise RuntimeError("the slow searches did not start")
            beside = reads()
        finally:
            out, _ = searcher.communicate(timeout=600)
    if searcher.returncode:
        raise RuntimeError(f"the slow searches exited with {searcher.returncode}")
    searches = json.loads(out.strip().splitlines()[-1])
    return {
        "connections": CONNECTIONS,
        "seconds": seconds,
        "slow_queries": list(SLOW_QUERIES),
        "alone": alone,
        "beside_slow": beside,
        "slow": searches,
        "p99_target_ms": P99_TARGET_MS,
    }
