"""Rules every record write shares: resolving the object, the caller's reach, owners,
references, unique values, and the events a change leaves.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal, Reach
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events.service import event_row
from crm.core.ids import parse_integer, parse_uuid
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records import repository as repo
from crm.core.records.model import Numbered, Record
from crm.db.schema import records


async def context(
    conn: AsyncConnection, principal: Principal, object_key: str, action: str
) -> tuple[WorkspaceMeta, ObjectMeta]:
    """The metadata and object type for a call, after the key's scope check."""
    meta = await metadata_for(conn, principal)
    obj = meta.object(object_key)
    principal.require_scope(obj.key, action)
    return meta, obj


def ident(ref: str | int) -> sa.ColumnElement[bool]:
    """Match a record by integer id, UUID or :class:`Numbered` number; NotFound for
    anything else."""
    if isinstance(ref, Numbered):
        return records.c.number == int(ref)
    number = parse_integer(ref)
    if number is not None:
        return records.c.id == number
    found = parse_uuid(ref) if isinstance(ref, str) else None
    if found is None:
        raise NotFound("Record not found")
    return records.c.uuid == found


def numbered_ident(table: sa.Table, ref: object, label: str) -> sa.ColumnElement[bool]:
    """Match a row of ``table`` (a note, a list: what has a ``uuid`` and a ``number`` in its
    workspace but shows no integer id) by UUID, or by number given as an integer or digits;
    NotFound naming ``label`` for anything else."""
    number = parse_integer(ref)
    if number is not None:
        return table.c.number == number
    found = parse_uuid(ref) if isinstance(ref, str) else None
    if found is None:
        raise NotFound(f"{label} not found")
    return table.c.uuid == found


async def visible(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    ref: str | int,
    *,
    deleted: bool = False,
    lock: bool = False,
) -> Record:
    """A record the caller can see, by id or UUID; NotFound otherwise. A writer passes
    ``lock`` to hold the row until its transaction ends (after any value locks)."""
    where = repo.scoped(principal, obj, deleted=deleted)
    record = await repo.fetch(conn, where, ident(ref), obj, lock=lock)
    if record is None:
        raise NotFound(f"{obj.label} not found")
    return record


def require_reach(principal: Principal, record: Record, verb: str) -> None:
    reach = principal.reach(record.object.key, verb)
    if reach == Reach.ALL or (reach == Reach.OWN and record.owner_id == principal.user_id):
        return
    raise PermissionDenied(f"Your role may not {verb} this {record.object.label.lower()}")


def owner_id_for(meta: WorkspaceMeta, ref: Any, default: int | None) -> int | None:
    if ref is None:
        return default
    user = meta.user(ref) if isinstance(ref, str) else None
    if user is None or not user.active:
        raise ValidationFailed.of([FieldError("owner_id", "must be an active user's id or email")])
    return user.id


async def check_references(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    values: dict[str, Any],
) -> list[FieldError]:
    """Relation values must name live records of the related object in this workspace."""
    wanted: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, value in values.items():
        f = obj.fields[key]
        if f.type == "relation" and value is not None:
            wanted[f.options["object"]].append((key, value))
    errors = []
    for target_key, pairs in wanted.items():
        target = meta.objects.get(target_key)
        uuids = {parse_uuid(v) for _, v in pairs} - {None}
        found: set[str] = set()
        if target is not None and uuids:
            found = {
                str(u)
                for u in (
                    await conn.execute(
                        sa.select(records.c.uuid).where(
                            records.c.workspace_id == principal.workspace_id,
                            records.c.object_type_id == target.id,
                            records.c.deleted_at.is_(None),
                            records.c.uuid.in_(uuids),
                        )
                    )
                ).scalars()
            }
        for key, value in pairs:
            if str(parse_uuid(value)) not in found:
                errors.append(FieldError(key, f"no {target_key} record {value!r}"))
            else:
                values[key] = str(parse_uuid(value))
    return errors


async def check_unique(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    data: dict[str, Any],
    changed: set[str],
    self_id: int | None,
) -> None:
    """Conflict when another live record holds one of ``changed``'s unique values; the
    caller holds those values (:func:`repository.hold_field_values`) since before it read."""
    taken = []
    for key in sorted(changed):
        f = obj.fields[key]
        if not f.unique or data.get(key) is None:
            continue
        holders = await repo.holders_of(conn, principal.workspace_id, obj, key, [data[key]])
        if any(rid != self_id for rid in holders.values()):
            taken.append(key)
    if taken:
        raise duplicate_value(obj, taken)


def duplicate_value(obj: ObjectMeta, keys: list[str]) -> Conflict:
    """The conflict of unique values of ``keys`` that another record holds."""
    return Conflict(
        f"Duplicate value for a unique field of {obj.key}",
        [
            FieldError(key, f"another {obj.key} already has this value", "duplicate").as_dict()
            for key in keys
        ],
    )


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def record_payload(record_uuid: Any, obj: ObjectMeta, name: str) -> dict[str, Any]:
    return {"record": str(record_uuid), "object": obj.key, "name": name}


def change_events(
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    type_: str,
    *,
    record_id: int,
    record_uuid: Any,
    name: str,
    changes: dict[str, list[Any]],
    at: datetime,
) -> list[dict[str, Any]]:
    """The event rows of one record change: ``type_`` with its before/after values, and a
    ``record.stage_changed`` per stage moved, carrying the pipeline and both stages.
    """
    rows = [
        event_row(
            principal,
            type_,
            at=at,
            object_type_id=obj.id,
            record_id=record_id,
            changes=changes,
            payload=record_payload(record_uuid, obj, name),
        )
    ]
    for key, (before, after) in changes.items():
        f = obj.fields.get(key)  # changes may also hold owner_id, which is no field
        if f is None or f.type != "stage":
            continue
        pipeline = meta.pipeline_of(f)
        old, new = pipeline.stage_by_uuid(before or ""), pipeline.stage_by_uuid(after or "")
        rows.append(
            event_row(
                principal,
                "record.stage_changed",
                at=at,
                object_type_id=obj.id,
                record_id=record_id,
                payload={
                    "record": str(record_uuid),
                    "object": obj.key,
                    "pipeline": pipeline.key,
                    "pipeline_id": str(pipeline.uuid),
                    "from": {"id": str(old.uuid), "name": old.name} if old else None,
                    "to": {"id": str(new.uuid), "name": new.name} if new else None,
                },
            )
        )
    return rows


def user_uuid(meta: WorkspaceMeta, user_id: int | None) -> str | None:
    user = meta.users.get(user_id) if user_id is not None else None
    return str(user.uuid) if user else None
