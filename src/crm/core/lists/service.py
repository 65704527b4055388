"""Static lists: records of one object type picked by hand ("VIP customers", "Webinar leads").

A list's name is unique among its object type's lists whatever its case. Beside its UUID,
each list has a number in its workspace (1, 2, ...); either names it. Adding a member twice,
or removing a record that is no member, changes nothing; each change of membership appends
an event on the record (``list.added``, ``list.removed``), so it shows on its timeline.
Deleting a list takes it off every record.

Locks (ADR 0005): the metadata pin, then a list's name (renaming, creating), then the
list's row (shared while its members change, exclusive to rename or delete it), then the
member's row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.events.service import record_event
from crm.core.ids import uuid7
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.paging import check_limit
from crm.core.records.model import Numbered, Page, Record, RecordQuery
from crm.core.records.rules import changes_between, numbered_ident
from crm.core.records.sequences import take_numbers
from crm.core.records.service import find_records, get_record, locate_record, require_reach
from crm.core.tags.service import check_name
from crm.db.locks import LIST_NAMES, hold_values
from crm.db.rows import insert_new
from crm.db.schema import list_members, lists, records

__all__ = [
    "LIST_PAGE",
    "MAX_LIST_PAGE",
    "ListPage",
    "StaticList",
    "add_member",
    "create_list",
    "delete_list",
    "find_lists",
    "find_members",
    "get_list",
    "lists_of_record",
    "remove_member",
    "update_list",
]

MAX_NAME = 200
MAX_DESCRIPTION = 5000
#: Lists on a page unless the caller asks for fewer or more (up to the most).
LIST_PAGE = 100
MAX_LIST_PAGE = 500
MAX_Q = 200


@dataclass(frozen=True)
class StaticList:
    id: int
    uuid: Any
    #: Its number in its workspace.
    number: int
    object: ObjectMeta
    name: str
    description: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    #: How many live records are its members.
    member_count: int = 0


class ListPage(NamedTuple):
    """One page of the workspace's lists, and how many lists match in all."""

    lists: list[StaticList]
    total: int


def _list(meta: WorkspaceMeta, row: Any, count: int = 0) -> StaticList:
    return StaticList(
        row.id,
        row.uuid,
        row.number,
        meta.objects_by_id[row.object_type_id],
        row.name,
        row.description,
        row.created_by,
        row.created_at,
        row.updated_at,
        count,
    )


async def _counted(
    conn: AsyncConnection, meta: WorkspaceMeta, rows: Sequence[Any]
) -> list[StaticList]:
    """The lists of ``rows``, each with how many live records are its members."""
    counts: dict[int, int] = {}
    if rows:
        counted = await conn.execute(
            sa.select(list_members.c.list_id, sa.func.count())
            .join(records, records.c.id == list_members.c.record_id)
            .where(
                list_members.c.list_id.in_([r.id for r in rows]),
                records.c.deleted_at.is_(None),
            )
            .group_by(list_members.c.list_id)
        )
        counts = {list_id: n for list_id, n in counted.all()}
    return [_list(meta, r, counts.get(r.id, 0)) for r in rows]


def _payload(lst: StaticList) -> dict[str, Any]:
    return {"list": str(lst.uuid), "number": lst.number, "name": lst.name}


def _check(meta: WorkspaceMeta, spec: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked ``object`` (creating), ``name`` and ``description`` of ``spec``;
    ValidationFailed naming every unfit one."""
    errors = [
        FieldError(k, "unknown attribute", "unknown")
        for k in spec
        if k not in ("object", "name", "description") or (k == "object" and not creating)
    ]
    out: dict[str, Any] = {}
    if creating:
        given = spec.get("object")
        out["object"] = meta.objects.get(given) if isinstance(given, str) else None
        if out["object"] is None:
            errors.append(FieldError("object", "must be the key of an object type"))
    if creating or "name" in spec:
        try:
            out["name"] = check_name(spec.get("name"), MAX_NAME)
        except ValidationFailed as exc:
            errors += exc.field_errors
    if spec.get("description") is not None:
        text = spec["description"]
        if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
            message = f"must be text of at most {MAX_DESCRIPTION} characters, or null"
            errors.append(FieldError("description", message))
        out["description"] = text if isinstance(text, str) and text.strip() else None
    elif "description" in spec:
        out["description"] = None
    if errors:
        raise ValidationFailed.of(errors)
    return out


async def _row(
    conn: AsyncConnection,
    principal: Principal,
    ref: str | int,
    *,
    lock: bool = False,
    exclusive: bool = False,
) -> Any:
    """A list of the workspace by UUID or number; NotFound otherwise. A writer of its
    members passes ``lock``: it cannot be renamed or deleted before the writer ends; its
    renaming or deletion passes ``exclusive``."""
    select = sa.select(lists).where(
        lists.c.workspace_id == principal.workspace_id, numbered_ident(lists, ref, "List")
    )
    if lock or exclusive:
        select = select.with_for_update(read=not exclusive)
    row = (await conn.execute(select)).first()
    if row is None:
        raise NotFound("List not found")
    return row


async def _hold_name(
    conn: AsyncConnection,
    principal: Principal,
    object_type_id: int,
    name: str,
    holder: int | None = None,
) -> None:
    """Hold ``name`` among the object type's list names until the transaction ends, then
    Conflict when a list other than ``holder`` has it (in any case)."""
    key = name.casefold()
    await hold_values(conn, {(LIST_NAMES, principal.workspace_id, object_type_id): [key]})
    taken = await conn.execute(
        sa.select(lists.c.id).where(
            lists.c.workspace_id == principal.workspace_id,
            lists.c.object_type_id == object_type_id,
            lists.c.name_key == key,
            lists.c.id != (holder or 0),
        )
    )
    if taken.first() is not None:
        raise Conflict(f"A list named {name!r} exists already")


async def create_list(
    conn: AsyncConnection,
    principal: Principal,
    *,
    object: Any,
    name: Any,
    description: Any = None,
) -> StaticList:
    """A new, empty list of records of ``object`` (a key); 409 when the object type has a
    list of that name."""
    principal.require_scope("list", "create")
    meta = await metadata_for(conn, principal)
    spec = {"object": object, "name": name, "description": description}
    values = _check(meta, spec, creating=True)
    obj: ObjectMeta = values["object"]
    await _hold_name(conn, principal, obj.id, values["name"])
    now = utcnow()
    row = {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "number": await take_numbers(conn, principal.workspace_id, "list", 1),
        "object_type_id": obj.id,
        "name": values["name"],
        "name_key": values["name"].casefold(),
        "description": values.get("description"),
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }
    made = _list(
        meta, (await conn.execute(sa.insert(lists).values(**row).returning(*lists.c))).one()
    )
    await append_event(
        conn,
        principal.workspace_id,
        "list.created",
        actor=principal,
        object_type_id=obj.id,
        payload={**_payload(made), "object": obj.key},
    )
    return made


async def get_list(conn: AsyncConnection, principal: Principal, ref: str | int) -> StaticList:
    """A list of the workspace by UUID or number, with its member count."""
    principal.require_scope("list", "read")
    meta = await metadata_for(conn, principal)
    (found,) = await _counted(conn, meta, [await _row(conn, principal, ref)])
    return found


async def find_lists(
    conn: AsyncConnection,
    principal: Principal,
    *,
    object: str | None = None,
    q: str | None = None,
    limit: int = LIST_PAGE,
    offset: int = 0,
) -> ListPage:
    """A page of the workspace's lists by name (of one object type's with ``object``; whose
    name contains ``q`` in any case), and how many match."""
    principal.require_scope("list", "list")
    check_limit(limit, MAX_LIST_PAGE)
    errors: list[FieldError] = []
    if not isinstance(offset, int) or offset < 0:
        errors.append(FieldError("offset", "must be 0 or more"))
    meta = await metadata_for(conn, principal)
    where = [lists.c.workspace_id == principal.workspace_id]
    if object is not None:
        obj = meta.objects.get(object)
        if obj is None:
            errors.append(FieldError("object", "must be the key of an object type"))
        else:
            where.append(lists.c.object_type_id == obj.id)
    if q is not None and (not isinstance(q, str) or len(q) > MAX_Q):
        errors.append(FieldError("q", f"must be a string of at most {MAX_Q} characters"))
    elif q is not None and q.strip():
        where.append(lists.c.name_key.contains(" ".join(q.split()).casefold(), autoescape=True))
    if errors:
        raise ValidationFailed.of(errors)
    rows = await conn.execute(
        sa.select(lists)
        .where(*where)
        .order_by(lists.c.name_key, lists.c.id)
        .limit(limit)
        .offset(offset)
    )
    total = await conn.execute(sa.select(sa.func.count()).select_from(lists).where(*where))
    return ListPage(await _counted(conn, meta, rows.all()), int(total.scalar_one()))


async def update_list(
    conn: AsyncConnection, principal: Principal, ref: str | int, **changes: Any
) -> StaticList:
    """Rename a list or change its description (``None`` clears it); 409 when the object
    type has another list of the new name. A change that changes nothing logs nothing."""
    principal.require_scope("list", "update")
    meta = await metadata_for(conn, principal)
    values = _check(meta, changes, creating=False)
    seen = await _row(conn, principal, ref)
    if "name" in values:
        await _hold_name(conn, principal, seen.object_type_id, values["name"], seen.id)
    row = await _row(conn, principal, ref, exclusive=True)
    before = {k: getattr(row, k) for k in values}
    changed = changes_between(before, values)
    if changed:
        if "name" in values:
            values["name_key"] = values["name"].casefold()
        row = (
            await conn.execute(
                sa.update(lists)
                .where(lists.c.id == row.id)
                .values(updated_at=utcnow(), **values)
                .returning(*lists.c)
            )
        ).one()
    (updated,) = await _counted(conn, meta, [row])
    if changed:
        await append_event(
            conn,
            principal.workspace_id,
            "list.updated",
            actor=principal,
            object_type_id=updated.object.id,
            changes=changed,
            payload={**_payload(updated), "object": updated.object.key},
        )
    return updated


async def delete_list(conn: AsyncConnection, principal: Principal, ref: str | int) -> None:
    """Delete a list, taking it off every record.

    A role that does not manage object types (an agent) may delete only a list that holds
    no record it may not edit: never take others' records off a list.
    """
    principal.require_scope("list", "delete")
    meta = await metadata_for(conn, principal)
    gone = _list(meta, await _row(conn, principal, ref, exclusive=True))
    if not principal.manages("objects"):
        owners = await conn.execute(
            sa.select(records.c.owner_id)
            .distinct()
            .join_from(list_members, records, records.c.id == list_members.c.record_id)
            .where(list_members.c.list_id == gone.id)
        )
        if not principal.may_edit_all((gone.object.key, owner) for owner in owners.scalars()):
            raise PermissionDenied(
                f"Your role may not delete the list {gone.name!r}: it holds records you may "
                "not edit"
            )
    await conn.execute(sa.delete(list_members).where(list_members.c.list_id == gone.id))
    await conn.execute(sa.delete(lists).where(lists.c.id == gone.id))
    await append_event(
        conn,
        principal.workspace_id,
        "list.deleted",
        actor=principal,
        object_type_id=gone.object.id,
        payload={**_payload(gone), "object": gone.object.key},
    )


async def _membership(
    conn: AsyncConnection, principal: Principal, list_ref: str | int, record_ref: str | int
) -> tuple[StaticList, Record]:
    """The list (held against renaming and deletion) and the record (its row locked) of a
    change of membership, which needs the right to edit the record; 404, then 403, then 422
    for a record of another object type than the list's."""
    principal.require_scope("list", "update")
    meta = await metadata_for(conn, principal)
    lst = _list(meta, await _row(conn, principal, list_ref, lock=True))
    if isinstance(record_ref, Numbered):  # a number counts among the list's object type's
        record = await get_record(conn, principal, lst.object.key, record_ref, lock=True)
    else:
        record = await locate_record(conn, principal, record_ref, lock=True)
    require_reach(principal, record, "edit")
    if record.object.id != lst.object.id:
        message = f"is a {record.object.key}; the list holds {lst.object.key} records"
        raise ValidationFailed.of([FieldError("record_id", message)])
    return lst, record


async def add_member(
    conn: AsyncConnection, principal: Principal, list_ref: str | int, record_ref: str | int
) -> None:
    """Put a record the caller may edit on a list; nothing happens if it is there already."""
    lst, record = await _membership(conn, principal, list_ref, record_ref)
    row = {
        "workspace_id": principal.workspace_id,
        "list_id": lst.id,
        "record_id": record.id,
        "added_at": utcnow(),
        "added_by": principal.user_id,
    }
    if await insert_new(conn, list_members, row):
        await record_event(conn, principal, record, "list.added", **_payload(lst))


async def remove_member(
    conn: AsyncConnection, principal: Principal, list_ref: str | int, record_ref: str | int
) -> None:
    """Take a record the caller may edit off a list; nothing happens if it was not there."""
    lst, record = await _membership(conn, principal, list_ref, record_ref)
    taken = await conn.execute(
        sa.delete(list_members).where(
            list_members.c.list_id == lst.id, list_members.c.record_id == record.id
        )
    )
    if taken.rowcount:
        await record_event(conn, principal, record, "list.removed", **_payload(lst))


async def find_members(
    conn: AsyncConnection, principal: Principal, ref: str | int, query: RecordQuery
) -> Page:
    """A page of a list's members that the caller can see, as a listing of the records of
    the list's object type answers it (filter, sort, search and paging alike)."""
    principal.require_scope("list", "read")
    meta = await metadata_for(conn, principal)
    lst = _list(meta, await _row(conn, principal, ref))
    member_of = dataclasses.replace(query, member_of=lst.id)
    return await find_records(conn, principal, lst.object.key, member_of)


async def lists_of_record(
    conn: AsyncConnection, principal: Principal, record: Record
) -> list[StaticList]:
    """The lists a record the caller was shown is a member of, by name."""
    principal.require_scope("list", "list")
    meta = await metadata_for(conn, principal)
    rows = await conn.execute(
        sa.select(lists)
        .join(list_members, list_members.c.list_id == lists.c.id)
        .where(
            list_members.c.workspace_id == principal.workspace_id,
            list_members.c.record_id == record.id,
        )
        .order_by(lists.c.name_key, lists.c.id)
    )
    return await _counted(conn, meta, rows.all())
