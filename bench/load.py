"""Setting up the benchmark database and loading it through the product's own bulk path.

One large workspace holds ``scale`` contacts; ten small ones hold ``scale / 100`` each, so
every query has other tenants' rows to skip. Chunks of the workspaces are interleaved in
proportion to their sizes, the way concurrent tenants would fill a shared table.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.data import CUSTOM_FIELDS, TAGS, ContactGenerator, Uniques
from crm.core.auth.principal import Principal
from crm.core.auth.service import create_user, principal_for_user
from crm.core.metadata.service import create_field
from crm.core.records.service import bulk_create
from crm.core.tags.service import Tag, create_tag, tag_records
from crm.core.workspaces.service import create_workspace, find_workspace, owner_user_id
from crm.db.engine import OFFLOAD, transaction
from crm.db.migrate import upgrade
from crm.db.schema import records, users

CHUNK = 1000
SMALL_WORKSPACES = 10
MAIN = "bench-main"


@dataclass
class BenchWorkspace:
    """A benchmark workspace: its size, users and the owner's principal."""

    id: int
    subdomain: str
    size: int
    owner_id: int
    owners: list[str] = field(default_factory=list)
    principal: Principal | None = None
    loaded: int = 0
    tags: list[Tag] = field(default_factory=list)


@dataclass
class LoadStats:
    records: int = 0
    seconds: float = 0.0
    generate_seconds: float = 0.0
    chunks: int = 0
    analyze_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def default_url(db: str, scale: int) -> str:
    """Where a run keeps its data: a file under /tmp, or a database named for the scale."""
    if db == "sqlite":
        return f"sqlite:////tmp/crm-bench-{scale}.db"
    return f"postgresql://postgres@127.0.0.1:5432/crm_bench_{scale}"


def reset_database(url: str) -> None:
    """Drop and recreate the benchmark database, then apply the migrations."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = parsed.database
        admin = parsed.set(drivername="postgresql", database="postgres")

        async def recreate() -> None:
            conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(recreate())
    upgrade(url)


async def create_workspaces(engine: AsyncEngine, scale: int) -> list[BenchWorkspace]:
    """The main workspace and the small ones, each with users and the custom fields."""
    specs = [(MAIN, scale, 20)] + [
        (f"bench-small-{i}", max(1, scale // 100), 5) for i in range(1, SMALL_WORKSPACES + 1)
    ]
    out = []
    for subdomain, size, reps in specs:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(
                conn,
                name=subdomain.replace("-", " ").title(),
                subdomain=subdomain,
                owner_email=f"owner@{subdomain}.example",
            )
            ws_id = made["workspace"].id
            owners = [made["owner"]["email"]]
            for i in range(1, reps + 1):
                user = await create_user(
                    conn, ws_id, email=f"rep{i}@{subdomain}.example", name=f"Rep {i}", role="agent"
                )
                owners.append(user["email"])
            principal = await principal_for_user(conn, await owner_user_id(conn, ws_id))
            for spec in CUSTOM_FIELDS:
                await create_field(conn, principal, "contact", dict(spec))
            tags = [await create_tag(conn, principal, name=name) for name, _ in TAGS]
        out.append(BenchWorkspace(ws_id, subdomain, size, principal.user_id, owners, tags=tags))
    await refresh_principals(engine, out)
    return out


async def refresh_principals(engine: AsyncEngine, workspaces: list[BenchWorkspace]) -> None:
    """Principals at the committed metadata version (after users and fields were added)."""
    async with transaction(engine, write=False) as conn:
        for ws in workspaces:
            ws.principal = await principal_for_user(conn, ws.owner_id)


async def existing_workspaces(engine: AsyncEngine, scale: int) -> list[BenchWorkspace]:
    """The workspaces of an earlier load at the same scale; ValueError if it does not match."""
    subdomains = [MAIN] + [f"bench-small-{i}" for i in range(1, SMALL_WORKSPACES + 1)]
    out = []
    async with transaction(engine, write=False) as conn:
        for subdomain in subdomains:
            ws = await find_workspace(conn, subdomain)
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(records)
                    .where(records.c.workspace_id == ws.id)
                )
            ).scalar_one()
            expected = scale if subdomain == MAIN else max(1, scale // 100)
            if count != expected:
                raise ValueError(f"{subdomain} holds {count} records, not {expected}")
            emails = (
                await conn.execute(sa.select(users.c.email).where(users.c.workspace_id == ws.id))
            ).scalars()
            out.append(
                BenchWorkspace(
                    ws.id,
                    subdomain,
                    expected,
                    await owner_user_id(conn, ws.id),
                    list(emails),
                    loaded=count,
                )
            )
    await refresh_principals(engine, out)
    return out


def _schedule(workspaces: list[BenchWorkspace]) -> list[tuple[BenchWorkspace, int]]:
    """Chunks in load order: always the workspace that is proportionally furthest behind."""
    done = {ws.subdomain: 0 for ws in workspaces}
    order: list[tuple[BenchWorkspace, int]] = []
    while True:
        pending = [ws for ws in workspaces if done[ws.subdomain] < ws.size]
        if not pending:
            return order
        ws = min(pending, key=lambda w: done[w.subdomain] / w.size)
        n = min(CHUNK, ws.size - done[ws.subdomain])
        done[ws.subdomain] += n
        order.append((ws, n))


async def load(
    engine: AsyncEngine,
    workspaces: list[BenchWorkspace],
    seed: int,
    progress: Callable[[str], Any] = partial(print, flush=True),
) -> LoadStats:
    """Load every workspace with ``bulk_create``, one transaction per chunk of 1,000.

    In the same transaction, ``tag_records`` tags a share of the chunk (see ``TAGS``).
    """
    uniques = Uniques()
    generators = {
        ws.subdomain: ContactGenerator(seed * 1000 + i, ws.owners, uniques)
        for i, ws in enumerate(workspaces)
    }
    stats = LoadStats()
    schedule = _schedule(workspaces)
    for n, (ws, size) in enumerate(schedule, start=1):
        t0 = time.perf_counter()
        items = list(generators[ws.subdomain].items(size))
        t1 = time.perf_counter()
        async with transaction(engine, write=True) as conn:
            assert ws.principal is not None
            result = await bulk_create(conn, ws.principal, "contact", items)
            made = [item.record for item in result if item.record is not None]
            tagged = generators[ws.subdomain].tagging(made, ws.tags)
            if tagged:
                await tag_records(conn, ws.principal, tagged)
        stats.seconds += time.perf_counter() - t1
        stats.generate_seconds += t1 - t0
        errors = [item.error for item in result if item.error is not None]
        if errors:
            raise RuntimeError(f"bulk_create refused {len(errors)} items: {errors[0]!r}")
        ws.loaded += size
        stats.records += size
        stats.chunks += 1
        if n % 50 == 0 or n == len(schedule):
            progress(
                f"  loaded {stats.records:>9,} records, {stats.rate:,.0f}/s "
                f"({n}/{len(schedule)} chunks)"
            )
    return stats


async def analyze(engine: AsyncEngine) -> float:
    """Refresh planner statistics (and checkpoint the SQLite WAL); answer the seconds taken."""
    t0 = time.perf_counter()
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("ANALYZE", execution_options=OFFLOAD)
            await conn.commit()
            # Outside any transaction (the engine's begin hook would open one).
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            # Read to its end: a statement left open would keep the connection writing.
            checkpoint = raw.driver_connection.execute
            await asyncio.to_thread(
                lambda: checkpoint("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            )
        else:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")
        await conn.commit()
    return time.perf_counter() - t0


def _file_mb(path: str) -> float:
    return round(os.path.getsize(path) / 2**20, 1)


async def database_size(engine: AsyncEngine) -> dict[str, Any]:
    """The size of the database and of the records table with its indexes, in MB."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return {"file_mb": _file_mb(make_url(str(engine.url)).database or "")}
        row = (
            await conn.exec_driver_sql(
                "SELECT pg_database_size(current_database()), "
                "pg_total_relation_size('records'), pg_relation_size('records'), "
                "pg_indexes_size('records')"
            )
        ).one()
        mb = [round(v / 2**20, 1) for v in row]
        return {
            "database_mb": mb[0],
            "records_total_mb": mb[1],
            "records_heap_mb": mb[2],
            "records_indexes_mb": mb[3],
        }
