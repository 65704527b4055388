"""Experiments on a loaded benchmark database: other indexes and query shapes, timed.

``python -m bench experiments --db sqlite|postgresql --scale N`` runs, against the database
an earlier ``storage`` run loaded, each experiment that applies to the database: it times
the current query shape, applies the experiment's DDL (timed), times the alternatives,
records their plans, and drops what it created, so the database is left as it was.
Nothing here changes the product; these are candidates for the architecture decision.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import load as loader
from bench import machine
from bench.data import CITIES, ContactGenerator, Uniques
from bench.load import BenchWorkspace
from bench.names import SEGMENTS, STATUSES
from bench.queries import BASE, COLUMNS, Sample, Sql
from bench.storage import RESULTS, explain, percentile, sample
from crm.core.metadata.service import metadata_for
from crm.core.records.service import bulk_create
from crm.db.engine import make_engine, transaction

Params = Callable[[random.Random], dict[str, Any]]


@dataclass
class Alternative:
    """One way of asking: SQL over ``{BASE}`` with parameters drawn per repetition."""

    label: str
    sql: str
    params: Params
    after_setup: bool = True


@dataclass
class WriteProbe:
    """Load rate of ``bulk_create`` in a rolled-back transaction, after ``ddl`` in it."""

    label: str
    ddl: list[str] = field(default_factory=list)


@dataclass
class Experiment:
    name: str
    description: str
    dialect: str
    alternatives: list[Alternative]
    setup: list[str] = field(default_factory=list)
    teardown: list[str] = field(default_factory=list)
    writes: list[WriteProbe] = field(default_factory=list)
    #: Run before the first measurements (undone by ``teardown``).
    prepare: list[str] = field(default_factory=list)


#: rx_ indexes of standard fields that contacts do not have: every contact still has an
#: entry (NULL) in each, because the indexes are shared by all object types.
FOREIGN_INDEXES = (
    "rx_name",
    "rx_amount",
    "rx_stage",
    "rx_close_date",
    "rx_identifier",
    "rx_due_date",
)
PROBE_CHUNKS = 5
PROBE_ROUNDS = 3


def _page(where: str, order: str = "id DESC") -> str:
    return f"SELECT {COLUMNS} FROM records WHERE {BASE}{where} ORDER BY {order} LIMIT 51"  # noqa: S608


FTS_TRIGGERS = [
    "CREATE TRIGGER records_fts_ai AFTER INSERT ON records BEGIN "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER records_fts_ad AFTER DELETE ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER records_fts_au AFTER UPDATE OF search_text ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def _write_amplification(teardown: list[str] | None = None) -> Experiment:
    """Rolled-back inserts leave dead tuples on PostgreSQL: ``teardown`` vacuums them."""
    return Experiment(
        "shared_rx_indexes_write_cost",
        "bulk_create with all rx_ indexes vs without those of fields contacts lack",
        "any",
        [],
        writes=[
            WriteProbe("bulk_create, all 21 indexes (current)"),
            WriteProbe(
                f"bulk_create, {len(FOREIGN_INDEXES)} foreign rx_ indexes dropped",
                [f"DROP INDEX {name}" for name in FOREIGN_INDEXES],
            ),
        ],
        teardown=teardown or [],
    )


def _values_trigram_write_cost(drop: list[str], teardown: list[str]) -> Experiment:
    """bulk_create with the values trigram index of migration 0013 and without it."""
    return Experiment(
        "values_trigram_write_cost",
        "bulk_create with the values trigram index (0013) vs without it",
        "any",
        [],
        writes=[
            WriteProbe("bulk_create with the values trigram index (current)"),
            WriteProbe("bulk_create without the values trigram index", drop),
        ],
        teardown=teardown,
    )


#: A row-level insert trigger keeping ``record_counts``, as migration 0021 could have made
#: it on PostgreSQL instead of its statement-level one.
PG_ROW_COUNTS = [
    "DROP TRIGGER record_counts_ai ON records",
    "CREATE FUNCTION bench_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO record_counts (workspace_id, object_type_id, slot, live) "
    "SELECT NEW.workspace_id, NEW.object_type_id, pg_backend_pid() % 16, 1 "
    "WHERE NEW.deleted_at IS NULL AND NEW.archived_at IS NULL "
    "ON CONFLICT (workspace_id, object_type_id, slot) "
    "DO UPDATE SET live = record_counts.live + excluded.live; RETURN NULL; END $$",
    "CREATE TRIGGER record_counts_ai AFTER INSERT ON records FOR EACH ROW "
    "EXECUTE FUNCTION bench_count_inserted()",
]


def _record_counts_write_cost(dialect: str) -> Experiment:
    """bulk_create with the triggers of ``record_counts`` (0021), without them, and on
    PostgreSQL with a row-level insert trigger in place of the statement-level one."""
    drop = "DROP TRIGGER record_counts_ai" + (" ON records" if dialect == "postgresql" else "")
    row = [WriteProbe("bulk_create, row-level insert trigger", PG_ROW_COUNTS)]
    return Experiment(
        "record_counts_write_cost",
        "bulk_create with the record count triggers (0021) vs without them",
        "any",
        [],
        writes=[
            WriteProbe("bulk_create with the record count triggers (current)"),
            *(row if dialect == "postgresql" else []),
            WriteProbe("bulk_create without the record count triggers", [drop]),
        ],
        teardown=["VACUUM (ANALYZE) records"] if dialect == "postgresql" else [],
    )


def _sqlite(sample_: Sample) -> list[Experiment]:
    s = Sql("sqlite")
    score, city = s.field("score"), s.field("city")

    def fragment(kind: str) -> Params:
        def make(rng: random.Random) -> dict[str, Any]:
            q = sample_.name_fragment(rng) if kind == "name" else sample_.email_fragment(rng)
            return {"p": f"%{q}%", "m": '"' + q.replace('"', '""') + '"'}

        return make

    search = []
    for kind in ("name", "email"):
        search += [
            Alternative(
                f"{kind}: LIKE scan (current)",
                _page(" AND search_text LIKE :p"),
                fragment(kind),
            ),
            Alternative(
                f"{kind}: FTS5 trigram MATCH",
                _page(" AND id IN (SELECT rowid FROM records_fts WHERE records_fts MATCH :m)"),
                fragment(kind),
            ),
            Alternative(
                f"{kind}: FTS5 trigram LIKE",
                _page(" AND id IN (SELECT rowid FROM records_fts WHERE search_text LIKE :p)"),
                fragment(kind),
            ),
        ]

    def score_range(rng: random.Random) -> dict[str, Any]:
        lo = rng.randrange(200, 780)
        return {"lo": lo, "hi": lo + 20}

    def city_value(rng: random.Random) -> dict[str, Any]:
        return {"c": rng.choice(CITIES)}

    count_sql = f"SELECT count(*) FROM records WHERE {BASE} AND {city} = :c"  # noqa: S608
    return [
        Experiment(
            "sqlite_fts5_trigram",
            "q through an external-content FTS5 table with the trigram tokenizer",
            "sqlite",
            search,
            setup=[
                "CREATE VIRTUAL TABLE records_fts USING fts5(search_text, content='records', "
                "content_rowid='id', tokenize='trigram')",
                "INSERT INTO records_fts(records_fts) VALUES ('rebuild')",
            ],
            teardown=[
                *(f"DROP TRIGGER IF EXISTS records_fts_{t}" for t in ("ai", "ad", "au")),
                "DROP TABLE IF EXISTS records_fts",
            ],
            writes=[
                WriteProbe("bulk_create without FTS5 (current)"),
                WriteProbe("bulk_create with FTS5 sync triggers", FTS_TRIGGERS),
            ],
        ),
        Experiment(
            "sqlite_range_then_sort",
            "score range, newest first: range on rx_score + sort vs newest-first scan + filter",
            "sqlite",
            [
                Alternative(
                    "rx_score range, temp b-tree sort (current plan)",
                    _page(f" AND {score} >= :lo AND {score} <= :hi"),
                    score_range,
                ),
                Alternative(
                    "ix_records_listing newest first, filter (unary + disables rx_score)",
                    _page(f" AND +{score} >= :lo AND +{score} <= :hi"),
                    score_range,
                ),
            ],
        ),
        Experiment(
            "sqlite_count_live_index",
            "count where city = X: rx_city vs an index whose predicate also has archived_at",
            "sqlite",
            [
                Alternative(
                    "rx_city (current; INDEXED BY)",
                    count_sql.replace("FROM records", "FROM records INDEXED BY rx_city"),
                    city_value,
                ),
                Alternative(
                    "rx_city_live (deleted_at and archived_at IS NULL)", count_sql, city_value
                ),
            ],
            setup=[
                f"CREATE INDEX rx_city_live ON records (workspace_id, object_type_id, ({city}), "
                "id) WHERE deleted_at IS NULL AND archived_at IS NULL"
            ],
            teardown=["DROP INDEX IF EXISTS rx_city_live"],
        ),
        _write_amplification(),
        _values_trigram_write_cost(["DROP TRIGGER records_values_fts_ai"], []),
        _record_counts_write_cost("sqlite"),
    ]


def _postgresql(sample_: Sample, database: str) -> list[Experiment]:
    s = Sql("postgresql")
    city, segment, score, status = (s.field(k) for k in ("city", "segment", "score", "status"))
    keys = ("city", "segment", "score", "status")
    custom = f'ALTER DATABASE "{database}" SET plan_cache_mode = force_custom_plan'
    reset = f'ALTER DATABASE "{database}" RESET plan_cache_mode'

    def score_range(rng: random.Random) -> dict[str, Any]:
        lo = rng.randrange(200, 780)
        return {"lo": s.value(lo), "hi": s.value(lo + 20)}

    def and_or(rng: random.Random) -> dict[str, Any]:
        return {
            "st": s.value(rng.choice(STATUSES)),
            "c": s.value(rng.choice(CITIES)),
            "g": s.value(rng.choice(SEGMENTS)),
        }

    def seg(rng: random.Random) -> dict[str, Any]:
        return {"g": s.value(rng.choice(SEGMENTS))}

    def name(rng: random.Random) -> dict[str, Any]:
        return {"p": f"%{sample_.name_fragment(rng)}%"}

    queries: list[tuple[str, str, Params]] = [
        (
            "range_score",
            _page(f" AND {score} >= {s.bind('lo')} AND {score} <= {s.bind('hi')}"),
            score_range,
        ),
        (
            "and_or",
            _page(
                f" AND {status} = {s.bind('st')} AND ({city} = {s.bind('c')} "
                f"OR {segment} = {s.bind('g')})"
            ),
            and_or,
        ),
        ("eq_segment", _page(f" AND {segment} = {s.bind('g')}"), seg),
        ("q_last_name", _page(" AND search_text LIKE :p"), name),
    ]

    def pairs(before: str, after: str) -> list[Alternative]:
        out = []
        for label, sql, params in queries:
            out += [
                Alternative(f"{label}: {before}", sql, params, after_setup=False),
                Alternative(f"{label}: {after}", sql, params),
            ]
        return out

    return [
        Experiment(
            "pg_custom_plans",
            "asyncpg prepares statements; after 5 runs PostgreSQL may switch to a generic plan",
            "postgresql",
            pairs("default plan_cache_mode (current)", "plan_cache_mode = force_custom_plan"),
            setup=[custom],
            teardown=[reset],
        ),
        Experiment(
            "pg_expression_statistics",
            "statistics for data->'key' (partial rx_ indexes give the planner none); "
            "custom plans in both arms",
            "postgresql",
            pairs("custom plans, no expression statistics", "custom plans + CREATE STATISTICS"),
            prepare=[custom],
            setup=[
                f"CREATE STATISTICS bench_st_{k} ON ((data -> '{k}')) FROM records" for k in keys
            ]
            + ["ANALYZE records"],
            teardown=[f"DROP STATISTICS IF EXISTS bench_st_{k}" for k in keys]
            + ["ANALYZE records", reset],
        ),
        _write_amplification(["VACUUM (ANALYZE) records"]),
        _values_trigram_write_cost(["DROP INDEX ix_records_values"], ["VACUUM (ANALYZE) records"]),
        _record_counts_write_cost("postgresql"),
    ]


async def _run(engine: AsyncEngine, sql: str, params: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    async with transaction(engine, write=False) as conn:
        (await conn.execute(sa.text(sql), params)).all()
    return (time.perf_counter() - t0) * 1000


async def _ddl(engine: AsyncEngine, statements: list[str]) -> float:
    """Run DDL (autocommit on PostgreSQL, for VACUUM); new connections see its settings."""
    t0 = time.perf_counter()
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await conn.exec_driver_sql(statement)
        await conn.commit()
    await engine.dispose()
    return time.perf_counter() - t0


async def _measure(
    engine: AsyncEngine, alts: list[Alternative], base: dict[str, Any], reps: int, seed: int
) -> list[dict[str, Any]]:
    """Time alternatives in interleaved rounds (after 3 warm-up runs each), then plan them."""
    rngs = [random.Random(f"{seed}:{alt.label}") for alt in alts]
    for alt, rng in zip(alts, rngs, strict=True):
        for _ in range(3):
            await _run(engine, alt.sql, {**base, **alt.params(rng)})
    times: list[list[float]] = [[] for _ in alts]
    for _ in range(reps):
        for i, (alt, rng) in enumerate(zip(alts, rngs, strict=True)):
            times[i].append(await _run(engine, alt.sql, {**base, **alt.params(rng)}))
    out = []
    for alt, samples in zip(alts, times, strict=True):
        first = {**base, **alt.params(random.Random(f"{seed}:plan"))}
        out.append(
            {
                "label": alt.label,
                "sql": alt.sql,
                "n": reps,
                "p50": round(percentile(samples, 50), 3),
                "p95": round(percentile(samples, 95), 3),
                "mean": round(statistics.fmean(samples), 3),
                "plan_params": {k: v for k, v in first.items() if k not in ("ws", "ot")},
                "plan": await explain(engine, alt.sql, first, driver=False),
            }
        )
    return out


async def _probe_once(
    engine: AsyncEngine, ws: BenchWorkspace, ddl: list[str], chunks: list[list[Any]]
) -> float:
    """Seconds ``bulk_create`` takes for ``chunks`` after ``ddl``, all rolled back."""
    assert ws.principal is not None
    async with engine.connect() as conn:
        await conn.execution_options(crm_write=True)
        trans = await conn.begin()
        try:
            for statement in ddl:
                await conn.exec_driver_sql(statement)
            t0 = time.perf_counter()
            for items in chunks:
                await bulk_create(conn, ws.principal, "contact", items)
            return time.perf_counter() - t0
        finally:
            await trans.rollback()


async def _probes(
    engine: AsyncEngine, ws: BenchWorkspace, probes: list[WriteProbe], seed: int
) -> list[dict[str, Any]]:
    """Load rates of each probe: one warm-up, then rounds alternating the probes (median)."""
    if not probes:
        return []
    generator = ContactGenerator(seed, ws.owners, Uniques())
    chunks = [list(generator.items(loader.CHUNK)) for _ in range(PROBE_CHUNKS)]
    await _probe_once(engine, ws, [], chunks[:2])
    seconds: list[list[float]] = [[] for _ in probes]
    for _ in range(PROBE_ROUNDS):
        for i, probe in enumerate(probes):
            seconds[i].append(await _probe_once(engine, ws, probe.ddl, chunks))
    records = PROBE_CHUNKS * loader.CHUNK
    return [
        {
            "label": probe.label,
            "records": records,
            "rounds": PROBE_ROUNDS,
            "records_per_second": round(records / statistics.median(samples)),
            "all_rounds": [round(records / x) for x in samples],
        }
        for probe, samples in zip(probes, seconds, strict=True)
    ]


async def main(
    db: str, scale: int, seed: int, url: str, reps: int, only: list[str] | None = None
) -> dict[str, Any]:
    """Run the experiments for ``db`` and write ``experiments-<db>-<scale>.json``."""
    engine = make_engine(url, pool_size=2)
    out: list[dict[str, Any]] = []
    try:
        workspaces = await loader.existing_workspaces(engine, scale)
        main_ws = workspaces[0]
        assert main_ws.principal is not None
        async with transaction(engine, write=False) as conn:
            ot = (await metadata_for(conn, main_ws.principal)).object("contact").id
        constants = await sample(engine, main_ws.id, seed)
        base = {"ws": main_ws.id, "ot": ot}
        experiments = (
            _sqlite(constants)
            if db == "sqlite"
            else _postgresql(constants, engine.url.database or "")
        )
        if only:
            experiments = [e for e in experiments if e.name in only]
        for exp in experiments:
            print(f"{exp.name}: {exp.description}")
            await _ddl(engine, exp.teardown + exp.prepare)
            results: list[dict[str, Any]] = []
            writes: list[dict[str, Any]] = []
            setup_seconds = 0.0
            before = [a for a in exp.alternatives if not a.after_setup]
            results += await _measure(engine, before, base, reps, seed)
            setup_seconds = await _ddl(engine, exp.setup)
            after = [a for a in exp.alternatives if a.after_setup]
            results += await _measure(engine, after, base, reps, seed)
            writes += await _probes(engine, main_ws, exp.writes, seed + 7)
            size = await loader.database_size(engine)
            await _ddl(engine, exp.teardown)
            for r in results:
                print(f"  {r['label']:<72} p50 {r['p50']:>8.2f}  p95 {r['p95']:>8.2f} ms")
            for w in writes:
                print(f"  {w['label']:<72} {w['records_per_second']:>8,} records/s")
            out.append(
                {
                    "name": exp.name,
                    "description": exp.description,
                    "dialect": exp.dialect,
                    "setup": exp.setup,
                    "setup_seconds": round(setup_seconds, 1),
                    "size_with_setup": size,
                    "results": results,
                    "writes": writes,
                }
            )
        doc = {
            "benchmark": "storage-experiments",
            "db": db,
            "scale": scale,
            "seed": seed,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine.machine(),
            "database": {
                **await machine.database(engine),
                "size": await loader.database_size(engine),
            },
            "experiments": out,
        }
    finally:
        await engine.dispose()
    path = RESULTS / f"experiments-{db}-{scale}{'-partial' if only else ''}.json"
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return doc
