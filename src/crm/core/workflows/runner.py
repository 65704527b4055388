"""Advancing runs: a worker leases the runs that are due and runs their steps.

Each step runs in its own transaction, which also logs the step and moves the run past
it, so a worker killed at any moment leaves a run either before a step (which then runs
again, from scratch) or after it, never half-way. A step that fails rolls back whatever
it did; the run is then marked failed with the reason, in a transaction of its own. A run
that waits is due again at its time and is taken by whichever worker looks first; a lease
that runs out (its worker died) lets another worker take the run.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.principal import Via
from crm.core.auth.service import acting_user
from crm.core.clock import utcnow
from crm.core.errors import CRMError, NotFound
from crm.core.metadata.service import metadata_for
from crm.core.records.service import get_record
from crm.core.workflows.model import (
    CANCELLED,
    COMPLETED,
    FAILED,
    LIVE,
    PENDING,
    STOPPED,
    WAITING,
    Path,
    path_text,
)
from crm.core.workflows.steps import STEPS, Acting, after, enter, step_at
from crm.db.engine import transaction
from crm.db.schema import workflow_run_steps, workflow_runs, workflows

__all__ = ["LEASE", "next_due", "run_due"]

#: How long a worker holds the runs it took before another may take them.
LEASE = timedelta(minutes=5)
#: Runs taken at once.
BATCH = 20
#: Steps one run takes in one turn before others get theirs.
TURN = 100
#: Live runs, written as the index of due runs says (``ix_workflow_runs_due``).
_LIVE = sa.text("status IN ('pending', 'waiting')")


class _Failed(Exception):
    """A step that could not be done, with the reason to record."""

    def __init__(self, path: Path, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.path, self.kind, self.reason = path, kind, reason


async def _take(engine: AsyncEngine, owner: str) -> list[int]:
    """Lease the runs that are due now."""
    now = utcnow()
    select = (
        sa.select(workflow_runs.c.id)
        .where(
            _LIVE,
            workflow_runs.c.due_at <= now,
            sa.or_(workflow_runs.c.lease_until.is_(None), workflow_runs.c.lease_until < now),
        )
        .order_by(workflow_runs.c.due_at)
        .limit(BATCH)
    )
    async with transaction(engine, write=False) as conn:  # a look first: no write when idle
        if (await conn.execute(select.limit(1))).first() is None:
            return []
    async with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            select = select.with_for_update(skip_locked=True)
        taken = [r.id for r in await conn.execute(select)]
        if taken:
            await conn.execute(
                sa.update(workflow_runs)
                .where(workflow_runs.c.id.in_(taken))
                .values(lease_owner=owner, lease_until=now + LEASE)
            )
    return taken


async def _log(
    conn: AsyncConnection, run: Any, path: Path, kind: str, status: str, detail: Any
) -> None:
    await conn.execute(
        sa.insert(workflow_run_steps).values(
            workspace_id=run.workspace_id,
            run_id=run.id,
            position=path_text(path),
            type=kind,
            status=status,
            detail=detail,
            at=utcnow(),
        )
    )


async def _end(conn: AsyncConnection, run: Any, status: str, error: str | None = None) -> None:
    now = utcnow()
    await conn.execute(
        sa.update(workflow_runs)
        .where(workflow_runs.c.id == run.id)
        .values(
            status=status,
            error=error,
            due_at=None,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            finished_at=now,
        )
    )


async def _step(engine: AsyncEngine, run_id: int, owner: str) -> bool:
    """Run the next step of a run this worker holds; whether the run goes on at once."""
    async with transaction(engine, write=True) as conn:
        select = sa.select(workflow_runs).where(
            workflow_runs.c.id == run_id, workflow_runs.c.lease_owner == owner
        )
        if conn.dialect.name == "postgresql":
            select = select.with_for_update()
        run = (await conn.execute(select)).first()
        if run is None or run.status not in LIVE:
            return False
        wf = (
            await conn.execute(sa.select(workflows).where(workflows.c.id == run.workflow_id))
        ).one()
        if wf.deleted_at is not None:
            await _end(conn, run, CANCELLED, "the workflow was deleted")
            return False
        path: Path = list(run.position)
        spec = step_at(wf.steps, path)
        if spec is None:
            await _end(conn, run, COMPLETED)
            return False
        acting = await acting_user(conn, wf.created_by)
        if acting is None:
            raise _Failed(path, spec["type"], "the workflow's maker can no longer act")
        principal = dataclasses.replace(acting, via=Via(run.uuid, run.depth))
        meta = await metadata_for(conn, principal)
        obj = meta.objects_by_id[wf.object_type_id]
        try:
            record = await get_record(conn, principal, obj.key, run.record_id)
        except NotFound:
            raise _Failed(path, spec["type"], "the record is gone") from None
        now = utcnow()
        at = Acting(conn, principal, meta, obj, record, wf.id, path, now)
        try:
            outcome = await STEPS[spec["type"]].run(at, spec)
        except CRMError as exc:
            raise _Failed(path, spec["type"], exc.message) from None
        await _log(conn, run, path, spec["type"], "done", outcome.detail)
        if outcome.stop:
            await _end(conn, run, STOPPED)
            return False
        following = (
            enter(wf.steps, path, outcome.branch) if outcome.branch else after(wf.steps, path)
        )
        waiting = outcome.wait_until is not None
        if following is None and not waiting:
            await _end(conn, run, COMPLETED)
            return False
        if following is None:  # a wait at the end: the run completes when it is over
            following = [len(wf.steps)]
        await conn.execute(
            sa.update(workflow_runs)
            .where(workflow_runs.c.id == run.id)
            .values(
                position=following,
                status=WAITING if waiting else PENDING,
                due_at=outcome.wait_until if waiting else now,
                lease_owner=None if waiting else owner,
                lease_until=None if waiting else now + LEASE,
                updated_at=now,
            )
        )
        return not waiting


async def _fail(engine: AsyncEngine, run_id: int, failed: _Failed) -> None:
    async with transaction(engine, write=True) as conn:
        run = (
            await conn.execute(sa.select(workflow_runs).where(workflow_runs.c.id == run_id))
        ).one()
        await _log(conn, run, failed.path, failed.kind, FAILED, {"error": failed.reason})
        await _end(conn, run, FAILED, failed.reason)


async def _advance(engine: AsyncEngine, run_id: int, owner: str) -> None:
    for _ in range(TURN):
        try:
            going = await _step(engine, run_id, owner)
        except _Failed as failed:
            await _fail(engine, run_id, failed)
            return
        if not going:
            return
    async with transaction(engine, write=True) as conn:  # others' turn: let any worker go on
        await conn.execute(
            sa.update(workflow_runs)
            .where(workflow_runs.c.id == run_id, workflow_runs.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


async def run_due(engine: AsyncEngine, owner: str) -> int:
    """Take the runs due now and advance each as far as it goes; how many were taken."""
    taken = await _take(engine, owner)
    for run_id in taken:
        await _advance(engine, run_id, owner)
    return len(taken)


async def next_due(engine: AsyncEngine) -> Any:
    """When the earliest live run is due (None when there is none)."""
    async with transaction(engine, write=False) as conn:
        found = await conn.execute(sa.select(sa.func.min(workflow_runs.c.due_at)).where(_LIVE))
        return found.scalar_one()
