"""Command line: ``python -m bench run --db sqlite|postgresql --scale N`` runs the whole suite.

``python -m bench docs`` writes ``docs/benchmarks.md`` from the results of full runs.
``python -m bench storage|experiments --db sqlite|postgresql --scale N`` time the storage.

``python -m bench report FILE`` prints the table of a results file.

``storage`` loads a fresh database (or, with ``--reuse``, queries an earlier load) and times
the record queries; ``experiments`` tries other indexes and query shapes on that database.
``intake --db sqlite|postgresql`` measures lead intake through the Leadflip face;
``import --db sqlite|postgresql --rows N`` measures CSV imports by a worker process;
``limits --db sqlite|postgresql`` what the rate limits cost a request;
``automation --db sqlite|postgresql`` events through a workflow of three steps;
``webhooks --db sqlite|postgresql`` webhook deliveries per second and their lag.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bench import (
    automation,
    experiments,
    imports,
    intake,
    limits,
    load,
    report,
    run,
    storage,
    webhooks,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    ru = _loaded(sub, "run", "the whole suite: load, HTTP, queries, bulk writes, memory", 50)
    ru.add_argument("--budget", type=float, default=30.0, help="seconds per query at most")
    ru.add_argument("--seconds", type=float, default=10.0, help="wrk's duration per figure")
    ru.add_argument(
        "--workers",
        type=_counts,
        default=[1, 2],
        help="server processes (crm serve), one HTTP section per count: 1,2",
    )
    ru.add_argument("--bulk-requests", type=int, default=10, help="bulk intake requests")
    ru.add_argument("--out", type=Path, default=run.RESULTS, help="folder for the results")
    ru.add_argument("--docs", action="store_true", help="then rewrite docs/benchmarks.md")
    dc = sub.add_parser("docs", help="write docs/benchmarks.md from the results of full runs")
    dc.add_argument("--scale", type=int, default=1_000_000)
    dc.add_argument("--results", type=Path, default=report.RESULTS, help="folder of results")
    dc.add_argument("--to", type=Path, default=report.DOC, help="the page to write")
    st = _loaded(sub, "storage", "records storage at scale: load, then time queries", 100)
    st.add_argument(
        "--budget", type=float, default=60.0, help="seconds per query before stopping early"
    )
    st.add_argument(
        "--reuse", action="store_true", help="query an earlier load instead of reloading"
    )
    st.add_argument("--only", nargs="*", help="run only these queries")
    ex = sub.add_parser("experiments", help="alternative indexes and queries on a loaded db")
    ex.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    ex.add_argument("--scale", type=int, default=50_000)
    ex.add_argument("--seed", type=int, default=42)
    ex.add_argument("--url")
    ex.add_argument("--reps", type=int, default=50)
    ex.add_argument("--only", nargs="*", help="run only these experiments")
    it = sub.add_parser("intake", help="lead intake and bulk intake throughput (leads/s)")
    it.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    it.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_intake)")
    it.add_argument("--existing", type=int, default=100_000, help="leads loaded beforehand")
    it.add_argument("--singles", type=int, default=2_000, help="single JSON intakes timed")
    it.add_argument("--seed", type=int, default=42)
    im = sub.add_parser("import", help="CSV import throughput (rows/s) and worker memory")
    im.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    im.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_import)")
    im.add_argument("--rows", type=int, default=1_000_000, help="rows of the larger file")
    im.add_argument("--seed", type=int, default=42)
    li = sub.add_parser("limits", help="what the rate limits cost a request")
    li.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    li.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_limits)")
    li.add_argument("--calls", type=int, default=2000, help="calls timed per figure")
    au = sub.add_parser("automation", help="events through a workflow of three steps")
    au.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    au.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_automation)")
    au.add_argument("--records", type=int, default=5000, help="leads made, one event each")
    wh = sub.add_parser("webhooks", help="webhook deliveries per second, and their lag")
    wh.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    wh.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_webhooks)")
    wh.add_argument("--events", type=int, default=2000, help="messages timed per figure")
    wh.add_argument("--rate", type=float, default=50.0, help="changes per second for the lag")
    wh.add_argument("--seconds", type=float, default=10.0, help="how long the lag is measured")
    rp = sub.add_parser("report", help="print the table of a results file")
    rp.add_argument("path", type=Path)
    rp.add_argument("--write", action="store_true", help="store the recomputed verdicts")
    args = parser.parse_args()
    if args.benchmark == "run":
        url = args.url or load.default_url(args.db, args.scale)
        run.run(
            run.Options(
                storage=_storage_options(args, url),
                seconds=args.seconds,
                workers=args.workers,
                bulk_requests=args.bulk_requests,
                out=args.out,
            )
        )
        if args.docs:
            print(f"wrote {report.write_doc(args.scale, args.out)}")
        return
    if args.benchmark == "docs":
        print(f"wrote {report.write_doc(args.scale, args.results, args.to)}")
        return
    if args.benchmark == "report":
        storage.report(args.path, write=args.write)
        return
    if args.benchmark == "import":
        url = args.url or imports.default_url(args.db)
        load.reset_database(url)
        asyncio.run(imports.main(imports.Options(args.db, url, args.rows, args.seed)))
        return
    if args.benchmark == "automation":
        url = args.url or automation.default_url(args.db)
        automation.run(automation.Options(url, args.records))
        return
    if args.benchmark == "limits":
        limits.run(limits.Options(args.url or limits.default_url(args.db), args.calls))
        return
    if args.benchmark == "webhooks":
        url = args.url or webhooks.default_url(args.db)
        load.reset_database(url)
        webhooks.main(webhooks.Options(args.db, url, args.events, args.rate, args.seconds))
        return
    if args.benchmark == "intake":
        url = args.url or load.default_url(args.db, 0).replace("-0", "-intake").replace(
            "_0", "_intake"
        )
        opts = intake.Options(args.db, url, args.existing, args.singles, args.seed)
        load.reset_database(url)
        asyncio.run(intake.main(opts))
        return
    url = args.url or load.default_url(args.db, args.scale)
    if args.benchmark == "experiments":
        asyncio.run(experiments.main(args.db, args.scale, args.seed, url, args.reps, args.only))
        return
    if not args.reuse:
        load.reset_database(url)
    asyncio.run(storage.main(_storage_options(args, url)))


def _loaded(sub: Any, name: str, help_: str, reps: int) -> argparse.ArgumentParser:
    """A command working on a database loaded at a scale."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--scale", type=int, default=50_000, help="contacts in the main workspace")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_<scale>)")
    parser.add_argument("--reps", type=int, default=reps, help="repetitions per query and side")
    return parser


def _counts(text: str) -> list[int]:
    """Worker counts written ``1,2``."""
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not worker counts: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"not worker counts: {text!r}")
    return counts


def _storage_options(args: argparse.Namespace, url: str) -> storage.Options:
    return storage.Options(
        db=args.db,
        scale=args.scale,
        seed=args.seed,
        url=url,
        reps=args.reps,
        budget=args.budget,
        reuse=getattr(args, "reuse", False),
        only=getattr(args, "only", None),
    )


if __name__ == "__main__":
    main()
