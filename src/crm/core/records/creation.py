"""Creating records, one or many: checked values, numbering, unique values, one INSERT,
and their events, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, CRMError, FieldError, PermissionDenied, ValidationFailed
from crm.core.events.service import append_many
from crm.core.ids import uuid7
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.records import repository as repo
from crm.core.records.model import BulkItem, Record
from crm.core.records.rules import (
    change_events,
    changes_between,
    check_references,
    context,
    duplicate_value,
    owner_id_for,
)
from crm.core.records.sequences import number_new_records, take_record_numbers
from crm.core.records.values import (
    apply_defaults,
    display_name,
    missing_required,
    parse_fields,
    search_text,
)
from crm.db.schema import records

MAX_BULK = 1000


@dataclass
class NewRecord:
    """A new record whose values are checked, waiting for :func:`insert_records`."""

    data: dict[str, Any]
    owner_id: int | None
    unmapped: dict[str, Any] | None = None


async def prepare(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    raw_fields: Any,
) -> dict[str, Any]:
    """Parse, default and check a new record's fields; ValidationFailed lists every problem."""
    values, errors = parse_fields(meta, obj, raw_fields)
    if not errors:
        errors = await check_references(conn, principal, meta, obj, values)
    apply_defaults(obj, values)
    data = {k: v for k, v in values.items() if v is not None}
    errors += [e for e in missing_required(obj, data) if e.field not in {x.field for x in errors}]
    if errors:
        raise ValidationFailed.of(errors)
    return data


def _row(principal: Principal, obj: ObjectMeta, new: NewRecord, now: datetime) -> dict[str, Any]:
    name = display_name(obj, new.data)
    return {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "object_type_id": obj.id,
        "owner_id": new.owner_id,
        "data": new.data,
        "display_name": name,
        "search_text": search_text(obj, new.data, name),
        "unmapped": new.unmapped or None,
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }


def _inserted(obj: ObjectMeta, row: dict[str, Any]) -> Record:
    return Record(
        id=row["id"],
        uuid=row["uuid"],
        object=obj,
        number=row.get("number"),
        owner_id=row["owner_id"],
        data=row["data"],
        display_name=row["display_name"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        archived_at=None,
        deleted_at=None,
        unmapped=row["unmapped"] or {},
    )


async def insert_records(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    new: list[NewRecord],
) -> list[Record | Conflict]:
    """Store checked new records with one INSERT and one batch of events.

    Their unique values are held first (before the autonumber counters' rows are locked),
    then autonumber fields are numbered. A record whose unique value another record holds,
    or an earlier one in ``new`` claims, is refused with a Conflict in its place.
    """
    now = utcnow()
    await repo.hold_field_values(conn, obj, repo.unique_keys(obj), [n.data for n in new])
    await number_new_records(conn, principal.workspace_id, obj, [n.data for n in new])
    rows = [_row(principal, obj, n, now) for n in new]
    refused = await _refuse_duplicates(conn, principal, obj, rows)
    good = [r for i, r in enumerate(rows) if i not in refused]
    if good:
        first = await take_record_numbers(conn, principal.workspace_id, obj, len(good))
        for number, row in enumerate(good, first):
            row["number"] = number
        # Matched by UUID rather than by order: ordered RETURNING makes SQLite insert one
        # row per statement, while this form inserts a batch per statement on both databases.
        insert = sa.insert(records).returning(records.c.id, records.c.uuid)
        ids = {u: i for i, u in (await conn.execute(insert, good)).all()}
        events = []
        for row in good:
            rid = row["id"] = ids[row["uuid"]]
            events += change_events(
                principal,
                meta,
                obj,
                "record.created",
                record_id=rid,
                record_uuid=row["uuid"],
                name=row["display_name"],
                changes=changes_between({}, row["data"]),
                at=now,
            )
        await append_many(conn, events)
    return [refused[i] if i in refused else _inserted(obj, r) for i, r in enumerate(rows)]


async def _refuse_duplicates(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, rows: list[dict[str, Any]]
) -> dict[int, Conflict]:
    """Rows (by index) whose unique values exist already, or repeat an earlier row's."""
    refused: dict[int, Conflict] = {}
    for key in repo.unique_keys(obj):
        values = [r["data"][key] for r in rows if r["data"].get(key) is not None]
        taken = set(await repo.holders_of(conn, principal.workspace_id, obj, key, values))
        for i, row in enumerate(rows):
            value = row["data"].get(key)
            if value is None or i in refused:
                continue
            if value in taken:
                refused[i] = duplicate_value(obj, [key])
            taken.add(value)
    return refused


def require_create(principal: Principal, obj: ObjectMeta) -> None:
    """PermissionDenied unless the caller's role may create records of ``obj``."""
    if not principal.may_create(obj.key):
        raise PermissionDenied(f"Your role may not create {obj.plural_label.lower()}")


async def create_record(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    *,
    fields: Any,
    owner: Any = None,
) -> Record:
    """Create one record; the owner defaults to the caller."""
    meta, obj = await context(conn, principal, object_key, "create")
    require_create(principal, obj)
    owner_id = owner_id_for(meta, owner, principal.user_id)
    data = await prepare(conn, principal, meta, obj, fields)
    (created,) = await insert_records(conn, principal, meta, obj, [NewRecord(data, owner_id)])
    if isinstance(created, Conflict):
        raise created
    return created


async def bulk_create(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    items: Any,
) -> list[BulkItem]:
    """Create many records in one statement; each bad item is reported, the rest stored."""
    meta, obj = await context(conn, principal, object_key, "create")
    require_create(principal, obj)
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BULK:
        raise ValidationFailed.of([FieldError("records", f"must be a list of 1 to {MAX_BULK}")])
    errors: dict[int, CRMError] = {}
    accepted: list[tuple[int, NewRecord]] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict) or set(item) - {"fields", "owner_id"}:
                raise ValidationFailed.of([FieldError("item", "must be {fields, owner_id}")])
            owner_id = owner_id_for(meta, item.get("owner_id"), principal.user_id)
            data = await prepare(conn, principal, meta, obj, item.get("fields"))
        except CRMError as exc:
            errors[index] = exc
            continue
        accepted.append((index, NewRecord(data, owner_id)))
    stored = await insert_records(conn, principal, meta, obj, [n for _, n in accepted])
    out = [BulkItem(i, error=e) for i, e in errors.items()]
    for (index, _), result in zip(accepted, stored, strict=True):
        if isinstance(result, Conflict):
            out.append(BulkItem(index, error=result))
        else:
            out.append(BulkItem(index, record=result))
    return sorted(out, key=lambda item: item.index)
