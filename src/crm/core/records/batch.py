"""Changing many records of one object at once: one read, one UPDATE, one batch of events.

Intake merges thousands of payloads into the records they duplicate; record by record that
would cost several statements each. The rules are those of
:func:`crm.core.records.service.update_record`: the caller must see and may edit each
record, values are given in stored form, ``None`` leaves a field as it is (intake never
clears), and unique values are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import CRMError, NotFound, PermissionDenied
from crm.core.events.service import append_many
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.records import repository as repo
from crm.core.records.model import Record
from crm.core.records.rules import (
    change_events,
    changes_between,
    check_unique,
    require_reach,
    user_uuid,
)
from crm.core.records.values import display_name, search_text
from crm.db.rows import chunks
from crm.db.schema import records

__all__ = ["Change", "apply_changes", "fetch_visible"]


@dataclass
class Change:
    """Values to merge into one record: stored field values, an owner, unmapped values."""

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

    Several changes of one record apply in turn, and each answers the record as it stood
    after it. A record the caller may not see answers NotFound; one it may not edit,
    PermissionDenied.
    """
    principal.require_scope(obj.key, "update")
    found = await fetch_visible(conn, principal, obj, [c.record_id for c in changes])
    current = dict(found)
    now = utcnow()
    results: list[Record | CRMError] = []
    for change in changes:
        record = current.get(change.record_id)
        if record is None:
            results.append(NotFound(f"{obj.label} not found"))
            continue
        try:
            require_reach(principal, record, "edit")
        except PermissionDenied as exc:
            results.append(exc)
            continue
        data = {**record.data, **{k: v for k, v in change.values.items() if v is not None}}
        bag = {**record.unmapped, **(change.unmapped or {})}
        owner_id = change.owner_id or record.owner_id
        if data != record.data and any(obj.fields[k].unique for k in change.values):
            try:
                await check_unique(conn, principal, obj, data, set(change.values), record.id)
            except CRMError as exc:
                results.append(exc)
                continue
        if data != record.data or bag != record.unmapped or owner_id != record.owner_id:
            record = current[record.id] = replace(
                record,
                data=data,
                unmapped=bag,
                owner_id=owner_id,
                display_name=display_name(obj, data),
                updated_at=now,
            )
        results.append(record)
    await _store(conn, principal, meta, obj, found, current)
    return results


async def fetch_visible(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, ids: list[int]
) -> dict[int, Record]:
    """The records among ``ids`` that the caller may see, by id."""
    wanted = sorted(set(ids))
    found: dict[int, Record] = {}
    for chunk in chunks(wanted):
        rows = await conn.execute(
            sa.select(*repo.COLUMNS).where(repo.scoped(principal, obj), records.c.id.in_(chunk))
        )
        found.update((row.id, repo.to_record(obj, row)) for row in rows)
    return found


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
        events += change_events(
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
    if rows:
        await conn.execute(
            sa.update(records)
            .where(records.c.id == sa.bindparam("rid"))
            .values({k: sa.bindparam(k) for k in rows[0] if k != "rid"}),
            rows,
        )
        await append_many(conn, events)
