"""Starting imports and following them: what was uploaded, how far the worker is, and
which rows it refused and why.

An import reads a CSV file into records of one object type through the intake, so its
columns are matched to fields as intake keys are, and duplicates are found the same way
(identities first, then the object's duplicate rule). A caller sees the imports they
started, and all imports of an object type whose records they may all see.
"""

from __future__ import annotations

import codecs
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.principal import Principal, Reach
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.identities.service import CHANNELS
from crm.core.ids import parse_uuid, uuid7
from crm.core.intake.service import resolve_entity
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records.creation import require_create
from crm.db.engine import transaction
from crm.db.schema import import_errors, imports

__all__ = [
    "Import",
    "RowError",
    "begin_import",
    "discard_upload",
    "get_import",
    "list_imports",
    "row_errors",
    "upload_done",
]

MAX_FILENAME = 255


@dataclass(frozen=True)
class Import:
    """An import as its starter sees it; counts grow as the worker goes."""

    id: int
    uuid: uuid.UUID
    object: ObjectMeta
    status: str
    filename: str | None
    size_bytes: int
    total_rows: int | None
    rows_done: int
    created: int
    updated: int
    skipped: int
    failed: int
    errors_kept: int
    failure: str | None
    created_by: int
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def succeeded(self) -> int:
        """Rows that became or matched a record."""
        return self.created + self.updated + self.skipped

    @property
    def processed(self) -> int:
        """Rows done so far, written or refused (blank lines are not rows)."""
        return self.succeeded + self.failed


@dataclass(frozen=True)
class RowError:
    """Why one row, or one of its cells, was refused."""

    id: int
    row: int
    column: str | None
    message: str


def _import(meta: WorkspaceMeta, row: Any) -> Import:
    return Import(
        id=row.id,
        uuid=row.uuid,
        object=meta.objects_by_id[row.object_type_id],
        status=row.status,
        filename=row.filename,
        size_bytes=row.size_bytes,
        total_rows=row.total_rows,
        rows_done=row.rows_done,
        created=row.created_count,
        updated=row.updated_count,
        skipped=row.skipped_count,
        failed=row.failed_count,
        errors_kept=row.errors_kept,
        failure=row.failure,
        created_by=row.created_by,
        options=row.options,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        updated_at=row.updated_at,
    )


def _encoding(value: Any) -> str:
    try:
        if not isinstance(value, str) or not codecs.lookup(value)._is_text_encoding:
            raise LookupError(value)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise ValidationFailed.of(
            [FieldError("encoding", "must name a text encoding such as utf-8")]
        ) from None
    return value


async def begin_import(
    conn: AsyncConnection, principal: Principal, entity: Any, *, phone_channel: Any = None
) -> Import:
    """An import of records of ``entity`` whose file is about to be uploaded.

    ``phone_channel`` makes each row's phone also its identity on that channel.
    """
    meta = await metadata_for(conn, principal)
    obj = resolve_entity(meta, entity)
    principal.require_scope(obj.key, "create")
    require_create(principal, obj)
    if phone_channel is not None and phone_channel not in CHANNELS:
        raise ValidationFailed.of(
            [FieldError("phone_channel", "must be one of " + ", ".join(CHANNELS))]
        )
    now = utcnow()
    row = (
        await conn.execute(
            sa.insert(imports)
            .values(
                workspace_id=principal.workspace_id,
                uuid=uuid7(),
                object_type_id=obj.id,
                created_by=principal.user_id,
                key_id=principal.key_id,
                scopes=sorted(principal.scopes),
                options={"encoding": "utf-8", "phone_channel": phone_channel},
                status="uploading",
                created_at=now,
                updated_at=now,
            )
            .returning(*imports.c)
        )
    ).one()
    return _import(meta, row)


async def upload_done(
    engine: AsyncEngine,
    principal: Principal,
    started: Import,
    *,
    size: int,
    filename: str | None = None,
    encoding: Any = "utf-8",
) -> Import:
    """Hand a fully uploaded file to the workers, to be read in ``encoding``."""
    options = {**started.options, "encoding": _encoding(encoding)}
    async with transaction(engine, write=True) as conn:
        row = (
            await conn.execute(
                sa.update(imports)
                .where(imports.c.id == started.id)
                .values(
                    status="pending",
                    size_bytes=size,
                    filename=filename[-MAX_FILENAME:] if filename else None,
                    options=options,
                    updated_at=utcnow(),
                )
                .returning(*imports.c)
            )
        ).one()
        return _import(await metadata_for(conn, principal), row)


async def discard_upload(engine: AsyncEngine, started: Import) -> None:
    """Forget an upload that did not finish, and the part of its file already stored."""
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.delete(imports).where(imports.c.id == started.id))


def _seen_by(principal: Principal, obj: ObjectMeta) -> Any:
    """Who started the imports the caller may follow: anyone, if they see every record."""
    if principal.reach(obj.key, "view") is Reach.ALL:
        return sa.true()
    return imports.c.created_by == principal.user_id


async def get_import(conn: AsyncConnection, principal: Principal, ref: str) -> Import:
    """An import the caller may follow, by UUID; NotFound otherwise."""
    meta = await metadata_for(conn, principal)
    wanted = parse_uuid(ref)
    row = None
    if wanted is not None:
        row = (
            await conn.execute(
                sa.select(imports).where(
                    imports.c.workspace_id == principal.workspace_id,
                    imports.c.uuid == wanted,
                    imports.c.status != "uploading",
                )
            )
        ).first()
    if row is None:
        raise NotFound("Import not found")
    found = _import(meta, row)
    principal.require_scope(found.object.key, "list")
    if principal.reach(found.object.key, "view") is not Reach.ALL and (
        found.created_by != principal.user_id
    ):
        raise NotFound("Import not found")
    return found


async def list_imports(
    conn: AsyncConnection,
    principal: Principal,
    entity: Any,
    *,
    limit: int = 50,
    before: str | None = None,
) -> list[Import]:
    """The caller's view of the imports of ``entity``, newest first; ``before`` is the id of
    the last import of the previous page."""
    meta = await metadata_for(conn, principal)
    obj = resolve_entity(meta, entity)
    principal.require_scope(obj.key, "list")
    query = (
        sa.select(imports)
        .where(
            imports.c.workspace_id == principal.workspace_id,
            imports.c.object_type_id == obj.id,
            imports.c.status != "uploading",
            _seen_by(principal, obj),
        )
        .order_by(imports.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        last = await get_import(conn, principal, before)
        query = query.where(imports.c.id < last.id)
    return [_import(meta, row) for row in await conn.execute(query)]


async def row_errors(
    conn: AsyncConnection, principal: Principal, ref: str, *, after: int = 0, limit: int = 100
) -> tuple[Import, list[RowError]]:
    """An import and a page of its row errors in file order, from the error after ``after``."""
    found = await get_import(conn, principal, ref)
    rows = await conn.execute(
        sa.select(import_errors)
        .where(import_errors.c.import_id == found.id, import_errors.c.id > after)
        .order_by(import_errors.c.id)
        .limit(limit)
    )
    return found, [RowError(r.id, r.row, r.column, r.message) for r in rows]
