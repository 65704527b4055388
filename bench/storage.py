"""The storage benchmark: load, then time each query through the core and by hand.

Every timed call is one read transaction, as a request would make: ``find_records`` (or
``count_records``) for the core, the equivalent SQL through ``sa.text`` on the same engine
for the hand-written side. Core and hand-written runs alternate on the same constants.
After timing, each query's plan is recorded (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL) for the core's exact SQL and the hand's.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import load as loader
from bench import machine
from bench.queries import Query, Sample, Variant, build
from crm.core.auth.principal import Principal
from crm.core.metadata.service import metadata_for
from crm.core.records.model import RecordQuery
from crm.core.records.service import count_records, find_records
from crm.db.engine import make_engine, transaction
from crm.db.schema import records

RESULTS = Path(__file__).parent / "results"
WALK_PAGES = 1000
DEEP_CURSORS = 10


@dataclass
class Options:
    db: str
    scale: int
    seed: int
    url: str
    reps: int
    budget: float
    reuse: bool
    only: list[str] | None = None


class Capture:
    """Records the SQL and parameters the engine sends while ``on`` is set."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.on:
            self.statements.append((statement, parameters))

    def last_records_query(self) -> tuple[str, Any]:
        found: tuple[str, Any] = next(
            s for s in reversed(self.statements) if "FROM records" in s[0]
        )
        return found


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, round(p / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 50), 3),
        "p95": round(percentile(samples, 95), 3),
        "mean": round(statistics.fmean(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
    }


async def run_core(engine: AsyncEngine, principal: Principal, v: Variant) -> tuple[int, ...]:
    """The variant through the core; answers the ids of the page (or the count)."""
    async with transaction(engine, write=False) as conn:
        if v.count:
            return (await count_records(conn, principal, "contact", v.query),)
        page = await find_records(conn, principal, "contact", v.query)
        return tuple(r.id for r in page.records)


async def run_raw(engine: AsyncEngine, v: Variant) -> tuple[int, ...]:
    """The hand-written SQL, decoding ``data`` as the core does."""
    async with transaction(engine, write=False) as conn:
        result = await conn.execute(sa.text(v.sql), v.params)
        if v.count:
            return (int(result.scalar_one()),)
        rows = result.all()[:50]
        for row in rows:
            if isinstance(row.data, str | bytes):
                orjson.loads(row.data)
        return tuple(row.id for row in rows)


async def timed(call: Any) -> tuple[float, tuple[int, ...]]:
    t0 = time.perf_counter()
    rows = await call
    return (time.perf_counter() - t0) * 1000, rows


async def measure(
    engine: AsyncEngine, principal: Principal, query: Query, opts: Options
) -> dict[str, Any]:
    """Warm up, then alternate core and hand-written runs until reps or the budget is spent."""
    rng = random.Random(f"{opts.seed}:{query.name}")
    for _ in range(3):
        v = query.make(rng)
        await run_core(engine, principal, v)
        await run_raw(engine, v)
    core: list[float] = []
    raw: list[float] = []
    rows_core: list[tuple[int, ...]] = []
    rows_raw: list[tuple[int, ...]] = []
    started = time.perf_counter()
    for i in range(opts.reps):
        v = query.make(rng)
        runs = [("core", run_core(engine, principal, v)), ("raw", run_raw(engine, v))]
        for side, call in runs if i % 2 == 0 else runs[::-1]:
            ms, n = await timed(call)
            (core if side == "core" else raw).append(ms)
            (rows_core if side == "core" else rows_raw).append(n)
        if time.perf_counter() - started > opts.budget and i + 1 >= 20:
            break
    if rows_core != rows_raw:
        raise AssertionError(f"{query.name}: core and hand-written SQL answer different rows")
    sizes = [r[0] if v.count else len(r) for r in rows_core]
    return {
        "core": summary(core),
        "raw": summary(raw),
        "rows_mean": round(statistics.fmean(sizes), 1),
        "ratio_p50": round(percentile(core, 50) / percentile(raw, 50), 2),
        "ratio_p95": round(percentile(core, 95) / percentile(raw, 95), 2),
    }


def _sqlite_plan(rows: Sequence[Any]) -> list[str]:
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


async def explain(engine: AsyncEngine, sql: str, params: Any, *, driver: bool) -> list[str]:
    """The plan of a statement: driver-level SQL (captured from the core) or ``sa.text``."""
    if engine.dialect.name == "sqlite":
        prefix = "EXPLAIN QUERY PLAN "
    else:
        prefix = "EXPLAIN (ANALYZE, BUFFERS) "
    async with transaction(engine, write=False) as conn:
        if driver:
            rows = (await conn.exec_driver_sql(prefix + sql, params)).all()
        else:
            rows = (await conn.execute(sa.text(prefix + sql), params)).all()
    if engine.dialect.name == "sqlite":
        return _sqlite_plan(rows)
    return [row[0] for row in rows]


async def plans(
    engine: AsyncEngine, capture: Capture, principal: Principal, query: Query, seed: int
) -> dict[str, Any]:
    """The core's SQL and plan and the hand-written SQL and plan, for one variant."""
    v = query.make(random.Random(f"{seed}:{query.name}:plan"))
    capture.statements.clear()
    capture.on = True
    try:
        await run_core(engine, principal, v)
    finally:
        capture.on = False
    core_sql, core_params = capture.last_records_query()
    return {
        "params": {k: v for k, v in v.params.items() if k not in ("ws", "ot")},
        "core_sql": core_sql,
        "core_plan": await explain(engine, core_sql, core_params, driver=True),
        "raw_sql": v.sql,
        "raw_plan": await explain(engine, v.sql, v.params, driver=False),
    }


async def sample(engine: AsyncEngine, ws_id: int, seed: int) -> Sample:
    """Last names and emails of 500 stored contacts, picked by a seeded draw of ids."""
    async with transaction(engine, write=False) as conn:
        lo, hi = (
            await conn.execute(
                sa.select(sa.func.min(records.c.id), sa.func.max(records.c.id)).where(
                    records.c.workspace_id == ws_id
                )
            )
        ).one()
        rng = random.Random(seed)
        ids = [rng.randint(lo, hi) for _ in range(2000)]
        rows = (
            await conn.execute(
                sa.select(records.c.data)
                .where(records.c.workspace_id == ws_id, records.c.id.in_(ids))
                .order_by(records.c.id)
                .limit(500)
            )
        ).scalars()
        data = list(rows)
    return Sample([d["last_name"] for d in data], [d["email"] for d in data])


async def walk(
    engine: AsyncEngine, principal: Principal, sort: list[dict[str, str]]
) -> tuple[list[str], dict[str, Any]]:
    """Follow cursors to page 1,000; answer the cursors of the last pages and the timings."""
    cursors: list[str] = []
    cursor = None
    times = []
    for _ in range(WALK_PAGES - 1):
        t0 = time.perf_counter()
        async with transaction(engine, write=False) as conn:
            page = await find_records(
                conn, principal, "contact", RecordQuery(sort=sort, cursor=cursor)
            )
        times.append((time.perf_counter() - t0) * 1000)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        cursors.append(cursor)
    deepest = cursors[-DEEP_CURSORS:]
    return deepest, {
        "pages": len(times),
        "seconds": round(sum(times) / 1000, 2),
        "first_10_ms_mean": round(statistics.fmean(times[:10]), 2),
        "last_10_ms_mean": round(statistics.fmean(times[-10:]), 2),
    }


#: Deep-page queries and the page-1 query each is compared with.
COMPARE = {"page_1000_newest": "default_order", "page_1000_score": "sort_score_asc"}


def judge(result: dict[str, Any], by_name: dict[str, Any], side: str) -> str:
    """``ok``/``MISS`` for one side (``core`` or ``raw``) against the query's target.

    A deep page is judged by its p50 against page 1's; ``ok*`` marks a deep page within the
    ratio whose page 1 itself misses its target (a ratio that says nothing good).
    """
    compare_to = result.get("compare_to") or COMPARE.get(result["name"])
    if compare_to and result.get("max_ratio"):
        base = by_name[compare_to]
        ratio = result[side]["p50"] / base[side]["p50"]
        if ratio > result["max_ratio"]:
            return "MISS"
        return "ok*" if judge(base, by_name, side) == "MISS" else "ok"
    if result["target_ms"] is None:
        return "-"
    return "ok" if result[side]["p95"] <= result["target_ms"] else "MISS"


def apply_verdicts(results: list[dict[str, Any]]) -> None:
    """Set each result's verdicts (core and hand-written) and deep-page ratios, in place."""
    by_name = {r["name"]: r for r in results}
    for r in results:
        compare_to = r.get("compare_to") or COMPARE.get(r["name"])
        if compare_to and compare_to in by_name:
            base = by_name[compare_to]
            r["vs_page_1"] = {
                side: {
                    "page_1_p50": base[side]["p50"],
                    "ratio_p50": round(r[side]["p50"] / base[side]["p50"], 2),
                    "ratio_p95": round(r[side]["p95"] / base[side]["p95"], 2),
                }
                for side in ("core", "raw")
            }
        elif compare_to:
            continue
        r["verdict"] = judge(r, by_name, "core")
        r["hand_verdict"] = judge(r, by_name, "raw")


def table(results: list[dict[str, Any]]) -> str:
    """The results as a fixed-width text table (times in ms; core/hand is the p50 ratio)."""
    head = (
        f"{'query':<18} {'target':>10} {'core p50':>9} {'core p95':>9} {'hand p50':>9} "
        f"{'hand p95':>9} {'core/hand':>9} {'rows':>6} {'n':>4}  {'core':<5} {'hand':<5}"
    )
    lines = [head, "-" * (len(head) + 24)]
    for r in results:
        if r.get("max_ratio"):
            target = f"<={r['max_ratio']:g}x p1"
        elif r["target_ms"]:
            target = f"p95<={r['target_ms']:g}"
        else:
            target = "-"
        extra = ""
        if "vs_page_1" in r:
            ratios = r["vs_page_1"]
            extra = f"  p50 vs page 1: core {ratios['core']['ratio_p50']}x, "
            extra += f"hand {ratios['raw']['ratio_p50']}x"
        lines.append(
            f"{r['name']:<18} {target:>10} {r['core']['p50']:>9.2f} {r['core']['p95']:>9.2f} "
            f"{r['raw']['p50']:>9.2f} {r['raw']['p95']:>9.2f} {r['ratio_p50']:>9.2f} "
            f"{r['rows_mean']:>6g} {r['core']['n']:>4}  {r.get('verdict', '?'):<5} "
            f"{r.get('hand_verdict', '?'):<5}{extra}"
        )
    return "\n".join(lines)


def report(path: Path, *, write: bool) -> None:
    """Print the table of a results file, verdicts recomputed; with ``write``, store them."""
    doc = json.loads(path.read_text())
    apply_verdicts(doc["queries"])
    print(f"{doc['db']} at scale {doc['scale']:,} ({doc['date']})")
    print(table(doc["queries"]))
    print(f"load: {doc['load'].get('records_per_second', '?')} records/s")
    if write:
        path.write_text(json.dumps(doc, indent=2, default=str) + "\n")


async def prepare(engine: AsyncEngine, opts: Options) -> tuple[list[Any], dict[str, Any]]:
    """Workspaces ready to query: freshly loaded, or found from an earlier load."""
    if opts.reuse:
        workspaces = await loader.existing_workspaces(engine, opts.scale)
        previous = RESULTS / f"storage-{opts.db}-{opts.scale}.json"
        load = json.loads(previous.read_text())["load"] if previous.exists() else {}
        return workspaces, {**load, "reused": True}
    print(f"creating workspaces on {opts.url}")
    workspaces = await loader.create_workspaces(engine, opts.scale)
    stats = await loader.load(engine, workspaces, opts.seed)
    print("analyzing")
    stats.analyze_seconds = await loader.analyze(engine)
    return workspaces, {**asdict(stats), "records_per_second": round(stats.rate)}


async def time_queries(
    engine: AsyncEngine, capture: Capture, principal: Principal, opts: Options
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Walk the deep pages, then time every query (with verdicts) and record its plans."""
    async with transaction(engine, write=False) as conn:
        ot = (await metadata_for(conn, principal)).object("contact").id
    constants = await sample(engine, principal.workspace_id, opts.seed)
    print("walking cursors to page 1,000")
    newest, walk_newest = await walk(engine, principal, [])
    by_score, walk_score = await walk(engine, principal, [{"field": "score"}])
    queries = build(
        engine.dialect.name,
        principal.workspace_id,
        ot,
        constants,
        {"newest": newest, "score": by_score},
    )
    if opts.only:
        queries = [q for q in queries if q.name in opts.only or q.name in _bases(opts.only)]
    results: list[dict[str, Any]] = []
    for query in queries:
        print(f"  {query.name} ...", flush=True)
        result = await measure(engine, principal, query, opts)
        result.update(
            name=query.name,
            description=query.description,
            target_ms=query.target_ms,
            max_ratio=query.max_ratio,
            compare_to=query.compare_to,
        )
        result["plan"] = await plans(engine, capture, principal, query, opts.seed)
        results.append(result)
    apply_verdicts(results)
    return results, {"newest": walk_newest, "score_asc": walk_score}


async def described(engine: AsyncEngine, benchmark: str, opts: Options) -> dict[str, Any]:
    """The head of a results file: what ran, when, on which machine and database."""
    return {
        "benchmark": benchmark,
        "db": opts.db,
        "scale": opts.scale,
        "seed": opts.seed,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.machine(),
        "database": {
            **await machine.database(engine),
            "size": await loader.database_size(engine),
        },
    }


async def main(opts: Options) -> dict[str, Any]:
    """Run the storage benchmark; write and answer its results."""
    engine = make_engine(opts.url, pool_size=2)
    capture = Capture(engine)
    try:
        workspaces, load = await prepare(engine, opts)
        principal = workspaces[0].principal
        assert principal is not None
        results, walks = await time_queries(engine, capture, principal, opts)
        out = {
            **await described(engine, "storage", opts),
            "workspaces": [
                {"id": ws.id, "subdomain": ws.subdomain, "records": ws.size} for ws in workspaces
            ],
            "load": load,
            "walks": walks,
            "queries": results,
        }
    finally:
        await engine.dispose()
    print()
    print(table(results))
    print(f"\nload: {load.get('records_per_second', '?')} records/s; walks: {out['walks']}")
    RESULTS.mkdir(exist_ok=True)
    name = f"storage-{opts.db}-{opts.scale}.json"
    if opts.only:
        name = f"storage-{opts.db}-{opts.scale}-partial.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"wrote {RESULTS / name}")
    return out


def _bases(names: list[str]) -> list[str]:
    """Deep-page queries need their page-1 query measured too."""
    return [
        {"page_1000_newest": "default_order", "page_1000_score": "sort_score_asc"}.get(n, n)
        for n in names
    ]
