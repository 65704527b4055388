"""Command line: ``python -m bench storage|experiments --db sqlite|postgresql --scale N``.

``python -m bench report FILE`` prints the table of a results file.

``storage`` loads a fresh database (or, with ``--reuse``, queries an earlier load) and times
the record queries; ``experiments`` tries other indexes and query shapes on that database.
``intake --db sqlite|postgresql`` measures lead intake through the Leadflip face;
``import --db sqlite|postgresql --rows N`` measures CSV imports by a worker process.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench import experiments, imports, intake, load, storage


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    st = sub.add_parser("storage", help="records storage at scale: load, then time queries")
    st.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    st.add_argument("--scale", type=int, default=50_000, help="records in the main workspace")
    st.add_argument("--seed", type=int, default=42)
    st.add_argument("--url", help="database URL (default: a /tmp file or crm_bench_<scale>)")
    st.add_argument("--reps", type=int, default=100, help="repetitions per query and side")
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
    rp = sub.add_parser("report", help="print the table of a results file")
    rp.add_argument("path", type=Path)
    rp.add_argument("--write", action="store_true", help="store the recomputed verdicts")
    args = parser.parse_args()
    if args.benchmark == "report":
        storage.report(args.path, write=args.write)
        return
    if args.benchmark == "import":
        url = args.url or imports.default_url(args.db)
        load.reset_database(url)
        asyncio.run(imports.main(imports.Options(args.db, url, args.rows, args.seed)))
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
    opts = storage.Options(
        db=args.db,
        scale=args.scale,
        seed=args.seed,
        url=url,
        reps=args.reps,
        budget=args.budget,
        reuse=args.reuse,
        only=args.only,
    )
    asyncio.run(storage.main(opts))


if __name__ == "__main__":
    main()
