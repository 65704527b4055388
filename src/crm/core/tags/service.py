"""Tags: workspace labels that any record can carry, to segment and find records.

A tag's name is unique in its workspace whatever its case. Tagging and untagging are
idempotent, and each change appends an event; deleting a tag takes it off every record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.events.service import append_many, event_row, record_event
from crm.core.ids import parse_uuid, uuid7
from crm.core.limits import MAX_NEW_TAGS
from crm.core.metadata.service import metadata_for
from crm.core.paging import after, check_limit
from crm.core.records.model import Record
from crm.core.records.rules import context, visible
from crm.core.records.service import get_record, require_reach
from crm.db.direct import Prepared, Reader, param
from crm.db.rows import chunks, insert_new, insert_new_many
from crm.db.schema import record_tags, records, tags

__all__ = [
    "MAX_TAG_PAGE",
    "TAG_PAGE",
    "Tag",
    "TagPage",
    "check_name",
    "create_tag",
    "delete_tag",
    "get_tag",
    "list_tags",
    "tag_record",
    "tag_records",
    "tags_named",
    "tags_of",
    "tags_on",
    "untag_record",
]

MAX_NAME = 100
#: Tags on a page of the list unless the caller asks for fewer or more (up to the most).
TAG_PAGE = 500
MAX_TAG_PAGE = 1000


@dataclass(frozen=True)
class Tag:
    id: int
    uuid: Any
    name: str
    created_at: datetime
    created_by: int | None
    labeled_count: int = 0


def _tag(row: Any, count: int = 0) -> Tag:
    return Tag(row.id, row.uuid, row.name, row.created_at, row.created_by, count)


def check_name(name: Any, most: int = MAX_NAME) -> str:
    """A tag's (or a list's, of at most ``most`` characters) name with its spaces tidied;
    ValidationFailed on ``name`` when it is unfit."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > most:
        raise ValidationFailed.of([FieldError("name", f"must be 1 to {most} characters")])
    return " ".join(name.split())


class TagPage(NamedTuple):
    """One page of the workspace's tags, and the cursor of the next (None on the last)."""

    tags: list[Tag]
    next_cursor: str | None


async def _page(
    conn: AsyncConnection,
    principal: Principal,
    record_id: int | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """A page of tag rows by name (of one record's when ``record_id``), and the id of its
    last tag when more follow."""
    check_limit(limit, MAX_TAG_PAGE)

    def over(*columns: Any) -> sa.Select[Any]:
        select = sa.select(*columns).where(tags.c.workspace_id == principal.workspace_id)
        if record_id is None:
            return select
        return select.join(record_tags, record_tags.c.tag_id == tags.c.id).where(
            record_tags.c.record_id == record_id
        )

    select = over(tags)
    if cursor is not None:
        last = await after(conn, over(tags.c.name_key), tags.c.uuid, cursor)
        select = select.where(tags.c.name_key > last.name_key)
    rows = (await conn.execute(select.order_by(tags.c.name_key).limit(limit + 1))).all()
    return rows[:limit], str(rows[limit - 1].uuid) if len(rows) > limit else None


async def list_tags(
    conn: AsyncConnection,
    principal: Principal,
    *,
    limit: int = TAG_PAGE,
    cursor: str | None = None,
) -> TagPage:
    """A page of the workspace's tags by name, each with how many live records carry it;
    ``cursor`` is the last tag of the page before."""
    principal.require_scope("tag", "list")
    page, next_cursor = await _page(conn, principal, None, limit, cursor)
    counts: dict[int, int] = {}
    if page:
        counted = await conn.execute(
            sa.select(record_tags.c.tag_id, sa.func.count())
            .join(records, records.c.id == record_tags.c.record_id)
            .where(
                record_tags.c.workspace_id == principal.workspace_id,
                record_tags.c.tag_id.in_([r.id for r in page]),
                records.c.deleted_at.is_(None),
            )
            .group_by(record_tags.c.tag_id)
        )
        counts = {tag_id: n for tag_id, n in counted.all()}
    return TagPage([_tag(r, counts.get(r.id, 0)) for r in page], next_cursor)


async def get_tag(
    conn: AsyncConnection,
    principal: Principal,
    ref: str,
    *,
    lock: bool = False,
    exclusive: bool = False,
) -> Tag:
    """A tag of the workspace by UUID; NotFound otherwise. A writer that puts it on records
    passes ``lock``: the tag then cannot be deleted before the writer's transaction ends.
    Its deletion passes ``exclusive``: writers putting it on records finish first, and no
    other starts until the deletion ends, so the records it is on stay as they were read."""
    wanted = parse_uuid(ref)
    row = None
    if wanted is not None:
        select = sa.select(tags).where(
            tags.c.workspace_id == principal.workspace_id, tags.c.uuid == wanted
        )
        if lock or exclusive:
            select = select.with_for_update(read=not exclusive)
        row = (await conn.execute(select)).first()
    if row is None:
        raise NotFound("Tag not found")
    return _tag(row)


async def create_tag(conn: AsyncConnection, principal: Principal, *, name: Any) -> Tag:
    """A new tag; 409 when the workspace has one of that name (in any case)."""
    principal.require_scope("tag", "create")
    clean = check_name(name)
    made = await _insert(conn, principal, [clean])
    if not made:
        raise Conflict(f"A tag named {clean!r} exists already")
    return made[0]


async def _insert(conn: AsyncConnection, principal: Principal, names: list[str]) -> list[Tag]:
    """Create the tags of ``names`` (tidied, distinct when folded) that do not exist yet,
    with their events; the tags created.

    Names are inserted in folded order and a name another request creates at the same
    moment is left to it (ON CONFLICT DO NOTHING), so concurrent creators neither fail nor
    wait on each other in a cycle.
    """
    now = utcnow()
    rows = [
        {
            "workspace_id": principal.workspace_id,
            "uuid": uuid7(),
            "name": name,
            "name_key": name.casefold(),
            "created_by": principal.user_id,
            "created_at": now,
        }
        for name in sorted(names, key=str.casefold)
    ]
    made = [
        Tag(row.id, row.uuid, row.name, now, principal.user_id)
        for row in await insert_new_many(conn, tags, rows, tags.c.id, tags.c.uuid, tags.c.name)
    ]
    await append_many(
        conn,
        [
            event_row(
                principal, "tag.created", at=now, payload={"tag": str(t.uuid), "name": t.name}
            )
            for t in made
        ],
    )
    return made


async def delete_tag(conn: AsyncConnection, principal: Principal, ref: str) -> None:
    """Delete a tag and take it off every record.

    A role that does not manage object types (an agent) may delete only a tag that no
    record it may not edit carries: never take others' labels away.
    """
    principal.require_scope("tag", "delete")
    tag = await get_tag(conn, principal, ref, exclusive=True)
    if not principal.manages("objects"):
        carriers = await conn.execute(
            sa.select(records.c.object_type_id, records.c.owner_id)
            .distinct()
            .join_from(record_tags, records, records.c.id == record_tags.c.record_id)
            .where(
                record_tags.c.workspace_id == principal.workspace_id,
                record_tags.c.tag_id == tag.id,
            )
        )
        meta = await metadata_for(conn, principal)
        owned = ((meta.objects_by_id[t].key, owner) for t, owner in carriers.all())
        if not principal.may_edit_all(owned):
            raise PermissionDenied(
                f"Your role may not delete the tag {tag.name!r}: records you may not edit carry it"
            )
    await conn.execute(
        sa.delete(record_tags).where(
            record_tags.c.workspace_id == principal.workspace_id, record_tags.c.tag_id == tag.id
        )
    )
    await conn.execute(sa.delete(tags).where(tags.c.id == tag.id))
    await append_event(
        conn,
        principal.workspace_id,
        "tag.deleted",
        actor=principal,
        payload={"tag": str(tag.uuid), "name": tag.name},
    )


async def _tagging(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int, tag_ref: str
) -> tuple[Any, Tag]:
    _, obj = await context(conn, principal, object_key, "update")
    record = await visible(conn, principal, obj, ref, lock=True)
    require_reach(principal, record, "edit")
    return record, await get_tag(conn, principal, tag_ref, lock=True)


async def tag_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int, tag_ref: str
) -> None:
    """Put a tag on a record the caller may edit; nothing happens if it is there already."""
    record, tag = await _tagging(conn, principal, object_key, ref, tag_ref)
    row = {
        "workspace_id": principal.workspace_id,
        "tag_id": tag.id,
        "record_id": record.id,
        "created_at": utcnow(),
    }
    if await insert_new(conn, record_tags, row):
        await record_event(
            conn, principal, record, "record.tagged", tag=str(tag.uuid), name=tag.name
        )


async def untag_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int, tag_ref: str
) -> None:
    """Take a tag off a record the caller may edit; nothing happens if it was not there."""
    record, tag = await _tagging(conn, principal, object_key, ref, tag_ref)
    gone = await conn.execute(
        sa.delete(record_tags).where(
            record_tags.c.workspace_id == principal.workspace_id,
            record_tags.c.tag_id == tag.id,
            record_tags.c.record_id == record.id,
        )
    )
    if gone.rowcount:
        await record_event(
            conn, principal, record, "record.untagged", tag=str(tag.uuid), name=tag.name
        )


async def tags_on(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    limit: int = TAG_PAGE,
    cursor: str | None = None,
) -> TagPage:
    """A page of the tags of a record the caller can see, by name."""
    record = await get_record(conn, principal, object_key, ref)
    principal.require_scope("tag", "list")
    page, next_cursor = await _page(conn, principal, record.id, limit, cursor)
    return TagPage([_tag(r) for r in page], next_cursor)


async def tags_of(
    conn: AsyncConnection, principal: Principal, shown: list[Record]
) -> dict[int, list[Tag]]:
    """The tags of each of some records the caller was shown, by name; none at all for a
    key that may not list tags."""
    out: dict[int, list[Tag]] = {r.id: [] for r in shown}
    if not principal.has_scope("tag", "list"):
        return out
    workspace_id = principal.workspace_id
    for chunk in chunks(list(out)):
        rows = await conn.execute(
            sa.select(record_tags.c.record_id, tags)
            .join(tags, tags.c.id == record_tags.c.tag_id)
            .where(
                record_tags.c.workspace_id == workspace_id,
                record_tags.c.record_id.in_(chunk),
            )
            .order_by(tags.c.name_key)
        )
        for row in rows:
            out[row.record_id].append(_tag(row))
    return out


_OF_RECORD = Prepared(
    sa.select(record_tags.c.record_id, tags)
    .join(tags, tags.c.id == record_tags.c.tag_id)
    .where(
        record_tags.c.workspace_id == param(record_tags.c.workspace_id),
        record_tags.c.record_id == param(record_tags.c.record_id),
    )
    .order_by(tags.c.name_key)
)


async def tags_of_record(read: Reader, principal: Principal, shown: Record) -> list[Tag]:
    """The tags of one record the caller was shown, by name, through a point read's reader
    (:mod:`crm.core.records.point`); none for a key that may not list tags."""
    if not principal.has_scope("tag", "list"):
        return []
    rows = await read.rows(_OF_RECORD, workspace_id=principal.workspace_id, record_id=shown.id)
    return [_tag(row) for row in rows]


async def tags_named(
    conn: AsyncConnection, principal: Principal, names: list[str]
) -> dict[str, Tag]:
    """The tags of checked ``names`` by folded name; those missing are created when the key
    may create tags, and left out otherwise."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(name.casefold(), name)
    found = await _named(conn, principal, list(wanted))
    missing = [name for key, name in wanted.items() if key not in found]
    if len(missing) > MAX_NEW_TAGS and principal.has_scope("tag", "create"):
        raise ValidationFailed.of(
            [
                FieldError(
                    "tags",
                    f"names {len(missing)} new tags; one request may create at most {MAX_NEW_TAGS}",
                )
            ]
        )
    if missing and principal.has_scope("tag", "create"):
        await _insert(conn, principal, missing)
        found.update(await _named(conn, principal, [name.casefold() for name in missing]))
    return found


async def _named(conn: AsyncConnection, principal: Principal, keys: list[str]) -> dict[str, Tag]:
    """The workspace's tags among folded names ``keys``, by folded name, held against
    deletion until the transaction ends (they are about to be put on records)."""
    out: dict[str, Tag] = {}
    for chunk in chunks(keys):
        rows = await conn.execute(
            sa.select(tags)
            .where(tags.c.workspace_id == principal.workspace_id, tags.c.name_key.in_(chunk))
            .with_for_update(read=True)
        )
        out.update({row.name_key: _tag(row) for row in rows})
    return out


async def tag_records(
    conn: AsyncConnection, principal: Principal, wanted: list[tuple[Record, Tag]]
) -> None:
    """Put tags on records just written, in one batch; those already there stay as they are."""
    now = utcnow()
    rows = [
        {
            "workspace_id": principal.workspace_id,
            "tag_id": tag.id,
            "record_id": record.id,
            "created_at": now,
        }
        for record, tag in wanted
    ]
    records_by_id = {record.id: record for record, _ in wanted}
    tags_by_id = {tag.id: tag for _, tag in wanted}
    added = await insert_new_many(
        conn, record_tags, rows, record_tags.c.record_id, record_tags.c.tag_id
    )
    events = []
    for row in added:
        record, tag = records_by_id[row.record_id], tags_by_id[row.tag_id]
        payload = {
            "record": str(record.uuid),
            "object": record.object.key,
            "tag": str(tag.uuid),
            "name": tag.name,
        }
        events.append(
            event_row(
                principal,
                "record.tagged",
                at=now,
                object_type_id=record.object.id,
                record_id=record.id,
                payload=payload,
            )
        )
    await append_many(conn, events)
