"""Helpers for the import worker's tests: generated CSV files, uploads, worker processes and
looks at what the database holds."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import utcnow
from crm.db.engine import transaction
from crm.db.schema import import_chunks, imports, records
from crm.worker.loop import drain
from tests.conftest import Workspace

HEADER = "first_name,last_name,email,city\n"


def email(i: int, tag: str) -> str:
    return f"person{i}.{tag}@example.com"


def contacts_csv(count: int, tag: str) -> bytes:
    """A CSV of ``count`` contacts with unique emails (non-ASCII names, so that chunk
    boundaries may split a character)."""
    rows = "".join(f"Zoë {i},Müller {tag},{email(i, tag)},São Paulo\n" for i in range(count))
    return (HEADER + rows).encode()


def emails(count: int, tag: str) -> list[str]:
    return sorted(email(i, tag) for i in range(count))


async def upload(client: httpx.AsyncClient, ws: Workspace, body: bytes) -> uuid.UUID:
    """Upload ``body`` as an import of contacts; the import's id (it waits, pending)."""
    answer = await client.post(
        "/api/v1/objects/contact/imports",
        content=body,
        headers={**ws.auth, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    return uuid.UUID(answer.json()["id"])


async def upload_alone(
    engine: AsyncEngine, client: httpx.AsyncClient, ws: Workspace, count: int
) -> tuple[uuid.UUID, str]:
    """Do the work other tests left waiting, then upload ``count`` contacts under a new tag:
    the import is the only one a worker can take. Its id, and the tag."""
    await drain(engine)
    tag = secrets.token_hex(4)
    return await upload(client, ws, contacts_csv(count, tag)), tag


async def status(client: httpx.AsyncClient, ws: Workspace, ref: uuid.UUID) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/imports/{ref}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def assert_shown_completed(shown: dict[str, Any], rows: int) -> None:
    """The API shows the import completed, each of its ``rows`` rows read and created."""
    assert shown["status"] == "completed", shown
    assert (shown["total_rows"], shown["processed_rows"], shown["created"]) == (rows, rows, rows)
    assert (shown["updated"], shown["skipped"], shown["failed"]) == (0, 0, 0)


async def import_row(engine: AsyncEngine, ref: uuid.UUID) -> Any:
    async with transaction(engine, write=False) as conn:
        return (await conn.execute(sa.select(imports).where(imports.c.uuid == ref))).one()


async def set_import(engine: AsyncEngine, import_id: int, **values: Any) -> None:
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.update(imports).where(imports.c.id == import_id).values(**values))


async def expire_lease(engine: AsyncEngine, import_id: int) -> None:
    """Make the import's lease run out, as a minute of waiting would."""
    await set_import(engine, import_id, lease_until=utcnow() - timedelta(minutes=1))


async def chunk_count(engine: AsyncEngine, import_id: int) -> int:
    async with transaction(engine, write=False) as conn:
        found = await conn.execute(
            sa.select(sa.func.count())
            .select_from(import_chunks)
            .where(import_chunks.c.import_id == import_id)
        )
        return int(found.scalar_one())


async def contact_emails(engine: AsyncEngine, workspace_id: int) -> list[str]:
    """The emails of the workspace's live records, sorted, one per record; checked against
    the database's own count and distinct count."""
    live = sa.and_(records.c.workspace_id == workspace_id, records.c.deleted_at.is_(None))
    email_of = records.c.data["email"].as_string()
    async with transaction(engine, write=False) as conn:
        found = sorted(
            str(e) for e in (await conn.execute(sa.select(email_of).where(live))).scalars()
        )
        total, distinct = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.count(sa.distinct(email_of))).where(live)
            )
        ).one()
    assert total == len(found)
    assert distinct == len(set(found)), "duplicate emails"
    return found


async def wait_for_import(
    engine: AsyncEngine,
    ref: uuid.UUID,
    reached: Callable[[Any], bool],
    *,
    within: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> Any:
    """Poll the import's row until ``reached(row)``; fail if ``process`` exits first or
    ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        row = await import_row(engine, ref)
        if reached(row):
            return row
        if process is not None and process.poll() is not None:
            shown = await asyncio.to_thread(log.read_text) if log is not None else ""
            raise AssertionError(f"worker exited {process.returncode}: {shown}")
        if time.monotonic() > deadline:
            raise AssertionError(f"import not there in {within} s: {dict(row._mapping)}")
        await asyncio.sleep(0.02)


def start_worker(database_url: str, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """``crm worker`` as a process of its own, its output in ``log``."""
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "crm", "worker", *options, "--database-url", database_url],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def end(process: subprocess.Popen[bytes]) -> None:
    """Make sure ``process`` is gone (a test that failed half-way may leave it running)."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


async def interrupt_worker(
    engine: AsyncEngine,
    ref: uuid.UUID,
    database_url: str,
    log: Path,
    signum: int,
    *,
    exit_within: float,
) -> subprocess.Popen[bytes]:
    """Start ``crm worker`` (its output in ``log``), send it ``signum`` once it has written
    some rows of the import ``ref``, and wait ``exit_within`` seconds at most for it to exit;
    the process, ended."""
    worker = start_worker(database_url, log)
    try:
        await wait_for_import(
            engine, ref, lambda r: r.rows_done > 0, within=120, process=worker, log=log
        )
        worker.send_signal(signum)
        worker.wait(timeout=exit_within)
    finally:
        end(worker)
    return worker
