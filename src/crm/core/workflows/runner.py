"""Advancing runs: a worker leases the runs that are due and runs their steps.

A run's turn (its steps until it waits, stops, ends or has taken :data:`TURN` steps) is one
transaction, which also logs each step and moves the run past it; each step is a savepoint
in it. A worker killed at any moment therefore leaves the run where its turn began: the
steps of the turn run again from scratch, and none is done twice. A step that fails rolls
back whatever it did (its savepoint) and the run fails with the reason, keeping the steps
before it. A run that waits is due again at its time and is taken by whichever worker
looks first; a lease that runs out (its worker died) lets another worker take the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from crm.core.auth.principal import Principal, Via
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

log = logging.getLogger(__name__)

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


async def _end(
    conn: AsyncConnection,
    run: Any,
    status: str,
    error: str | None = None,
    position: Path | None = None,
) -> None:
    """The run ended with ``status`` (at the step at ``position``, if it got that far)."""
    now = utcnow()
    await conn.execute(
        sa.update(workflow_runs)
        .where(workflow_runs.c.id == run.id)
        .values(
            status=status,
            error=error,
            position=run.position if position is None else position,
            due_at=None,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            finished_at=now,
        )
    )


async def _acting(conn: AsyncConnection, run: Any, wf: Any) -> Principal | None:
    """The principal a run acts as: its workflow's maker, through the run."""
    acting = await acting_user(conn, wf.created_by)
    return None if acting is None else dataclasses.replace(acting, via=Via(run.uuid, run.depth))


async def _do(
    conn: AsyncConnection, run: Any, wf: Any, principal: Principal | None, path: Path
) -> Any:
    """Run the step at ``path`` as a savepoint and log it; what it did, or _Failed."""
    spec = step_at(wf.steps, path)
    assert spec is not None
    if principal is None:
        raise _Failed(path, spec["type"], "the workflow's maker can no longer act")
    meta = await metadata_for(conn, principal)
    obj = meta.objects_by_id[wf.object_type_id]
    try:
        record = await get_record(conn, principal, obj.key, run.record_id)
    except NotFound:
        raise _Failed(path, spec["type"], "the record is gone") from None
    try:
        async with conn.begin_nested():
            at = Acting(conn, principal, meta, obj, record, wf, run, path, utcnow())
            outcome = await STEPS[spec["type"]].run(at, spec)
    except CRMError as exc:
        raise _Failed(path, spec["type"], exc.message) from None
    await _log(conn, run, path, spec["type"], "done", outcome.detail)
    return outcome


async def _advance(engine: AsyncEngine, run_id: int, owner: str) -> None:
    """One turn of a run this worker holds."""
    async with transaction(engine, write=True) as conn:
        select = sa.select(workflow_runs).where(
            workflow_runs.c.id == run_id, workflow_runs.c.lease_owner == owner
        )
        if conn.dialect.name == "postgresql":
            select = select.with_for_update()
        run = (await conn.execute(select)).first()
        if run is None or run.status not in LIVE:
            return
        found = sa.select(workflows).where(workflows.c.id == run.workflow_id)
        wf = (await conn.execute(found)).one()
        if wf.deleted_at is not None:
            await _end(conn, run, CANCELLED, "the workflow was deleted")
            return
        principal = await _acting(conn, run, wf)
        position: Path = list(run.position)
        for _ in range(TURN):
            if step_at(wf.steps, position) is None:
                await _end(conn, run, COMPLETED, position=position)
                return
            try:
                outcome = await _do(conn, run, wf, principal, position)
            except _Failed as failed:
                await _log(conn, run, failed.path, failed.kind, FAILED, {"error": failed.reason})
                await _end(conn, run, FAILED, failed.reason, position)
                return
            if outcome.stop:
                await _end(conn, run, STOPPED, position=position)
                return
            if outcome.branch is None:
                following = after(wf.steps, position)
            else:
                following = enter(wf.steps, position, outcome.branch)
            if outcome.wait_until is not None or outcome.held:
                # A wait at the end: the run completes when it is over.
                waited: Path = [len(wf.steps)] if following is None else following
                await _move(conn, run, waited, WAITING, outcome.wait_until)
                return
            if following is None:
                await _end(conn, run, COMPLETED, position=position)
                return
            position = following
        await _move(conn, run, position, PENDING, utcnow())  # others' turn now


async def _move(
    conn: AsyncConnection, run: Any, position: Path, status: str, due: datetime | None
) -> None:
    """The run is at ``position``, due at ``due`` (never, until something wakes it), and
    free for any worker to take."""
    await conn.execute(
        sa.update(workflow_runs)
        .where(workflow_runs.c.id == run.id)
        .values(
            position=position,
            status=status,
            due_at=due,
            lease_owner=None,
            lease_until=None,
            updated_at=utcnow(),
        )
    )


async def run_due(engine: AsyncEngine, owner: str) -> int:
    """Take the runs due now and advance each as far as it goes, all at once; how many
    were taken."""
    taken = await _take(engine, owner)
    # Together: on SQLite their turns share commits; on PostgreSQL each holds a connection
    # of the pool (and may take a second one to number what it makes), so no more at once
    # than the pool's size.
    pool = engine.pool
    width = (
        pool.size() if engine.dialect.name != "sqlite" and isinstance(pool, QueuePool) else BATCH
    )
    room = asyncio.Semaphore(max(1, width))

    async def turn(run_id: int) -> None:
        async with room:
            await _turn(engine, run_id, owner)

    await asyncio.gather(*(turn(run_id) for run_id in taken))
    return len(taken)


async def _turn(engine: AsyncEngine, run_id: int, owner: str) -> None:
    """A run's turn; one that breaks unexpectedly is logged and left to its lease, to be
    taken again from where its turn began."""
    try:
        await _advance(engine, run_id, owner)
    except Exception:
        log.exception("workflow run %s broke off; it is taken again when its lease ends", run_id)


async def next_due(engine: AsyncEngine) -> Any:
    """When the earliest live run is due (None when there is none)."""
    async with transaction(engine, write=False) as conn:
        found = await conn.execute(sa.select(sa.func.min(workflow_runs.c.due_at)).where(_LIVE))
        return found.scalar_one()
