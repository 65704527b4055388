"""Many-to-many relations whose links carry attributes.

A relation field with ``options.multiple`` links a record to many records of another
object, each link with its own attributes (a contact's membership in a company, with a
title). Links are rows of ``record_links``; a link to a deleted record is hidden until the
record is restored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.events import append_event
from crm.core.metadata.model import FieldMeta, ObjectMeta, WorkspaceMeta
from crm.core.paging import after, check_limit
from crm.core.records import repository as repo
from crm.core.records.model import Record
from crm.core.records.service import context, get_record, require_reach
from crm.db.schema import record_links, records

MAX_ATTRIBUTES = 50
MAX_LINKS = 500


@dataclass(frozen=True)
class Link:
    """One link as seen from either end: the record at the other end and the attributes."""

    field: FieldMeta
    record: Record
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _link_field(meta: WorkspaceMeta, obj: ObjectMeta, key: str) -> tuple[FieldMeta, ObjectMeta]:
    f = obj.fields.get(key)
    if f is None or not f.holds_links:
        raise NotFound(f"{obj.key} has no many-to-many relation {key!r}")
    return f, meta.object(f.options["object"])


def _check_attributes(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_ATTRIBUTES:
        raise ValidationFailed.of(
            [FieldError("attributes", f"must be an object of at most {MAX_ATTRIBUTES} values")]
        )
    bad = [
        k
        for k, v in raw.items()
        if not (v is None or isinstance(v, str | int | float | bool)) or len(k) > 64
    ]
    if bad:
        raise ValidationFailed.of(
            [
                FieldError(f"attributes.{k}", "must be a string, number, boolean or null")
                for k in bad
            ]
        )
    return raw


@dataclass(frozen=True)
class _Ends:
    """Both ends of one link, resolved within the caller's scope."""

    obj: ObjectMeta
    field: FieldMeta
    target_obj: ObjectMeta
    record: Record
    target: Record

    def row(self, workspace_id: int) -> sa.ColumnElement[bool]:
        return sa.and_(
            record_links.c.workspace_id == workspace_id,
            record_links.c.field_id == self.field.id,
            record_links.c.from_id == self.record.id,
            record_links.c.to_id == self.target.id,
        )

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {
            "record": str(self.record.uuid),
            "object": self.obj.key,
            "field": self.field.key,
            "target": str(self.target.uuid),
            "target_object": self.target_obj.key,
            **extra,
        }


class LinkPage(NamedTuple):
    """One page of a record's links, and the linked record that ends it when more follow."""

    links: list[Link]
    next_cursor: str | None


async def _ends(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    field_key: str,
    target_ref: str | int,
) -> _Ends:
    """Resolve a link's ends for a change: the caller must be able to edit the record, whose
    row is locked so that its links change one writer at a time."""
    meta, obj = await context(conn, principal, object_key, "update")
    f, target_obj = _link_field(meta, obj, field_key)
    record = await get_record(conn, principal, obj.key, ref, lock=True)
    require_reach(principal, record, "edit")
    target = await get_record(conn, principal, target_obj.key, target_ref)
    return _Ends(obj, f, target_obj, record, target)


async def set_link(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    field_key: str,
    target_ref: str | int,
    *,
    attributes: Any = None,
) -> tuple[Link, bool]:
    """Link a record to another, or replace the link's attributes; True when newly made."""
    ends = await _ends(conn, principal, object_key, ref, field_key, target_ref)
    values = _check_attributes(attributes)
    now = utcnow()
    where = ends.row(principal.workspace_id)
    existing = (
        await conn.execute(sa.select(record_links.c.id, record_links.c.created_at).where(where))
    ).first()
    if existing is None:
        await conn.execute(
            sa.insert(record_links).values(
                workspace_id=principal.workspace_id,
                field_id=ends.field.id,
                from_id=ends.record.id,
                to_id=ends.target.id,
                attributes=values,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        await conn.execute(
            sa.update(record_links).where(where).values(attributes=values, updated_at=now)
        )
    await append_event(
        conn,
        principal.workspace_id,
        "link.added" if existing is None else "link.updated",
        actor=principal,
        object_type_id=ends.obj.id,
        record_id=ends.record.id,
        payload=ends.payload(attributes=values),
    )
    created_at = now if existing is None else existing.created_at
    return Link(ends.field, ends.target, values, created_at, now), existing is None


async def remove_link(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    field_key: str,
    target_ref: str | int,
) -> None:
    """Remove a link; NotFound when there is none."""
    ends = await _ends(conn, principal, object_key, ref, field_key, target_ref)
    result = await conn.execute(sa.delete(record_links).where(ends.row(principal.workspace_id)))
    if result.rowcount == 0:
        raise NotFound("Link not found")
    await append_event(
        conn,
        principal.workspace_id,
        "link.removed",
        actor=principal,
        object_type_id=ends.obj.id,
        record_id=ends.record.id,
        payload=ends.payload(),
    )


async def list_links(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    field_key: str,
    *,
    reverse_from: str | None = None,
    limit: int = MAX_LINKS,
    cursor: str | None = None,
) -> LinkPage:
    """A page of the links of a record through a many-to-many field, oldest first;
    ``cursor`` is the linked record that ended the page before (422 if it is not linked).

    With ``reverse_from`` (an object key) the record is the target end and ``field_key`` is
    that object's field: the companies of a contact, or the contacts of a company.
    """
    meta, obj = await context(conn, principal, object_key, "read")
    record = await get_record(conn, principal, obj.key, ref)
    if reverse_from is None:
        f, other = _link_field(meta, obj, field_key)
        here, there = record_links.c.from_id, record_links.c.to_id
    else:
        source = meta.object(reverse_from)
        f, target_obj = _link_field(meta, source, field_key)
        if target_obj.id != obj.id:
            raise NotFound(f"{source.key}.{f.key} does not relate to {obj.key}")
        other = source
        here, there = record_links.c.to_id, record_links.c.from_id
    principal.require_scope(other.key, "list")
    check_limit(limit, MAX_LINKS)
    mine = (
        record_links.c.workspace_id == principal.workspace_id,
        record_links.c.field_id == f.id,
        here == record.id,
    )
    select = (
        sa.select(
            *repo.COLUMNS,
            record_links.c.attributes,
            record_links.c.created_at.label("linked_at"),
            record_links.c.updated_at.label("link_updated_at"),
        )
        .join(record_links, there == records.c.id)
        .where(repo.scoped(principal, other), *mine)
    )
    if cursor is not None:
        keys = sa.select(record_links.c.id).join(records, there == records.c.id).where(*mine)
        last = await after(conn, keys, records.c.uuid, cursor)
        select = select.where(record_links.c.id > last.id)
    rows = (await conn.execute(select.order_by(record_links.c.id).limit(limit + 1))).all()
    page = [
        Link(f, repo.to_record(other, r), r.attributes, r.linked_at, r.link_updated_at)
        for r in rows[:limit]
    ]
    return LinkPage(page, str(page[-1].record.uuid) if len(rows) > limit else None)
