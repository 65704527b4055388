"""The import worker's durability: a worker killed, crashing, ousted or stopped mid-import
leaves a checkpoint that is exact, and the next worker resumes from it so that every row is
written once; leases keep workers off each other's imports; imports that cannot go on fail
with a message; abandoned uploads are swept.

Every test first drains the work other tests may have left waiting, so that the import it
uploads is the only one a worker can take, and leaves its own import finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import types
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.service import principal_for_user
from crm.core.clock import utcnow
from crm.core.imports import process
from crm.core.imports.process import BATCH, LEASE, MAX_ATTEMPTS, forget_stale_uploads
from crm.core.imports.process import _keep as real_keep
from crm.core.imports.service import begin_import, upload_done
from crm.core.imports.storage import CHUNK_BYTES, Upload
from crm.core.intake.service import take_in_many as real_take_in_many
from crm.db.engine import transaction
from crm.db.engine import transaction as real_transaction
from crm.db.schema import imports, users
from crm.worker import loop
from crm.worker.loop import drain, run
from tests.conftest import Workspace
from tests.worker.support import (
    assert_shown_completed,
    chunk_count,
    contact_emails,
    contacts_csv,
    emails,
    expire_lease,
    import_row,
    interrupt_worker,
    set_import,
    status,
    upload,
    upload_alone,
)

#: Rows of the file a real worker process is killed in the middle of.
KILLED_ROWS = 30_000
#: Three whole batches and a part of one.
SMALL_ROWS = 3 * BATCH + 500
#: The intake as the worker calls it, for tests to wrap.
TAKE_IN_MANY = "crm.core.imports.process.take_in_many"


class Boom(Exception):
    """The unexpected failure of a test's making."""


def failing(patch: pytest.MonkeyPatch, fail_on: set[int], *, where: str = "intake") -> list[int]:
    """Make the ``fail_on``-th batches (1-based) raise Boom inside their transaction, right
    after ``where`` did its writing: the intake (the records) or the checkpoint (the last
    write of a batch); the sizes of the batches seen there."""
    calls: list[int] = []

    async def take_in_many(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[3]))
        outcomes = await real_take_in_many(*args, **kwargs)
        if len(calls) in fail_on:
            raise Boom(f"batch {len(calls)}")
        return outcomes

    async def keep(conn: AsyncConnection, job: Any, tally: Any) -> None:
        calls.append(tally.rows)
        await real_keep(conn, job, tally)
        if len(calls) in fail_on:
            raise Boom(f"batch {len(calls)}")

    if where == "intake":
        patch.setattr(TAKE_IN_MANY, take_in_many)
    else:
        patch.setattr("crm.core.imports.process._keep", keep)
    return calls


async def assert_completed(
    engine: AsyncEngine, ws: Workspace, ref: Any, count: int, tag: str, *, attempts: int
) -> Any:
    """The import ended well: every row written exactly once, its file let go."""
    row = await import_row(engine, ref)
    assert row.status == "completed", row.failure
    assert (row.total_rows, row.rows_done, row.created_count) == (count, count, count)
    assert (row.updated_count, row.skipped_count, row.failed_count) == (0, 0, 0)
    assert (row.lease_owner, row.lease_until, row.failure) == (None, None, None)
    assert row.attempts == attempts
    assert row.finished_at is not None
    assert await contact_emails(engine, ws.id) == emails(count, tag)
    assert await chunk_count(engine, row.id) == 0
    return row


# --- a worker process killed mid-way -------------------------------------------------------


async def test_a_killed_worker_process_is_resumed_from_its_checkpoint(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    database_url: str,
    tmp_path: Path,
) -> None:
    ref, tag = await upload_alone(engine, client, ws, KILLED_ROWS)
    assert len(contacts_csv(KILLED_ROWS, tag)) > 2 * CHUNK_BYTES  # kept in several chunks
    worker = await interrupt_worker(
        engine, ref, database_url, tmp_path / "worker.log", signal.SIGKILL, exit_within=30
    )
    assert worker.returncode == -signal.SIGKILL

    # Killed mid-way: the checkpoint counts whole batches, each committed with its records.
    killed = await import_row(engine, ref)
    assert killed.status == "processing"
    assert killed.total_rows == KILLED_ROWS
    assert 0 < killed.rows_done < KILLED_ROWS, "the worker was not killed mid-way"
    assert killed.rows_done % BATCH == 0
    written = await contact_emails(engine, ws.id)
    assert len(written) == killed.created_count == killed.rows_done
    assert set(written) <= set(emails(KILLED_ROWS, tag))
    assert f":{worker.pid}:" in killed.lease_owner
    assert killed.attempts == 1
    assert await chunk_count(engine, killed.id) > 0

    # The dead worker's lease still holds: no other worker takes the import yet.
    assert await drain(engine) == 0
    held = await import_row(engine, ref)
    assert (held.rows_done, held.lease_owner, held.attempts) == (
        killed.rows_done,
        killed.lease_owner,
        1,
    )

    # Once it runs out, the next worker skips the rows done and writes the others once.
    await expire_lease(engine, killed.id)
    assert await drain(engine) == 1
    await assert_completed(engine, ws, ref, KILLED_ROWS, tag, attempts=2)
    assert_shown_completed(await status(client, ws, ref), KILLED_ROWS)


# --- a crash inside a batch ----------------------------------------------------------------


@pytest.mark.parametrize("where", ["intake", "checkpoint"])
async def test_a_crash_inside_a_batch_rolls_that_batch_back_and_is_resumed(
    where: str,
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    ref, tag = await upload_alone(engine, client, ws, SMALL_ROWS)

    # First attempt: the third batch fails after its records (or even its checkpoint) were
    # written; the error leaves process_next as it is.
    with monkeypatch.context() as patch:
        calls = failing(patch, {3}, where=where)
        with pytest.raises(Boom, match="batch 3"):
            await process.process_next(engine, "crashing-worker")
    assert calls == [BATCH, BATCH, BATCH]
    crashed = await import_row(engine, ref)
    assert (crashed.status, crashed.lease_owner, crashed.attempts) == (
        "processing",
        "crashing-worker",
        1,
    )
    assert (crashed.rows_done, crashed.created_count) == (2 * BATCH, 2 * BATCH)
    assert await contact_emails(engine, ws.id) == emails(2 * BATCH, tag)
    assert await drain(engine) == 0  # its lease holds

    # Second attempt, by the worker loop: the first batch it writes fails; the loop logs it
    # and goes on, and nothing of the batch stays.
    await expire_lease(engine, crashed.id)
    with monkeypatch.context() as patch:
        calls = failing(patch, {1}, where=where)
        stop = asyncio.Event()
        task = asyncio.create_task(run(engine, stop, idle=0.05))
        try:
            for _ in range(1500):
                if task.done() or any(r.name == "crm.worker.loop" for r in caplog.records):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            assert not task.done()  # the loop went on
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    assert calls == [BATCH]
    logged = [r for r in caplog.records if r.name == "crm.worker.loop"]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], Boom)
    again = await import_row(engine, ref)
    assert (again.status, again.attempts) == ("processing", 2)
    assert (again.rows_done, again.created_count) == (2 * BATCH, 2 * BATCH)
    assert await contact_emails(engine, ws.id) == emails(2 * BATCH, tag)

    # Third attempt, with nothing failing: every row once.
    await expire_lease(engine, crashed.id)
    assert await drain(engine) == 1
    await assert_completed(engine, ws, ref, SMALL_ROWS, tag, attempts=3)


def with_blank_rows(body: bytes) -> bytes:
    """``body`` with a blank row (an empty line, or a row of empty cells) after every 100th
    row, so that blank rows fall in every batch."""
    lines = body.decode().splitlines(keepends=True)
    out = [lines[0]]
    for i, line in enumerate(lines[1:], 1):
        out.append(line)
        if i % 100 == 0:
            out.append("\n" if i % 200 else ",,,\n")
    return "".join(out).encode()


async def test_a_resumed_import_with_blank_rows_writes_every_row_once(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await drain(engine)
    tag, count = secrets.token_hex(4), 2500
    body = with_blank_rows(contacts_csv(count, tag))
    in_first_batch = sum(1 for line in body.decode().splitlines()[1 : BATCH + 1] if line.strip(","))
    assert in_first_batch < BATCH
    ref = await upload(client, ws, body)
    with monkeypatch.context() as patch:
        failing(patch, {2})
        with pytest.raises(Boom):
            await process.process_next(engine, "crashing-worker")

    # The checkpoint counts the records read, blank or not; progress counts rows only.
    crashed = await import_row(engine, ref)
    assert crashed.rows_done == BATCH
    assert len(await contact_emails(engine, ws.id)) == crashed.created_count == in_first_batch
    shown = await status(client, ws, ref)
    assert (shown["processed_rows"], shown["total_rows"]) == (in_first_batch, count)

    await expire_lease(engine, crashed.id)
    assert await drain(engine) == 1
    done = await import_row(engine, ref)
    assert done.status == "completed", done.failure
    assert (done.created_count, done.failed_count, done.updated_count) == (count, 0, 0)
    assert await contact_emails(engine, ws.id) == emails(count, tag)
    assert await chunk_count(engine, done.id) == 0
    shown = await status(client, ws, ref)
    assert (shown["processed_rows"], shown["total_rows"], shown["created"]) == (count,) * 3


# --- leases --------------------------------------------------------------------------------


async def test_a_live_lease_keeps_other_workers_off_the_import(
    engine: AsyncEngine, client: httpx.AsyncClient, ws: Workspace
) -> None:
    ref, tag = await upload_alone(engine, client, ws, 50)
    row = await import_row(engine, ref)
    until = utcnow() + timedelta(minutes=10)
    await set_import(
        engine, row.id, status="processing", lease_owner="someone-else", lease_until=until
    )
    await set_import(engine, row.id, attempts=1)

    assert await drain(engine) == 0
    held = await import_row(engine, ref)
    assert (held.status, held.lease_owner, held.lease_until) == (
        "processing",
        "someone-else",
        until,
    )
    assert (held.attempts, held.rows_done, held.total_rows) == (1, 0, None)
    assert await contact_emails(engine, ws.id) == []
    assert await chunk_count(engine, row.id) == 1

    await expire_lease(engine, row.id)
    assert await drain(engine) == 1
    await assert_completed(engine, ws, ref, 50, tag, attempts=2)


async def test_a_worker_whose_lease_was_taken_over_stops_writing(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    ref, tag = await upload_alone(engine, client, ws, SMALL_ROWS)
    row = await import_row(engine, ref)

    # Between the second batch and the third, another worker takes the import over (as if
    # the lease had run out meanwhile).
    stolen: list[bool] = []

    @contextlib.asynccontextmanager
    async def transaction_spy(eng: AsyncEngine, *, write: bool) -> AsyncIterator[AsyncConnection]:
        if write and len(calls) == 2 and not stolen:
            stolen.append(True)
            async with real_transaction(eng, write=True) as conn:
                await conn.execute(
                    sa.update(imports)
                    .where(imports.c.id == row.id)
                    .values(
                        lease_owner="thief",
                        lease_until=utcnow() + LEASE,
                        attempts=imports.c.attempts + 1,
                    )
                )
        async with real_transaction(eng, write=write) as conn:
            yield conn

    with monkeypatch.context() as patch:
        calls = failing(patch, set())
        patch.setattr("crm.core.imports.process.transaction", transaction_spy)
        assert await process.process_next(engine, "ousted") is True
    assert stolen
    assert calls == [BATCH, BATCH]  # the ousted worker wrote no third batch
    ousted = await import_row(engine, ref)
    assert (ousted.status, ousted.lease_owner, ousted.attempts) == ("processing", "thief", 2)
    assert (ousted.rows_done, ousted.created_count) == (2 * BATCH, 2 * BATCH)
    assert await contact_emails(engine, ws.id) == emails(2 * BATCH, tag)
    assert await chunk_count(engine, row.id) == 1  # nor did it end the import
    assert any("taken over" in r.getMessage() for r in caplog.records)

    # The new owner's lease holds; when it runs out, the import resumes, every row once.
    assert await drain(engine) == 0
    await expire_lease(engine, row.id)
    assert await drain(engine) == 1
    await assert_completed(engine, ws, ref, SMALL_ROWS, tag, attempts=3)


async def test_workers_at_once_take_each_import_once(
    engine: AsyncEngine, client: httpx.AsyncClient, ws: Workspace
) -> None:
    await drain(engine)
    tags = [secrets.token_hex(4) for _ in range(3)]
    refs = [await upload(client, ws, contacts_csv(1500, tag)) for tag in tags]
    done = await asyncio.gather(*(drain(engine, f"worker-{i}") for i in range(3)))
    assert sum(done) == 3
    for ref in refs:
        row = await import_row(engine, ref)
        assert row.status == "completed", row.failure
        assert (row.attempts, row.rows_done, row.created_count) == (1, 1500, 1500)
    assert await contact_emails(engine, ws.id) == sorted(
        e for tag in tags for e in emails(1500, tag)
    )


# --- a stopping worker ---------------------------------------------------------------------


async def test_a_stopping_worker_hands_its_import_back_after_the_batch_at_hand(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref, tag = await upload_alone(engine, client, ws, SMALL_ROWS)
    stop = asyncio.Event()

    async def stopping_intake(*args: Any, **kwargs: Any) -> Any:
        stop.set()  # asked to stop while the first batch is being written
        return await real_take_in_many(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(TAKE_IN_MANY, stopping_intake)
        await asyncio.wait_for(run(engine, stop, idle=0.05), 60)

    handed = await import_row(engine, ref)
    assert (handed.status, handed.lease_owner, handed.lease_until) == ("pending", None, None)
    assert (handed.rows_done, handed.created_count, handed.total_rows) == (
        BATCH,
        BATCH,
        SMALL_ROWS,
    )
    assert handed.attempts == 0  # stopping is no failed attempt
    assert await contact_emails(engine, ws.id) == emails(BATCH, tag)
    assert await chunk_count(engine, handed.id) == 1

    # The next worker takes it at once: no lease to wait out.
    assert await drain(engine) == 1
    await assert_completed(engine, ws, ref, SMALL_ROWS, tag, attempts=1)


# --- imports that cannot go on -------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts_before", "ending"), [(MAX_ATTEMPTS - 1, "completed"), (MAX_ATTEMPTS, "failed")]
)
async def test_an_import_is_given_up_after_max_attempts(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    attempts_before: int,
    ending: str,
) -> None:
    ref, tag = await upload_alone(engine, client, ws, 20)
    row = await import_row(engine, ref)
    await set_import(
        engine,
        row.id,
        status="processing",
        lease_owner="crashed-worker",
        lease_until=utcnow() - timedelta(minutes=1),
        attempts=attempts_before,
    )
    assert await drain(engine) == 1
    if ending == "completed":  # the fifth claim still works the import
        await assert_completed(engine, ws, ref, 20, tag, attempts=MAX_ATTEMPTS)
        return
    ended = await import_row(engine, ref)
    assert ended.status == "failed"
    assert ended.failure == f"The import stopped after {MAX_ATTEMPTS} attempts"
    assert (ended.lease_owner, ended.lease_until) == (None, None)
    assert ended.finished_at is not None
    assert (ended.rows_done, ended.created_count) == (0, 0)
    assert await contact_emails(engine, ws.id) == []
    assert await chunk_count(engine, row.id) == 0
    shown = await status(client, ws, ref)
    assert (shown["status"], shown["failure"]) == ("failed", ended.failure)
    assert await drain(engine) == 0  # a failed import is not taken again


async def test_the_import_of_a_deactivated_user_fails(
    engine: AsyncEngine, client: httpx.AsyncClient, ws: Workspace
) -> None:
    ref, _ = await upload_alone(engine, client, ws, 20)
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.update(users).where(users.c.id == ws.owner_id).values(active=False))
    assert await drain(engine) == 1
    ended = await import_row(engine, ref)
    assert ended.status == "failed"
    assert ended.failure == "The user who started the import is no longer active"
    assert (ended.lease_owner, ended.rows_done, ended.created_count) == (None, 0, 0)
    assert ended.finished_at is not None
    assert await contact_emails(engine, ws.id) == []
    assert await chunk_count(engine, ended.id) == 0


# --- abandoned uploads ---------------------------------------------------------------------


async def _import_of(engine: AsyncEngine, ws: Workspace, body: bytes, *, finished: bool) -> int:
    """An import whose file is stored; still uploading unless ``finished``."""
    async with transaction(engine, write=True) as conn:
        principal = await principal_for_user(conn, ws.owner_id)
        started = await begin_import(conn, principal, "contact")
    stored = Upload(engine, started.id, 10 * CHUNK_BYTES)
    await stored.write(body)
    await stored.close()
    if finished:
        await upload_done(engine, principal, started, size=stored.size)
    return started.id


async def test_abandoned_uploads_are_forgotten_after_a_day(
    engine: AsyncEngine, ws: Workspace
) -> None:
    await drain(engine)
    tag = secrets.token_hex(4)
    body = contacts_csv(20, tag)
    stale = await _import_of(engine, ws, body, finished=False)
    recent = await _import_of(engine, ws, body, finished=False)
    waiting = await _import_of(engine, ws, body, finished=True)
    now = utcnow()
    await set_import(engine, stale, updated_at=now - timedelta(days=1, minutes=5))
    await set_import(engine, recent, updated_at=now - timedelta(hours=23))
    await set_import(engine, waiting, updated_at=now - timedelta(days=3))

    await forget_stale_uploads(engine)
    async with transaction(engine, write=False) as conn:
        left = await conn.execute(
            sa.select(imports.c.id, imports.c.status).where(imports.c.workspace_id == ws.id)
        )
        assert {r.id: r.status for r in left} == {recent: "uploading", waiting: "pending"}
    assert await chunk_count(engine, stale) == 0  # its file went with it
    assert await chunk_count(engine, recent) == 1
    assert await chunk_count(engine, waiting) == 1

    # A waiting import, however old, is still worked.
    assert await drain(engine) == 1
    async with transaction(engine, write=True) as conn:
        done = await conn.execute(sa.select(imports.c.status).where(imports.c.id == waiting))
        assert done.scalar_one() == "completed"
        await conn.execute(sa.delete(imports).where(imports.c.id == recent))
    assert await contact_emails(engine, ws.id) == emails(20, tag)


async def test_the_worker_loop_sweeps_abandoned_uploads_when_it_starts(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    stop = asyncio.Event()

    async def sweep(_engine: AsyncEngine) -> None:
        seen.append("sweep")

    async def look(*_args: Any) -> bool:
        seen.append("look")
        stop.set()
        return False

    # A machine up for two minutes, as a freshly booted host or VM is.
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(monotonic=lambda: 120.0))
    monkeypatch.setattr(loop, "forget_stale_uploads", sweep)
    monkeypatch.setattr(loop, "process_next", look)
    await asyncio.wait_for(run(engine, stop, idle=0.01), 10)
    assert seen == ["sweep", "look"]
