"""Notes: text on a record, typed (note, call, meeting, ...), with an author and a time.

Each note has a number in its workspace (1, 2, ...) beside its UUID; either names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal, Reach
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events.service import append_many, event_row, record_event
from crm.core.ids import uuid7
from crm.core.limits import MAX_TEXT_BODY
from crm.core.metadata.fieldtypes import DateTime, FieldContext, FieldValueError
from crm.core.paging import after, check_limit
from crm.core.records.model import Record
from crm.core.records.rules import numbered_ident
from crm.core.records.sequences import take_numbers
from crm.core.records.service import get_record, locate_record
from crm.db.schema import notes

NOTE_KINDS = ("note", "call", "meeting", "email", "sms", "task")
MAX_TAG = 64
#: Notes on a page of a record's notes unless the caller asks for fewer or more.
NOTE_PAGE = 100
MAX_NOTE_PAGE = 500


@dataclass(frozen=True)
class Note:
    id: int
    uuid: Any
    #: Its number in its workspace.
    number: int
    record: Record
    author_id: int | None
    kind: str
    body: str
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    tag: str | None = None


def _note(row: Any, record: Record) -> Note:
    return Note(
        row.id,
        row.uuid,
        row.number,
        record,
        row.author_id,
        row.kind,
        row.body,
        row.occurred_at,
        row.created_at,
        row.updated_at,
        row.tag,
    )


def _check(spec: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors = [
        FieldError(k, "unknown attribute", "unknown")
        for k in spec
        if k not in ("body", "kind", "occurred_at", "tag")
    ]
    out: dict[str, Any] = {}
    if creating or "body" in spec:
        body = spec.get("body")
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_TEXT_BODY:
            errors.append(FieldError("body", f"must be 1 to {MAX_TEXT_BODY} characters"))
        else:
            out["body"] = body
    if "kind" in spec or creating:
        kind = spec.get("kind", "note")
        kind = kind.lower() if isinstance(kind, str) else kind
        if kind not in NOTE_KINDS:
            errors.append(FieldError("kind", "must be one of " + ", ".join(NOTE_KINDS)))
        out["kind"] = kind
    if "tag" in spec:
        tag = spec["tag"]
        if tag is not None and (not isinstance(tag, str) or len(tag.strip()) > MAX_TAG):
            errors.append(FieldError("tag", f"must be text of at most {MAX_TAG} characters"))
        else:
            out["tag"] = tag.strip() if isinstance(tag, str) and tag.strip() else None
    if spec.get("occurred_at") is not None:
        try:
            stamp = DateTime().parse(spec["occurred_at"], FieldContext("occurred_at", {}))
            out["occurred_at"] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except FieldValueError as exc:
            errors.append(FieldError("occurred_at", str(exc)))
    if errors:
        raise ValidationFailed.of(errors)
    return out


async def add_note(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    spec: dict[str, Any],
) -> Note:
    """Add a note to a record the caller can see (its row locked: a record being deleted
    meanwhile takes no note)."""
    principal.require_scope("note", "create")
    record = await get_record(conn, principal, object_key, ref, lock=True)
    values = _check(spec, creating=True)
    now = utcnow()
    row = {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "number": await take_numbers(conn, principal.workspace_id, "note", 1),
        "record_id": record.id,
        "author_id": principal.user_id,
        "occurred_at": values.pop("occurred_at", now),
        "created_at": now,
        "updated_at": now,
        **values,
    }
    made = (await conn.execute(sa.insert(notes).values(**row).returning(*notes.c))).one()
    await record_event(conn, principal, record, "note.created", note=str(made.uuid), kind=made.kind)
    return _note(made, record)


def check_note(spec: dict[str, Any]) -> dict[str, Any]:
    """A new note's checked values (``body``, ``kind``, ``tag``); ValidationFailed otherwise."""
    return _check(spec, creating=True)


async def attach_notes(
    conn: AsyncConnection, principal: Principal, pairs: list[tuple[Record, dict[str, Any]]]
) -> None:
    """Add checked notes (see :func:`check_note`) to records the caller has just written.

    One insert and one batch of events for all of them, for intake of many records at once.
    """
    if not pairs:
        return
    principal.require_scope("note", "create")
    now = utcnow()
    first = await take_numbers(conn, principal.workspace_id, "note", len(pairs))
    rows = [
        {
            "workspace_id": principal.workspace_id,
            "uuid": uuid7(),
            "number": first + offset,
            "record_id": record.id,
            "author_id": principal.user_id,
            "kind": values.get("kind", "note"),
            "tag": values.get("tag"),
            "body": values["body"],
            "occurred_at": values.get("occurred_at", now),
            "created_at": now,
            "updated_at": now,
        }
        for offset, (record, values) in enumerate(pairs)
    ]
    await conn.execute(sa.insert(notes), rows)
    await append_many(
        conn,
        [
            event_row(
                principal,
                "note.created",
                at=now,
                object_type_id=record.object.id,
                record_id=record.id,
                payload={
                    "record": str(record.uuid),
                    "object": record.object.key,
                    "note": str(row["uuid"]),
                    "kind": row["kind"],
                },
            )
            for (record, _), row in zip(pairs, rows, strict=True)
        ],
    )


class NotePage(NamedTuple):
    """One page of a record's notes, and the id of its last note when more follow."""

    notes: list[Note]
    next_cursor: str | None


async def list_notes(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    limit: int = NOTE_PAGE,
    cursor: str | None = None,
) -> NotePage:
    """A page of a record's notes, newest first; ``cursor`` is the last note of the page
    before (422 if it is no live note of this record)."""
    principal.require_scope("note", "list")
    record = await get_record(conn, principal, object_key, ref)
    check_limit(limit, MAX_NOTE_PAGE)
    live = (
        notes.c.workspace_id == principal.workspace_id,
        notes.c.record_id == record.id,
        notes.c.deleted_at.is_(None),
    )
    select = sa.select(notes).where(*live)
    if cursor is not None:
        keys = sa.select(notes.c.occurred_at, notes.c.id).where(*live)
        last = await after(conn, keys, notes.c.uuid, cursor)
        select = select.where(
            (notes.c.occurred_at < last.occurred_at)
            | ((notes.c.occurred_at == last.occurred_at) & (notes.c.id < last.id))
        )
    rows = (
        await conn.execute(
            select.order_by(notes.c.occurred_at.desc(), notes.c.id.desc()).limit(limit + 1)
        )
    ).all()
    page = [_note(r, record) for r in rows[:limit]]
    return NotePage(page, str(page[-1].uuid) if len(rows) > limit else None)


def _live(principal: Principal, note_ref: str | int) -> sa.Select[Any]:
    """The live note of the workspace that ``note_ref`` names by UUID or number."""
    return sa.select(notes).where(
        notes.c.workspace_id == principal.workspace_id,
        numbered_ident(notes, note_ref, "Note"),
        notes.c.deleted_at.is_(None),
    )


async def get_note(conn: AsyncConnection, principal: Principal, ref: str | int) -> Note:
    """A live note by UUID or number, on a record the caller can see; NotFound otherwise."""
    principal.require_scope("note", "read")
    row = (await conn.execute(_live(principal, ref))).first()
    if row is None:
        raise NotFound("Note not found")
    try:
        record = await locate_record(conn, principal, row.record_id)
    except NotFound:
        raise NotFound("Note not found") from None
    return _note(row, record)


async def _changing(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    note_ref: str | int,
) -> tuple[Record, Any]:
    """A live note of a record the caller can see, by UUID or number, its row locked for
    the change to come."""
    record = await get_record(conn, principal, object_key, ref)
    select = _live(principal, note_ref).where(notes.c.record_id == record.id)
    row = (await conn.execute(select.with_for_update())).first()
    if row is None:
        raise NotFound("Note not found")
    if (
        row.author_id != principal.user_id
        and principal.reach(record.object.key, "edit") != Reach.ALL
    ):
        raise PermissionDenied("Only the author or an editor of all records may change this note")
    return record, row


async def update_note(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    note_ref: str | int,
    spec: dict[str, Any],
) -> Note:
    principal.require_scope("note", "update")
    record, row = await _changing(conn, principal, object_key, ref, note_ref)
    values = _check(spec, creating=False)
    changed = (
        await conn.execute(
            sa.update(notes)
            .where(notes.c.id == row.id)
            .values(updated_at=utcnow(), **values)
            .returning(*notes.c)
        )
    ).one()
    await record_event(conn, principal, record, "note.updated", note=str(row.uuid))
    return _note(changed, record)


async def delete_note(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    note_ref: str | int,
) -> None:
    principal.require_scope("note", "delete")
    record, row = await _changing(conn, principal, object_key, ref, note_ref)
    await conn.execute(sa.update(notes).where(notes.c.id == row.id).values(deleted_at=utcnow()))
    await record_event(conn, principal, record, "note.deleted", note=str(row.uuid))
