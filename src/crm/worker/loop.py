"""The worker loop: take the next piece of durable work from the database, do it, repeat;
wait a little when there is none. Every worker process may run it at once.

Beside the imports it works through, it looks for due task reminders every
:data:`REMIND` seconds and sweeps abandoned uploads every :data:`SWEEP` seconds; beside
all of that, it delivers webhooks (:mod:`crm.worker.webhooks`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.imports.process import forget_stale_uploads, process_next
from crm.core.tasks.reminders import raise_due_reminders
from crm.db.engine import OFFLOAD
from crm.settings import Settings
from crm.worker import webhooks

log = logging.getLogger(__name__)

#: Seconds between looks for new work when there is none.
IDLE = 1.0
#: Seconds between sweeps for uploads that never finished.
SWEEP = 3600.0
#: Seconds between looks for task reminders that fell due.
REMIND = 30.0


def background(engine: AsyncEngine) -> AsyncEngine:
    """The engine for background jobs: every statement is bulk work, which on SQLite runs
    off the event loop (a worker may share its loop with a server, see ``inline_worker``)."""
    return engine.execution_options(**OFFLOAD)


def worker_name() -> str:
    """A name unique to this worker, shown in the leases it holds."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def drain(
    engine: AsyncEngine, name: str | None = None, *, settings: Settings | None = None
) -> int:
    """Do all the work waiting now: the imports, then the webhooks due now; how many jobs
    were done (each message delivered counts as one)."""
    engine = background(engine)
    settings = settings or Settings.from_env()
    owner, done = name or worker_name(), 0
    while await process_next(engine, owner):
        done += 1
    return done + await webhooks.drain(
        engine, owner, settings.outbound(), settings.webhook_concurrency
    )


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
    owner = worker_name()
    await asyncio.gather(
        _jobs(engine, owner, stop, idle),
        webhooks.run(engine, owner, stop, settings.outbound(), settings.webhook_concurrency),
    )


async def _jobs(engine: AsyncEngine, owner: str, stop: asyncio.Event, idle: float) -> None:
    """Imports, reminders and sweeps, one after another, until ``stop`` is set."""
    swept, reminded = float("-inf"), float("-inf")
    while not stop.is_set():
        try:
            if time.monotonic() - swept > SWEEP:
                await forget_stale_uploads(engine)
                swept = time.monotonic()
            if time.monotonic() - reminded > REMIND:
                reminded = time.monotonic()
                await raise_due_reminders(engine)
            busy = await process_next(engine, owner, stop.is_set)
        except Exception:  # a job's unexpected failure must not stop the other jobs
            log.exception("a job failed; it will be retried when its lease runs out")
            busy = False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)
