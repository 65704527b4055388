"""The whole suite on one database: load, HTTP, queries, bulk writes and memory.

1. **Data**: a fresh database loaded through ``bulk_create`` (``load.py``).
2. **HTTP**: ``crm serve`` and the bare ASGI yardstick (``bare.py``) in turn, each under
   wrk at 64 connections (``served.py``), with the server's memory sampled, for each
   worker count asked for; point reads beside slow searches (``headofline.py``); then a
   point read's layers timed one by one (``anatomy.py``).
3. **Queries**: the storage benchmark's queries through the core and by hand.
4. **Bulk writes**: Leadflip bulk intake through ``crm serve``, then a CSV import of
   ``scale`` rows by a ``crm worker --once`` process into a workspace of its own.

Results go to ``results/run-<db>-<scale>.json``; ``report.py`` turns them into tables.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import anatomy, headofline, imports, intake, machine, served, storage
from bench import load as loader
from bench.load import BenchWorkspace
from crm.api.app import create_app
from crm.core.auth.service import create_api_key
from crm.core.ids import to_base32
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.schema import object_types, records
from crm.settings import Settings

RESULTS = Path(__file__).parent / "results"
#: Point reads rotate over this many contacts (and leads) of the main workspace.
READ_IDS = 1000
BULK_SIZE = 1000
#: wrk's warm-up before each figure, at most (shorter when the figures themselves are).
WARM_UP = 2.0
_READS = {"sqlite": 0.40, "postgresql": 0.15}
#: The minimum ratio of the CRM's requests/s to the bare endpoint's, per request and database.
RATIO_TARGETS = {
    "get_native": _READS,
    "get_flownally": _READS,
    "get_leadflip": _READS,
    "get_flexie": _READS,
    "list_first_page": {"sqlite": 0.15, "postgresql": 0.08},
    "list_flexie": {"sqlite": 0.15, "postgresql": 0.08},
    "create_native": {"sqlite": 0.08, "postgresql": 0.08},
}
BULK_TARGET = 5000.0
IMPORT_TARGET = 50_000.0
IMPORT_RSS_MB = 300.0
#: A created contact; wrk fills in its thread's number and request counter.
CREATE_BODY = (
    '{"fields": {"first_name": "Bench", "last_name": "Writer", '
    '"email": "writer-%d-%d@bench.example", "city": "Lisbon", "score": 42}}'
)


@dataclass
class Options:
    """The storage benchmark's options (database, scale, query repetitions) and the rest."""

    storage: storage.Options
    seconds: float
    #: ``crm serve --workers`` for each HTTP section; the first serves every other step.
    workers: list[int]
    bulk_requests: int
    out: Path

    @property
    def db(self) -> str:
        return self.storage.db

    @property
    def scale(self) -> int:
        return self.storage.scale

    @property
    def seed(self) -> int:
        return self.storage.seed

    @property
    def url(self) -> str:
        return self.storage.url


async def _owner_key(engine: AsyncEngine, ws: BenchWorkspace) -> str:
    async with transaction(engine, write=True) as conn:
        made = await create_api_key(conn, ws.id, user_id=ws.owner_id, role="owner", scopes=["*"])
    return str(made["api_key"])


async def _read_ids(engine: AsyncEngine, ws: BenchWorkspace) -> list[tuple[str, int]]:
    """UUIDs and numbers of contacts spread evenly over the main workspace (its leads left
    out)."""
    async with transaction(engine, write=False) as conn:
        contact = (
            await conn.execute(
                sa.select(object_types.c.id).where(
                    object_types.c.workspace_id == ws.id, object_types.c.key == "contact"
                )
            )
        ).scalar_one()
        rows = await conn.execute(
            sa.select(records.c.uuid, records.c.number)
            .where(records.c.workspace_id == ws.id, records.c.object_type_id == contact)
            .order_by(records.c.id)
        )
        found = [(str(r.uuid), int(r.number)) for r in rows]
    step = max(1, len(found) // READ_IDS)
    return found[::step][:READ_IDS]


def native_paths(ids: list[str]) -> list[str]:
    """Each contact's path in the native API."""
    return [f"/api/v1/objects/contact/records/{i}" for i in ids]


def _endpoints(contacts: list[tuple[str, int]], lead_ids: list[str]) -> list[dict[str, Any]]:
    """What the HTTP benchmark requests; ``pattern`` is how the bare endpoint routes it."""
    ids = [i for i, _ in contacts]
    flownally = [f"/flownally/v1/contacts/con_{to_base32(uuid.UUID(i))}" for i in ids]
    return [
        {
            "name": "get_native",
            "what": "GET one contact, native API",
            "method": "GET",
            "paths": native_paths(ids),
            "pattern": r"/api/v1/objects/contact/records/[^/]+",
        },
        {
            "name": "get_flownally",
            "what": "GET one contact, Flownally",
            "method": "GET",
            "paths": flownally,
            "pattern": r"/flownally/v1/contacts/con_[^/]+",
        },
        {
            "name": "get_leadflip",
            "what": "GET one lead with its recent events, Leadflip",
            "method": "GET",
            "paths": [f"/leadflip/api/leads/{i}" for i in lead_ids],
            "pattern": r"/leadflip/api/leads/[^/]+",
        },
        {
            "name": "get_flexie",
            "what": "GET one contact by its id, Flexie",
            "method": "GET",
            "paths": [f"/flexie/api/contacts/{n}" for _, n in contacts],
            "pattern": r"/flexie/api/contacts/[^/]+",
        },
        {
            "name": "create_native",
            "what": "POST one new contact, native API",
            "method": "POST",
            "paths": ["/api/v1/objects/contact/records"],
            "body": CREATE_BODY,
            "pattern": r"/api/v1/objects/contact/records",
        },
        {
            "name": "list_first_page",
            "what": "GET the first page of contacts (50, newest first)",
            "method": "GET",
            "paths": ["/api/v1/objects/contact/records"],
            "pattern": r"/api/v1/objects/contact/records",
        },
        {
            "name": "list_flexie",
            "what": "GET the first page of contacts with their total (30, by id), Flexie",
            "method": "GET",
            "paths": ["/flexie/api/contacts?limit=30"],
            "pattern": r"/flexie/api/contacts",
        },
    ]


def _record_answers(base: str, key: str, endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One real answer per endpoint, which the bare server will repeat byte for byte."""
    answers = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for e in endpoints:
            body = e.get("body")
            content = (body % (0, 0)).encode() if body else None
            answer = client.request(
                e["method"],
                e["paths"][0],
                content=content,
                headers={"content-type": "application/json"},
            )
            assert answer.status_code < 300, (e["name"], answer.status_code, answer.text[:300])
            answers.append(
                {
                    "method": e["method"],
                    "path": e["pattern"],
                    "status": answer.status_code,
                    "content_type": answer.headers["content-type"],
                    "body": answer.text,
                    "bytes": len(answer.content),
                }
            )
    return answers


def _load_each(
    server: served.Server, key: str, endpoints: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    out = {}
    for e in endpoints:

        def load(duration: float, e: dict[str, Any] = e) -> dict[str, Any]:
            return served.wrk(
                server.base,
                key=key,
                paths=e["paths"],
                seconds=duration,
                method=e["method"],
                body=e.get("body"),
            )

        server.settle()
        load(min(WARM_UP, seconds))
        server.settle()
        with server.sampled():
            out[e["name"]] = load(seconds)
        print(f"    {e['name']:18} {out[e['name']]['rps']:>9} req/s", flush=True)
    return out


def http(opts: Options, key: str, endpoints: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    """wrk against ``crm serve --workers N``, then against the bare endpoint under as many
    uvicorn workers; the ratios and memory."""
    port = served.free_port()
    print(f"  crm serve --workers {workers}")
    with served.serve(served.crm_command(opts.url, port, workers), served.UNLIMITED, port) as crm:
        answers = _record_answers(crm.base, key, endpoints)
        time.sleep(2)
        idle = crm.rss_mb()
        crm_runs = _load_each(crm, key, endpoints, opts.seconds)
        peak = crm.peak_mb
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(answers, f)
        f.flush()
        port = served.free_port()
        print(f"  bare ASGI endpoint, uvicorn --workers {workers}")
        command = served.bare_command(port, workers)
        with served.serve(command, {"BENCH_BARE_ANSWERS": f.name}, port) as bare:
            bare_runs = _load_each(bare, key, endpoints, opts.seconds)
    results = []
    for e, answer in zip(endpoints, answers, strict=True):
        ours, yard = crm_runs[e["name"]], bare_runs[e["name"]]
        results.append(
            {
                "name": e["name"],
                "what": e["what"],
                "method": e["method"],
                "path": e["paths"][0],
                "answer_bytes": answer["bytes"],
                "crm": ours,
                "bare": yard,
                "ratio": round(ours["rps"] / yard["rps"], 3) if yard["rps"] else None,
            }
        )
    return {
        "connections": served.CONNECTIONS,
        "wrk_threads": served.THREADS,
        "seconds": opts.seconds,
        "warm_up": min(WARM_UP, opts.seconds),
        "workers": workers,
        "endpoints": results,
        "memory": {"idle_mb": idle, "peak_mb": peak},
    }


def head_of_line(
    opts: Options, key: str, ids: list[str], slow: list[dict[str, Any]]
) -> dict[str, Any]:
    """Point reads through ``crm serve``, alone and beside slow searches."""
    port = served.free_port()
    workers = opts.workers[0]
    with served.serve(served.crm_command(opts.url, port, workers), served.UNLIMITED, port) as crm:
        paths = native_paths(ids)
        served.wrk(crm.base, key=key, paths=paths, seconds=min(WARM_UP, opts.seconds))
        found = headofline.measure(crm, key, paths, slow, opts.seconds)
    alone, beside, searches = found["alone"], found["beside_slow"], found["slow"]
    print(
        f"    alone {alone['rps']} req/s p99 {alone['p99_ms']} ms; beside the searches "
        f"{beside['rps']} req/s p99 {beside['p99_ms']} ms ({searches['per_s']} searches/s)"
    )
    return {**found, "workers": workers}


async def bulk_intake(opts: Options, key: str, leads: intake.Leads) -> dict[str, Any]:
    """Leadflip bulk intake through ``crm serve``: requests of 1,000 new leads in a row."""
    port = served.free_port()
    with served.serve(
        served.crm_command(opts.url, port, opts.workers[0]), served.UNLIMITED, port
    ) as crm:
        async with httpx.AsyncClient(
            base_url=crm.base, headers={"Authorization": f"Bearer {key}"}, timeout=600
        ) as client:
            await intake.bulk(client, leads, BULK_SIZE, 1, 0.0)
            with crm.sampled():
                found = await intake.bulk(client, leads, BULK_SIZE, opts.bulk_requests, 0.0)
        return {**found, "server_peak_mb": crm.peak_mb}


async def csv_import(engine: AsyncEngine, opts: Options) -> dict[str, Any]:
    """``scale`` rows uploaded to a workspace of their own and imported by a worker process."""
    async with transaction(engine, write=True) as conn:
        made = await create_workspace(conn, name="Import bench", subdomain="bench-import")
    path = Path(tempfile.gettempdir()) / f"crm-bench-run-import-{opts.scale}.csv"
    try:
        written = imports.write_csv(path, opts.scale, opts.seed)
        app = create_app(
            Settings(opts.url, inline_worker=False, rate_limit=0, auth_failures=0), engine
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers={"Authorization": f"Bearer {made['api_key']}"},
            timeout=3600,
        ) as client:
            return await imports.run_file(client, opts.url, path, written["bytes"])
    finally:
        path.unlink(missing_ok=True)


def verdicts(out: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the suite, the figure measured and whether it was met.

    A target whose figure differs between databases names it as ``goal``.
    """
    checks: list[dict[str, Any]] = []
    for e in out["http"]["endpoints"]:
        least = RATIO_TARGETS[e["name"]][out["db"]]
        checks.append(
            {
                "target": f"{e['name']}: share of the bare endpoint's req/s",
                "goal": f">= {least:.2f}",
                "measured": e["ratio"],
                "met": e["ratio"] is not None and e["ratio"] >= least,
            }
        )
    hol = out["head_of_line"]
    p99 = hol["beside_slow"]["p99_ms"]
    checks.append(
        {
            "target": f"{hol['connections']} connections of point reads beside "
            f"{hol['slow']['connections']} of slow searches: p99 <= {hol['p99_target_ms']:g} ms",
            "measured": p99,
            "met": p99 <= hol["p99_target_ms"],
        }
    )
    for q in out["queries"]:
        if q.get("verdict", "-") == "-":
            continue
        if "vs_page_1" in q:
            goal = f"p50 <= {q['max_ratio']:g}x page 1"
            measured = q["vs_page_1"]["core"]["ratio_p50"]
        else:
            goal, measured = f"p95 <= {q['target_ms']:g} ms", q["core"]["p95"]
        checks.append(
            {"target": f"{q['name']}: {goal}", "measured": measured, "met": q["verdict"] == "ok"}
        )
    bulk = out["bulk_intake"]["leads_per_s"]
    checks.append(
        {
            "target": f"bulk intake >= {BULK_TARGET:g} leads/s",
            "measured": bulk,
            "met": bulk >= BULK_TARGET,
        }
    )
    imp = out["csv_import"]
    checks.append(
        {
            "target": f"CSV import >= {IMPORT_TARGET:g} rows/s",
            "measured": imp["rows_per_s"],
            "met": imp["rows_per_s"] >= IMPORT_TARGET,
        }
    )
    checks.append(
        {
            "target": f"CSV import worker RSS < {IMPORT_RSS_MB:g} MB",
            "measured": imp["worker_peak_rss_mb"],
            "met": imp["worker_peak_rss_mb"] < IMPORT_RSS_MB,
        }
    )
    return checks


async def main(opts: Options) -> dict[str, Any]:
    """Run the suite on a fresh database; write and answer the results."""
    started = time.perf_counter()
    engine = make_engine(opts.url, pool_size=2)
    capture = storage.Capture(engine)
    try:
        print(f"1. loading {opts.scale:,} contacts (+ ten workspaces of {opts.scale // 100:,})")
        workspaces, load = await storage.prepare(engine, opts.storage)
        main_ws = workspaces[0]
        assert main_ws.principal is not None
        key = await _owner_key(engine, main_ws)
        ids = await _read_ids(engine, main_ws)
        leads = intake.Leads(opts.seed)
        lead_ids = await intake.prefill(engine, main_ws.owner_id, leads, READ_IDS)
        print("2. HTTP")
        endpoints = _endpoints(ids, lead_ids)
        webs = [http(opts, key, endpoints, w) for w in opts.workers]
        print(f"   point reads beside slow searches ({', '.join(headofline.SLOW_QUERIES)})")
        slow = await headofline.slow_requests(engine, main_ws.principal, opts.seed)
        hol = head_of_line(opts, key, [i for i, _ in ids], slow)
        print("   a point read, layer by layer")
        layers = await anatomy.measure(engine, opts.url, key, ids[len(ids) // 2][0])
        print("3. queries")
        results, walks = await storage.time_queries(
            engine, capture, main_ws.principal, opts.storage
        )
        print("4. bulk intake")
        bulk = await bulk_intake(opts, key, leads)
        print(f"    {bulk['leads_per_s']} leads/s")
        print(f"5. CSV import of {opts.scale:,} rows")
        imported = await csv_import(engine, opts)
        print(
            f"    {imported['rows_per_s']} rows/s, worker peak {imported['worker_peak_rss_mb']} MB"
        )
        out = {
            **await storage.described(engine, "run", opts.storage),
            "machine": machine.machine(),
            "options": {
                "reps": opts.storage.reps,
                "budget": opts.storage.budget,
                "seconds": opts.seconds,
                "workers": opts.workers,
                "bulk_requests": opts.bulk_requests,
            },
            "load": load,
            "http": webs[0],
            "http_more_workers": webs[1:],
            "head_of_line": hol,
            "anatomy": layers,
            "queries": results,
            "walks": walks,
            "bulk_intake": bulk,
            "csv_import": imported,
        }
    finally:
        await engine.dispose()
    out["verdicts"] = verdicts(out)
    out["seconds"] = round(time.perf_counter() - started, 1)
    opts.out.mkdir(parents=True, exist_ok=True)
    path = opts.out / f"run-{opts.db}-{opts.scale}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return out


def run(opts: Options) -> dict[str, Any]:
    """Make a fresh database and run the suite on it."""
    loader.reset_database(opts.url)
    return asyncio.run(main(opts))
