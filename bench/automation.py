"""Workflows at throughput: events through a published workflow of three steps (set a
field, tag, add a note), run by the worker.

``--records`` leads are made in one workspace through the core, in batches of 500 (one
event each); then worker loops (``crm.worker.loop.drain``, one process, as ``crm worker``
runs it) start and advance the runs. Reported: events read and runs completed per second
over the whole drain, and the lag from each lead's commit to its run's end at p50 and p99.
Nothing else runs on the database meanwhile.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bench import load
from crm.core.auth.service import principal_for_user
from crm.core.records.creation import bulk_create
from crm.core.tags.service import create_tag
from crm.core.workflows.service import create_workflow
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.schema import records, workflow_runs
from crm.worker.loop import drain

BATCH = 500


@dataclass(frozen=True)
class Options:
    url: str
    records: int = 5000


def default_url(db: str) -> str:
    return load.default_url(db, 0).replace("-0", "-automation").replace("_0", "_automation")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(opts: Options) -> dict[str, Any]:
    engine = make_engine(opts.url, pool_size=4)
    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Automation")
            owner = await principal_for_user(conn, made["owner"]["id"])
            tag = await create_tag(conn, owner, name="Welcomed")
            await create_workflow(
                conn,
                owner,
                {
                    "object": "lead",
                    "name": "Welcome",
                    "published": True,
                    "trigger": {"type": "record.created"},
                    "steps": [
                        {"type": "set_fields", "fields": {"status": "Qualified"}},
                        {"type": "add_tag", "tag": str(tag.uuid)},
                        {"type": "create_note", "text": "Welcome, {{first_name}}"},
                    ],
                },
            )
        await drain(engine)
        for start in range(0, opts.records, BATCH):
            batch = [
                {"fields": {"first_name": f"Lead{i}", "email": f"lead{i}@example.com"}}
                for i in range(start, min(opts.records, start + BATCH))
            ]
            async with transaction(engine, write=True) as conn:
                await bulk_create(conn, owner, "lead", batch)
        t0 = time.perf_counter()
        await drain(engine)
        seconds = time.perf_counter() - t0
        async with transaction(engine, write=False) as conn:
            rows = await conn.execute(
                sa.select(records.c.created_at, workflow_runs.c.finished_at, workflow_runs.c.status)
                .join(records, records.c.id == workflow_runs.c.record_id)
                .where(workflow_runs.c.workspace_id == owner.workspace_id)
            )
            done = rows.all()
    finally:
        await engine.dispose()
    lags = [(f - c).total_seconds() for c, f, s in done if s == "completed"]
    out = {
        "records": opts.records,
        "runs_completed": len(lags),
        "seconds": round(seconds, 2),
        "events_per_s": round(opts.records / seconds),
        "runs_per_s": round(len(lags) / seconds),
        "lag_p50_s": round(statistics.median(lags), 2) if lags else None,
        "lag_p99_s": round(_percentile(lags, 0.99), 2) if lags else None,
    }
    print(out)
    return out


def run(opts: Options) -> dict[str, Any]:
    load.reset_database(opts.url)
    return asyncio.run(main(opts))
