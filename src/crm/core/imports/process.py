"""Working through imports: claim one, read its file in batches, write each batch with its
checkpoint in one transaction.

A worker holds an import under a lease that every batch renews. A worker that dies leaves
its lease to run out; the next worker to claim the import skips the rows before the
checkpoint, so no row is written twice and none is lost. An import that keeps failing is
given up after :data:`MAX_ATTEMPTS` claims.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import principal_for_user
from crm.core.clock import utcnow
from crm.core.errors import CRMError
from crm.core.imports.rows import Row, RowReader, Unreadable
from crm.core.imports.storage import ChunkReader
from crm.core.intake.keys import matcher_for, normalise
from crm.core.intake.payload import understood
from crm.core.intake.service import Outcome, take_in_many
from crm.core.metadata.model import ObjectMeta
from crm.core.metadata.service import metadata_for
from crm.db.engine import transaction
from crm.db.rows import refresh_statistics
from crm.db.schema import import_chunks, import_errors, imports, records, users

__all__ = [
    "BATCH",
    "LEASE",
    "MAX_ATTEMPTS",
    "MAX_ERRORS",
    "forget_stale_uploads",
    "process_next",
]

log = logging.getLogger(__name__)

#: Rows written per transaction (and per checkpoint).
BATCH = 1000
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
#: Row errors kept per import; the counts go on beyond it.
MAX_ERRORS = 10_000
#: How long an upload may stay unfinished before it is taken for abandoned.
STALE_UPLOAD = timedelta(days=1)
#: Batches after which the planner's statistics of records are refreshed: a table that
#: grows tenfold is planned for again.
STATISTICS_AT = (1, 10, 100)
#: Rows read without writing (counting, resuming) between lease renewals.
KEEP_ALIVE = 50_000
#: Longest column name kept with a row error.
MAX_COLUMN = 255
_UNSTORABLE = re.compile("[\x00\udc00-\udcff]")
#: Keys of intake errors that name no column.
_NO_COLUMN = frozenset({"fields", "item", "payload", "batch"})


class _Failed(Exception):
    """The import cannot go on; its message tells the user why."""


class _LeaseLost(Exception):
    """Another worker holds the import now."""


class _Paused(Exception):
    """The worker is stopping: the import waits for the next one."""


@dataclass
class _Tally:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, number: int, column: str | None, message: str) -> None:
        self.errors.append({"row": number, "column": column, "message": message})


@dataclass
class _Job:
    """A claimed import and what reading it needs."""

    id: int
    owner: str
    row: Any
    principal: Principal | None = None
    obj: ObjectMeta | None = None
    columns: list[str] = field(default_factory=list)
    phone_column: str | None = None
    stopping: Callable[[], bool] = lambda: False


async def process_next(
    engine: AsyncEngine, owner: str, stopping: Callable[[], bool] = lambda: False
) -> bool:
    """Claim the oldest import waiting (or abandoned) and work it to its end; whether there
    was one. ``owner`` names this worker in leases; once ``stopping()`` is true, the import
    is handed back after the batch at hand."""
    job = await _claim(engine, owner)
    if job is None:
        return False
    job.stopping = stopping
    try:
        if job.row.attempts > MAX_ATTEMPTS:
            raise _Failed(f"The import stopped after {MAX_ATTEMPTS} attempts")
        await _run(engine, job)
    except _Failed as exc:
        await _finish(engine, job, "failed", str(exc))
    except _LeaseLost:
        log.warning("import %s was taken over by another worker", job.row.uuid)
    except _Paused:
        await _hand_back(engine, job)
    return True


async def _claim(engine: AsyncEngine, owner: str) -> _Job | None:
    now = utcnow()
    async with transaction(engine, write=True) as conn:
        waiting = (
            sa.select(imports.c.id)
            .where(
                sa.or_(
                    imports.c.status == "pending",
                    sa.and_(imports.c.status == "processing", imports.c.lease_until < now),
                )
            )
            .order_by(imports.c.id)
            .limit(1)
        )
        if conn.dialect.name == "postgresql":
            waiting = waiting.with_for_update(skip_locked=True)
        found = (await conn.execute(waiting)).scalar()
        if found is None:
            return None
        row = (
            await conn.execute(
                sa.update(imports)
                .where(imports.c.id == found)
                .values(
                    status="processing",
                    lease_owner=owner,
                    lease_until=now + LEASE,
                    attempts=imports.c.attempts + 1,
                    started_at=sa.func.coalesce(imports.c.started_at, now),
                    updated_at=now,
                )
                .returning(*imports.c)
            )
        ).one()
    return _Job(found, owner, row)


async def _acting(conn: AsyncConnection, row: Any) -> Principal:
    """The import's starter, with the scopes of the key they started it with."""
    active = (
        await conn.execute(sa.select(users.c.active).where(users.c.id == row.created_by))
    ).scalar()
    if not active:
        raise _Failed("The user who started the import is no longer active")
    principal = await principal_for_user(conn, row.created_by)
    return dataclasses.replace(principal, scopes=frozenset(row.scopes), key_id=row.key_id)


async def _run(engine: AsyncEngine, job: _Job) -> None:
    async with transaction(engine, write=False) as conn:
        job.principal = await _acting(conn, job.row)
        meta = await metadata_for(conn, job.principal)
    job.obj = meta.objects_by_id.get(job.row.object_type_id)
    if job.obj is None:
        raise _Failed("The object type of the import no longer exists")
    reader = RowReader(ChunkReader(engine, job.id), job.row.options["encoding"])
    try:
        _read_header(job, matcher_for(meta, job.obj), await reader.next())
        if job.row.total_rows is None:
            await _count(engine, job)
        batches = 0
        for skipped in range(job.row.rows_done):
            await reader.next()
            if skipped % KEEP_ALIVE == KEEP_ALIVE - 1:
                await _keep_alive(engine, job)
        while True:
            rows: list[Row] = []
            while len(rows) < BATCH and (row := await reader.next()) is not None:
                rows.append(row)
            if not rows:
                break
            if job.stopping():
                raise _Paused
            async with transaction(engine, write=True) as conn:
                await _write_batch(conn, job, rows)
            batches += 1
            if batches in STATISTICS_AT or batches % STATISTICS_AT[-1] == 0:
                async with transaction(engine, write=True) as conn:
                    await refresh_statistics(conn, records)
    except Unreadable as exc:
        raise _Failed(str(exc)) from None
    await _finish(engine, job, "completed", None)


def _read_header(job: _Job, matcher: Any, header: Row | None) -> None:
    assert job.obj is not None
    if header is None or header.blank:
        raise _Failed(
            "The file is empty" if header is None else "The first row, the header, is empty"
        )
    if header.error is not None:
        raise _Failed(f"The header row {header.error}")
    job.columns = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(header.cells)]
    if not any(understood(matcher, job.obj, c) for c in job.columns):
        shown = ", ".join(_printable(c)[:40] for c in job.columns[:10])
        raise _Failed(
            f"No column of the header matches a field of {job.obj.plural_label.lower()}: {shown}"
        )
    channel = job.row.options.get("phone_channel")
    if channel and not any(normalise(c) == channel for c in job.columns):
        job.phone_column = next(
            (c for c in job.columns if (f := matcher.field(c)) is not None and f.key == "phone"),
            None,
        )


async def _count(engine: AsyncEngine, job: _Job) -> None:
    """Count the file's rows, so that progress can be told from the start."""
    reader = RowReader(ChunkReader(engine, job.id), job.row.options["encoding"])
    total, read = -1, 0  # the header is no row
    while (row := await reader.next()) is not None:
        total += 0 if row.blank else 1
        read += 1
        if read % KEEP_ALIVE == 0:
            await _keep_alive(engine, job)
    async with transaction(engine, write=True) as conn:
        await _renew(conn, job, total_rows=total)


async def _keep_alive(engine: AsyncEngine, job: _Job) -> None:
    """Renew the lease while reading without writing (counting, skipping to the checkpoint)."""
    async with transaction(engine, write=True) as conn:
        await _renew(conn, job)


async def _renew(conn: AsyncConnection, job: _Job, **values: Any) -> None:
    """Extend the lease (with ``values``); _LeaseLost when another worker has the import."""
    now = utcnow()
    done = await conn.execute(
        sa.update(imports)
        .where(
            imports.c.id == job.id,
            imports.c.lease_owner == job.owner,
            imports.c.status == "processing",
        )
        .values(lease_until=now + LEASE, updated_at=now, **values)
    )
    if done.rowcount != 1:
        raise _LeaseLost


def _payload(job: _Job, row: Row) -> dict[str, str]:
    payload: dict[str, str] = {}
    for column, cell in zip(job.columns, row.cells, strict=True):
        value = cell.strip()
        if value and column not in payload:
            payload[column] = value
    if job.phone_column in payload:
        payload[job.row.options["phone_channel"]] = payload[job.phone_column]
    return payload


def _column(job: _Job, key: str, outcome: Outcome) -> str | None:
    """The column a problem with ``key`` (a field or a directive) came from."""
    for column, target in outcome.matched.items():
        if target == key:
            return column
    if key in _NO_COLUMN:
        return None
    wanted = normalise(key.split(".")[0])
    found = next((c for c in job.columns if normalise(c) == wanted), None)
    if found is None and job.phone_column and wanted == job.row.options.get("phone_channel"):
        return job.phone_column  # the identity the phone column also gave
    return found or key


def _problem(job: _Job, row: Row) -> tuple[str | None, str] | None:
    """What makes a row unreadable: its column (if one) and the message."""
    if row.error is not None:
        if row.column is not None and row.column < len(job.columns):
            return job.columns[row.column], row.error
        return None, f"The row {row.error}"
    if len(row.cells) != len(job.columns):
        return None, f"The row has {len(row.cells)} cells where the header has {len(job.columns)}"
    return None


async def _write_batch(conn: AsyncConnection, job: _Job, rows: list[Row]) -> None:
    assert job.principal is not None
    assert job.obj is not None
    await _renew(conn, job)
    tally = _Tally(rows=len(rows))
    payloads: list[dict[str, str]] = []
    numbers: list[int] = []
    for row in rows:
        problem = None if row.blank else _problem(job, row)
        if problem is not None:
            tally.failed += 1
            tally.refuse(row.number, *problem)
        elif not row.blank:
            payloads.append(_payload(job, row))
            numbers.append(row.number)
    if payloads:
        try:
            outcomes = await take_in_many(conn, job.principal, job.obj.key, payloads)
        except CRMError as exc:
            raise _Failed(exc.message) from None
        for number, outcome in zip(numbers, outcomes, strict=True):
            _count_outcome(job, tally, number, outcome)
    await _keep(conn, job, tally)


def _count_outcome(job: _Job, tally: _Tally, number: int, outcome: Outcome) -> None:
    if outcome.error is None:
        setattr(tally, outcome.status, getattr(tally, outcome.status) + 1)
        return
    tally.failed += 1
    details = outcome.error.details or [{"field": "fields", "message": outcome.error.message}]
    seen = set()
    for detail in details:
        column = _column(job, str(detail.get("field") or "fields"), outcome)
        message = str(detail.get("message"))
        if (column, message) not in seen:
            seen.add((column, message))
            tally.refuse(number, column, message)


def _printable(text: str) -> str:
    """Text the database stores whatever the file held: NULs and undecodable bytes become
    U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def _stored(error: dict[str, Any]) -> dict[str, Any]:
    column = error["column"]
    return {
        "row": error["row"],
        "column": None if column is None else _printable(column)[:MAX_COLUMN],
        "message": _printable(error["message"]),
    }


async def _keep(conn: AsyncConnection, job: _Job, tally: _Tally) -> None:
    """Store a batch's errors (up to the limit) and move the checkpoint past it."""
    kept = (
        await conn.execute(sa.select(imports.c.errors_kept).where(imports.c.id == job.id))
    ).scalar_one()
    room = max(0, MAX_ERRORS - kept)
    stored = sorted(tally.errors, key=lambda e: e["row"])[:room]
    if stored:
        await conn.execute(
            sa.insert(import_errors), [{"import_id": job.id, **_stored(e)} for e in stored]
        )
    await conn.execute(
        sa.update(imports)
        .where(imports.c.id == job.id)
        .values(
            rows_done=imports.c.rows_done + tally.rows,
            created_count=imports.c.created_count + tally.created,
            updated_count=imports.c.updated_count + tally.updated,
            skipped_count=imports.c.skipped_count + tally.skipped,
            failed_count=imports.c.failed_count + tally.failed,
            errors_kept=imports.c.errors_kept + len(stored),
        )
    )


async def _hand_back(engine: AsyncEngine, job: _Job) -> None:
    """Let go of the import, unfinished, for the next worker to resume at once."""
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            sa.update(imports)
            .where(imports.c.id == job.id, imports.c.lease_owner == job.owner)
            .values(
                status="pending",
                lease_owner=None,
                lease_until=None,
                attempts=imports.c.attempts - 1,
                updated_at=utcnow(),
            )
        )


async def _finish(engine: AsyncEngine, job: _Job, status: str, failure: str | None) -> None:
    """End the import and let go of its file."""
    async with transaction(engine, write=True) as conn:
        now = utcnow()
        done = await conn.execute(
            sa.update(imports)
            .where(imports.c.id == job.id, imports.c.lease_owner == job.owner)
            .values(
                status=status,
                failure=None if failure is None else _printable(failure),
                lease_owner=None,
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
        )
        if done.rowcount == 1:
            await conn.execute(sa.delete(import_chunks).where(import_chunks.c.import_id == job.id))


async def forget_stale_uploads(engine: AsyncEngine) -> None:
    """Delete uploads abandoned half-way (their server stopped mid-upload)."""
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            sa.delete(imports).where(
                imports.c.status == "uploading", imports.c.updated_at < utcnow() - STALE_UPLOAD
            )
        )
