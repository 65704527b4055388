"""``docs/benchmarks.md``, generated from the suite's results (``results/run-<db>-<N>.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
DOC = Path(__file__).parent.parent / "docs" / "benchmarks.md"
DBS = ("sqlite", "postgresql")
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def latest(scale: int, folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """The results of each database at ``scale`` found in ``folder``."""
    out = {}
    for db in DBS:
        path = folder / f"run-{db}-{scale}.json"
        if path.exists():
            out[db] = json.loads(path.read_text())
    return out


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows), ""]


def _n(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def _verdict(v: dict[str, Any] | None) -> str:
    """A target's cell: the figure, the database's own goal if it has one, the verdict."""
    if v is None:
        return "-"
    measured = v["measured"]
    shown = f"{measured:.3f}" if isinstance(measured, float) and measured < 1 else _n(measured)
    goal = f" ({v['goal']})" if "goal" in v else ""
    return f"{shown}{goal} {'met' if v['met'] else 'falls short'}"


def _verdicts(runs: dict[str, dict[str, Any]]) -> list[str]:
    dbs = list(runs)
    by_target: dict[str, dict[str, dict[str, Any]]] = {}
    for db, run in runs.items():
        for v in run["verdicts"]:
            by_target.setdefault(v["target"], {})[db] = v
    rows = []
    for target, found in by_target.items():
        cells = [target]
        for db in dbs:
            cells.append(_verdict(found.get(db)))
        rows.append(cells)
    return _table(["target", *(NAMES[d] for d in dbs)], rows)


def _http(run: dict[str, Any]) -> list[str]:
    h = run["http"]
    lines = [
        f"{h['connections']} connections, {h['wrk_threads']} wrk threads, {h['seconds']:g} s "
        f"per figure after a {h.get('warm_up', 2):g} s warm-up; `crm serve --workers "
        f"{h['workers']}` and the bare endpoint under `uvicorn --workers {h['workers']}`.",
        "",
    ]
    rows = []
    for e in h["endpoints"]:
        ours, bare = e["crm"], e["bare"]
        rows.append(
            [
                _request(e),
                _n(ours["rps"]),
                _n(ours["p50_ms"]),
                _n(ours["p99_ms"]),
                _n(bare["rps"]),
                _n(bare["p50_ms"]),
                _ratio(e),
                ours["errors"] + bare["errors"],
            ]
        )
    head = ["request", "req/s", "p50 ms", "p99 ms", "bare req/s", "bare p50 ms", "ratio", "errors"]
    return lines + _table(head, rows)


def _request(e: dict[str, Any]) -> str:
    return f"{e['what']} (`{e['name']}`)" if "what" in e else f"{e['method']} {e['name']}"


def _ratio(e: dict[str, Any]) -> str:
    return "-" if e["ratio"] is None else f"{e['ratio']:.3f}"


def _workers(run: dict[str, Any]) -> list[str]:
    """Each request's figures at every worker count of the run, side by side."""
    sections = [run["http"], *run.get("http_more_workers", [])]
    if len(sections) < 2:
        return []
    head = ["request"]
    for h in sections:
        w = h["workers"]
        head += [f"req/s, {w} w.", f"bare req/s, {w} w.", f"ratio, {w} w."]
    rows = []
    for at_each in zip(*(h["endpoints"] for h in sections), strict=True):
        row = [_request(at_each[0])]
        for e in at_each:
            row += [_n(e["crm"]["rps"]), _n(e["bare"]["rps"]), _ratio(e)]
        rows.append(row)
    counts = " and ".join(str(h["workers"]) for h in sections)
    lines = [
        f"#### {counts} server processes",
        "",
        f"The same requests with `crm serve --workers N` and the bare endpoint under "
        f"`uvicorn --workers N`, for N = {counts} (w.).",
        "",
    ]
    return lines + _table(head, rows)


def _head_of_line(run: dict[str, Any]) -> list[str]:
    """Point reads alone and beside the slowest searches."""
    if "head_of_line" not in run:
        return []
    h = run["head_of_line"]
    slow = h["slow"]
    lines = [
        "#### Point reads beside slow searches",
        "",
        f"wrk reads one contact at a time through the native API over {h['connections']} "
        f"connections for {h['seconds']:g} s (`crm serve --workers {h['workers']}`), alone, "
        f"then while another process keeps {slow['connections']} connections busy with the "
        f"slowest searches ({', '.join(f'`{q}`' for q in h['slow_queries'])}, as HTTP list "
        f"and search requests). Target: p99 <= {h['p99_target_ms']:g} ms beside the searches.",
        "",
    ]
    rows = [
        [label, _n(r["rps"]), _n(r["p50_ms"]), _n(r["p99_ms"]), r["errors"]]
        for label, r in (("point reads alone", h["alone"]), ("beside", h["beside_slow"]))
    ]
    rows.append(
        [
            f"the slow searches ({slow['searches']:,} done)",
            _n(slow["per_s"]),
            _n(slow["p50_ms"]),
            _n(slow["p99_ms"]),
            slow["errors"],
        ]
    )
    return lines + _table(["requests", "req/s", "p50 ms", "p99 ms", "errors"], rows)


def _anatomy(run: dict[str, Any]) -> list[str]:
    if "anatomy" not in run:
        return []
    lines = [
        "#### A point read, layer by layer",
        "",
        "Sequential calls in one process, no network (`bench/anatomy.py`); µs per call.",
        "",
    ]
    return lines + _table(["step", "µs"], [[a["step"], _n(a["us"])] for a in run["anatomy"]])


def _queries(run: dict[str, Any]) -> list[str]:
    rows = []
    for q in run["queries"]:
        rows.append(
            [
                q["name"],
                _n(q["core"]["p50"]),
                _n(q["core"]["p95"]),
                _n(q["raw"]["p50"]),
                _n(q["raw"]["p95"]),
                _n(q["ratio_p50"]),
                q.get("verdict", "-"),
            ]
        )
    head = ["query", "p50 ms", "p95 ms", "by hand p50", "by hand p95", "ratio p50", "verdict"]
    return _table(head, rows)


def _writes(run: dict[str, Any]) -> list[str]:
    load, bulk, imp = run["load"], run["bulk_intake"], run["csv_import"]
    mem = run["http"]["memory"]
    return _table(
        ["measure", "figure"],
        [
            [
                "load through `bulk_create` (1,000 per transaction)",
                f"{_n(load['records_per_second'])} records/s",
            ],
            [
                f"Leadflip bulk intake ({bulk['batch']:,} per request, {bulk['batches']} requests)",
                f"{_n(bulk['leads_per_s'])} leads/s",
            ],
            [
                f"CSV import of {imp['rows']:,} rows ({imp['file_mb']} MB)",
                f"{_n(imp['rows_per_s'])} rows/s",
            ],
            ["CSV import: worker peak RSS", f"{imp['worker_peak_rss_mb']} MB"],
            ["server RSS idle", f"{mem['idle_mb']} MB"],
            ["server RSS peak under the HTTP load", f"{mem['peak_mb']} MB"],
            ["server RSS peak during bulk intake", f"{bulk['server_peak_mb']} MB"],
        ],
    )


def markdown(runs: dict[str, dict[str, Any]]) -> str:
    """The whole page for one scale's runs."""
    first = next(iter(runs.values()))
    m = first["machine"]
    out = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench docs` from `bench/results/run-<db>-<scale>.json`, the",
        f"results of `python -m bench run --db sqlite|postgresql --scale {first['scale']}`",
        "(see `bench/README.md`). What limits the figures that fall short of their targets,",
        "and what would meet them: `docs/adr/0004-performance.md`, `docs/adr/0008-request-path.md`",
        "(the request path) and `docs/adr/0009-search-plans.md` (searches).",
        "",
        f"- Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB, {m['os']}. The load",
        "  generator, the server, the worker and the database share these cores; nothing is",
        "  pinned.",
        f"- Python {m['python']}, SQLAlchemy {m['sqlalchemy']}, FastAPI {m.get('fastapi')}, "
        f"Starlette {m.get('starlette')}, uvicorn {m.get('uvicorn')}, "
        f"asyncpg {m['asyncpg']}, {m.get('wrk', 'wrk')}.",
    ]
    for db, run in runs.items():
        d = run["database"]
        out.append(
            f"- {NAMES[db]} {d['version']}: run of {run['date']}, {run['seconds'] / 60:.0f} min, "
            f"database {d['size'].get('file_mb') or d['size'].get('database_mb')} MB."
        )
    out += [
        "",
        f"Data: one workspace of {first['scale']:,} contacts and ten of "
        f"{first['scale'] // 100:,}, with three custom fields (text, number, date) and tags.",
        "",
        "## Targets",
        "",
        *_verdicts(runs),
    ]
    for db, run in runs.items():
        out += [
            f"## {NAMES[db]}",
            "",
            "### HTTP",
            "",
            *_http(run),
            *_workers(run),
            *_head_of_line(run),
            *_anatomy(run),
            f"### Queries at {run['scale']:,} records (first page of 50, ms)",
            "",
            "Through the core, and the same query written by hand against the same driver;",
            "ratio = core p50 / by-hand p50.",
            "",
            *_queries(run),
            "### Writes in bulk, memory",
            "",
            *_writes(run),
        ]
    return "\n".join(out).rstrip() + "\n"


def write_doc(scale: int, folder: Path = RESULTS, doc: Path = DOC) -> Path:
    """Write ``doc`` (``docs/benchmarks.md``) from the results at ``scale`` in ``folder``."""
    runs = latest(scale, folder)
    if not runs:
        raise SystemExit(f"no results at scale {scale} in {folder}")
    doc.write_text(markdown(runs))
    return doc
