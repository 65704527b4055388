"""A ``crm worker`` process killed (SIGKILL) while it runs workflows: every run is left
whole or untouched (a turn is one transaction), its lease keeps other workers off, and once
the lease runs out the next worker finishes each run with every step done exactly once."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.service import principal_for_user
from crm.core.clock import utcnow
from crm.core.records.creation import bulk_create
from crm.core.workflows import service as workflows
from crm.db.engine import transaction
from crm.db.schema import notes, workflow_run_steps, workflow_runs
from crm.worker.loop import drain
from tests.conftest import Workspace
from tests.worker.support import end, start_worker

LEADS = 600
NOTES = 3


async def _counts(engine: AsyncEngine, workflow_id: int) -> dict[str, int]:
    async with transaction(engine, write=False) as conn:
        rows = await conn.execute(
            sa.select(workflow_runs.c.status, sa.func.count())
            .where(workflow_runs.c.workflow_id == workflow_id)
            .group_by(workflow_runs.c.status)
        )
        return {status: n for status, n in rows}


async def _steps_and_notes(engine: AsyncEngine, workflow_id: int) -> list[tuple[str, int, int]]:
    """Each run's status, how many steps it logged and how many notes its lead has."""
    async with transaction(engine, write=False) as conn:
        logged = (
            sa.select(sa.func.count())
            .where(workflow_run_steps.c.run_id == workflow_runs.c.id)
            .scalar_subquery()
        )
        noted = (
            sa.select(sa.func.count())
            .where(notes.c.record_id == workflow_runs.c.record_id)
            .scalar_subquery()
        )
        rows = await conn.execute(
            sa.select(workflow_runs.c.status, logged, noted).where(
                workflow_runs.c.workflow_id == workflow_id
            )
        )
        return [(status, int(steps), int(made)) for status, steps, made in rows]


async def test_a_killed_worker_leaves_every_run_whole_or_untouched(
    engine: AsyncEngine, ws: Workspace, database_url: str, tmp_path: Path
) -> None:
    await drain(engine)  # what other tests left waiting
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        wf = await workflows.create_workflow(
            conn,
            owner,
            {
                "object": "lead",
                "name": "Three notes",
                "published": True,
                "trigger": {"type": "record.created"},
                "steps": [{"type": "create_note", "text": f"note {i}"} for i in range(NOTES)],
            },
        )
    for start in range(0, LEADS, 200):
        async with transaction(engine, write=True) as conn:
            batch = [{"fields": {"first_name": f"L{i}"}} for i in range(start, start + 200)]
            await bulk_create(conn, owner, "lead", batch)
    log = tmp_path / "worker.log"
    worker = start_worker(database_url, log)
    try:
        deadline = time.monotonic() + 120
        while (await _counts(engine, wf.id)).get("completed", 0) < LEADS // 10:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker did not get going"
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        end(worker)
    assert worker.returncode == -signal.SIGKILL

    killed = await _steps_and_notes(engine, wf.id)
    assert 0 < sum(s == "completed" for s, _, _ in killed) < LEADS, "not killed mid-way"
    for status, steps, made in killed:
        assert (steps, made) == ((NOTES, NOTES) if status == "completed" else (0, 0))

    async with transaction(engine, write=True) as conn:  # as five minutes of waiting would
        await conn.execute(
            sa.update(workflow_runs)
            .where(workflow_runs.c.workflow_id == wf.id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    await drain(engine)
    assert await _counts(engine, wf.id) == {"completed": LEADS}
    assert set(await _steps_and_notes(engine, wf.id)) == {("completed", NOTES, NOTES)}
