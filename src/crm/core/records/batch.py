"""Changing records: the one path of every update, of one record or of thousands.

A single update (any face's PATCH, a stage move, a field value set) is a batch of one;
intake merging payloads into the records they duplicate is a batch of many. The same rules
hold for both. Values come in stored form and ``None`` clears a field (intake leaves out
what a payload does not set, so it never clears); a required field cannot be cleared; the
caller must see each record and may edit it; unique values are checked against the other
live records and the rest of the batch; each record that changes leaves one
``record.updated`` event naming its changed fields, its owner if that changed, and its
newly kept unmapped keys.

Concurrent writers of one record apply one after the other, each to the other's result:
the unique values a change sets are held first (:mod:`crm.db.locks`), then the records
are read with their rows locked, in ascending id order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import CRMError, NotFound, ValidationFailed
from crm.core.events.service import append_many
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.records import repository as repo
from crm.core.records.model import Record
from crm.core.records.rules import (
    change_events,
    changes_between,
    check_unique,
    duplicate_value,
    require_reach,
    user_uuid,
)
from crm.core.records.values import display_name, missing_required, search_text
from crm.db.rows import chunks
from crm.db.schema import records

__all__ = ["Change", "apply_changes", "fetch_visible", "hold_unique_values", "merge_changes"]


@dataclass
class Change:
    """What to merge into one record: stored field values (``None`` clears one), a new owner
    (``None`` keeps the owner), and unmapped values to keep beside the fields."""

    record_id: int
    values: dict[str, Any]
    owner_id: int | None = None
    unmapped: dict[str, Any] | None = None


async def apply_changes(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    changes: list[Change],
) -> list[Record | CRMError]:
    """Merge each change into its record; one result per change, in order.

    A record the caller may not see answers NotFound; one it may not edit, PermissionDenied;
    a change that would clear a required field, ValidationFailed; a taken unique value,
    Conflict. Several changes of one record apply in turn.
    """
    principal.require_scope(obj.key, "update")
    await hold_unique_values(conn, obj, changes)
    found = await fetch_visible(conn, principal, obj, [c.record_id for c in changes], lock=True)
    return await merge_changes(conn, principal, meta, obj, found, changes)


async def hold_unique_values(conn: AsyncConnection, obj: ObjectMeta, changes: list[Change]) -> None:
    """Hold the unique values ``changes`` set, before their records are read and locked."""
    keys = repo.unique_keys(obj, {k for c in changes for k in c.values})
    await repo.hold_field_values(conn, obj, keys, [c.values for c in changes])


async def fetch_visible(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    ids: list[int],
    *,
    lock: bool = False,
) -> dict[int, Record]:
    """The records among ``ids`` that the caller may see, by id; with ``lock``, their rows
    are locked (in ascending id order) until the transaction ends."""
    wanted = sorted(set(ids))
    found: dict[int, Record] = {}
    for chunk in chunks(wanted):
        select = sa.select(*repo.COLUMNS).where(
            repo.scoped(principal, obj), records.c.id.in_(chunk)
        )
        if lock:
            select = select.order_by(records.c.id).with_for_update(of=records)
        found.update((row.id, repo.to_record(obj, row)) for row in await conn.execute(select))
    return found


async def merge_changes(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    found: dict[int, Record],
    changes: list[Change],
) -> list[Record | CRMError]:
    """Merge ``changes`` into ``found`` (records read with their rows locked, by id) and store
    those that changed with their events; see :func:`apply_changes`."""
    current = dict(found)
    now = utcnow()
    claimed: dict[tuple[str, Any], int] = {}
    results: list[Record | CRMError] = []
    for change in changes:
        record = current.get(change.record_id)
        if record is None:
            results.append(NotFound(f"{obj.label} not found"))
            continue
        try:
            require_reach(principal, record, "edit")
            record = await _merge(conn, principal, obj, record, change, now, claimed)
        except CRMError as exc:
            results.append(exc)
            continue
        current[record.id] = record
        results.append(record)
    await _store(conn, principal, meta, obj, found, current)
    return results


async def _merge(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    record: Record,
    change: Change,
    now: datetime,
    claimed: dict[tuple[str, Any], int],
) -> Record:
    """``record`` with ``change`` merged in (itself when nothing changes), checked."""
    data = {k: v for k, v in {**record.data, **change.values}.items() if v is not None}
    cleared = {k for k, v in change.values.items() if v is None}
    missing = [e for e in missing_required(obj, data) if e.field in cleared]
    if missing:
        raise ValidationFailed.of(missing)
    bag = {**record.unmapped, **(change.unmapped or {})}
    owner_id = change.owner_id or record.owner_id
    if data == record.data and bag == record.unmapped and owner_id == record.owner_id:
        return record
    changed = {k for k in change.values if record.data.get(k) != data.get(k)}
    for key in repo.unique_keys(obj, changed & set(data)):
        if claimed.setdefault((key, data[key]), record.id) != record.id:
            raise duplicate_value(obj, [key])
    await check_unique(conn, principal, obj, data, changed, record.id)
    return replace(
        record,
        data=data,
        unmapped=bag,
        owner_id=owner_id,
        display_name=display_name(obj, data),
        updated_at=now,
    )


async def _store(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    before: dict[int, Record],
    after: dict[int, Record],
) -> None:
    """Write the records that changed, with their events."""
    rows, events = [], []
    for rid, new in after.items():
        old = before[rid]
        if new is old:
            continue
        changed = changes_between(old.data, new.data)
        rows.append(
            {
                "rid": rid,
                "data": new.data,
                "display_name": new.display_name,
                "search_text": search_text(obj, new.data, new.display_name),
                "owner_id": new.owner_id,
                "unmapped": new.unmapped or None,
                "updated_at": new.updated_at,
            }
        )
        if new.owner_id != old.owner_id:
            changed["owner_id"] = [user_uuid(meta, old.owner_id), user_uuid(meta, new.owner_id)]
        made = change_events(
            principal,
            meta,
            obj,
            "record.updated",
            record_id=rid,
            record_uuid=new.uuid,
            name=new.display_name,
            changes=changed,
            at=new.updated_at,
        )
        kept = sorted(k for k, v in new.unmapped.items() if old.unmapped.get(k) != v)
        if kept:
            made[0]["payload"]["unmapped"] = kept
        events += made
    if rows:
        await conn.execute(
            sa.update(records)
            .where(records.c.id == sa.bindparam("rid"))
            .values({k: sa.bindparam(k) for k in rows[0] if k != "rid"}),
            rows,
        )
        await append_many(conn, events)
