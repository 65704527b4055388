"""The worker a server process runs beside its requests, in the embedded default."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.settings import Settings
from crm.worker.loop import run

#: Seconds a stopping server waits for the job at hand to reach a checkpoint.
STOP_WAIT = 10.0


@contextlib.asynccontextmanager
async def inline_worker(engine: AsyncEngine, settings: Settings) -> AsyncIterator[None]:
    """Run the worker loop while the block runs (when the settings say so); stop it after."""
    if not settings.inline_worker:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run(engine, stop, settings=settings))
    try:
        yield
    finally:
        stop.set()
        # Cancelled mid-batch, the batch rolls back, and the next worker redoes it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, STOP_WAIT)
