"""The worker loop: take the next piece of durable work from the database, do it, repeat;
wait a little when there is none. Every worker process may run it at once.

Beside the imports it works through, it starts the workflow runs that new events trigger
and advances the runs that are due, looks for due task reminders every :data:`REMIND`
seconds and for the date triggers of workflows every :data:`DATES` seconds, and sweeps
abandoned uploads every :data:`SWEEP` seconds; beside all of that, it delivers webhooks
(:mod:`crm.worker.webhooks`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.events.stream import settle
from crm.core.imports.process import forget_stale_uploads, process_next
from crm.core.tasks.reminders import raise_due_reminders
from crm.core.webhooks.safety import Outbound, outbound
from crm.core.workflows.dates import fire_dates
from crm.core.workflows.runner import run_due
from crm.core.workflows.triggers import take_events
from crm.db.engine import OFFLOAD
from crm.settings import Settings
from crm.worker import webhooks
from crm.worker.workflow_calls import send_calls

log = logging.getLogger(__name__)

#: Seconds between looks for new work when there is none.
IDLE = 1.0
#: Seconds between sweeps for uploads that never finished.
SWEEP = 3600.0
#: Seconds between looks for task reminders that fell due.
REMIND = 30.0
#: Seconds between looks for the date triggers of workflows that came.
DATES = 60.0


def background(engine: AsyncEngine) -> AsyncEngine:
    """The engine for background jobs: every statement is bulk work, which on SQLite runs
    off the event loop (a worker may share its loop with a server, see ``inline_worker``)."""
    return engine.execution_options(**OFFLOAD)


def worker_name() -> str:
    """A name unique to this worker, shown in the leases it holds."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def _automate(engine: AsyncEngine, owner: str) -> tuple[int, int]:
    """Start the runs new events trigger and advance the runs due: how many events were
    read, and how many runs advanced."""
    return await take_events(engine), await run_due(engine, owner)


async def drain(
    engine: AsyncEngine, name: str | None = None, *, settings: Settings | None = None
) -> int:
    """Do all the work waiting now (what was committed before the call included): the
    imports, workflow runs and their webhook calls, then the webhooks due now; how many
    jobs were done (each import, run turn, call and message delivered counts as one)."""
    await settle(engine)
    engine = background(engine)
    settings = settings or Settings.from_env()
    owner, done, policy = name or worker_name(), await fire_dates(engine), outbound(settings)
    while True:
        imported = int(await process_next(engine, owner))
        read, ran = await _automate(engine, owner)
        called = await send_calls(engine, owner, policy)
        done += imported + ran + called
        if not (imported or read or ran or called):
            break
    return done + await webhooks.drain(engine, owner, policy, settings.webhook_concurrency)


async def run(
    engine: AsyncEngine,
    stop: asyncio.Event,
    *,
    idle: float = IDLE,
    settings: Settings | None = None,
) -> None:
    """Work until ``stop`` is set: the jobs one after another, and the webhooks beside
    them. A failing job is logged and the loop goes on."""
    engine = background(engine)
    settings = settings or Settings.from_env()
    owner, policy = worker_name(), outbound(settings)
    await asyncio.gather(
        _jobs(engine, owner, stop, idle, policy),
        webhooks.run(engine, owner, stop, policy, settings.webhook_concurrency),
    )


async def _jobs(
    engine: AsyncEngine, owner: str, stop: asyncio.Event, idle: float, policy: Outbound
) -> None:
    """Imports, workflows, reminders and sweeps, one after another, until ``stop`` is set."""
    swept, reminded, dated = float("-inf"), float("-inf"), float("-inf")
    while not stop.is_set():
        try:
            if time.monotonic() - swept > SWEEP:
                await forget_stale_uploads(engine)
                swept = time.monotonic()
            if time.monotonic() - reminded > REMIND:
                reminded = time.monotonic()
                await raise_due_reminders(engine)
            if time.monotonic() - dated > DATES:
                dated = time.monotonic()
                await fire_dates(engine)
            busy = await process_next(engine, owner, stop.is_set)
            busy = any(await _automate(engine, owner)) or busy
            busy = bool(await send_calls(engine, owner, policy)) or busy
        except Exception:  # a job's unexpected failure must not stop the other jobs
            log.exception("a job failed; it will be retried when its lease runs out")
            busy = False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)
