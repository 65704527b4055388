"""The record engine's rules: create, read, change, delete, archive, upsert, bulk, find.

Services take ``(conn, principal, ...)``, never commit, and append an event for every
change in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal, Reach
from crm.core.clock import utcnow
from crm.core.errors import (
    Conflict,
    CRMError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from crm.core.events import append_event
from crm.core.events.service import append_many, event_row
from crm.core.ids import parse_uuid, uuid7
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records import query as rq
from crm.core.records import repository as repo
from crm.core.records.model import BulkItem, Page, Record, RecordQuery
from crm.core.records.sequences import number_new_records
from crm.core.records.values import (
    apply_defaults,
    display_name,
    missing_required,
    parse_fields,
    search_text,
)
from crm.db.schema import records

MAX_PAGE = 500
MAX_BULK = 1000


async def context(
    conn: AsyncConnection, principal: Principal, object_key: str, action: str
) -> tuple[WorkspaceMeta, ObjectMeta]:
    """The metadata and object type for a call, after the key's scope check."""
    meta = await metadata_for(conn, principal)
    obj = meta.object(object_key)
    principal.require_scope(obj.key, action)
    return meta, obj


def ident(ref: str | int) -> sa.ColumnElement[bool]:
    """Match a record by integer id or UUID; NotFound for anything else."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return records.c.id == ref
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and len(ref) < 19:
        return records.c.id == int(ref)
    found = parse_uuid(ref) if isinstance(ref, str) else None
    if found is None:
        raise NotFound("Record not found")
    return records.c.uuid == found


async def _visible(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    ref: str | int,
    *,
    deleted: bool = False,
) -> Record:
    record = await repo.fetch(conn, repo.scoped(principal, obj, deleted=deleted), ident(ref), obj)
    if record is None:
        raise NotFound(f"{obj.label} not found")
    return record


def require_reach(principal: Principal, record: Record, verb: str) -> None:
    reach = principal.reach(record.object.key, verb)
    if reach == Reach.ALL or (reach == Reach.OWN and record.owner_id == principal.user_id):
        return
    raise PermissionDenied(f"Your role may not {verb} this {record.object.label.lower()}")


def _owner(meta: WorkspaceMeta, ref: Any, default: int | None) -> int | None:
    if ref is None:
        return default
    user = meta.user(ref) if isinstance(ref, str) else None
    if user is None or not user.active:
        raise ValidationFailed.of([FieldError("owner_id", "must be an active user's id or email")])
    return user.id


async def _check_references(
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


async def _check_unique(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    data: dict[str, Any],
    changed: set[str],
    self_id: int | None,
) -> None:
    conflicts = []
    for key in sorted(changed):
        f = obj.fields[key]
        if not f.unique or data.get(key) is None:
            continue
        await repo.lock_unique_value(conn, f.id, data[key])
        holders = await repo.holders_of(conn, principal.workspace_id, obj, key, [data[key]])
        if any(rid != self_id for rid in holders.values()):
            conflicts.append(
                FieldError(key, f"another {obj.key} already has this value", "duplicate")
            )
    if conflicts:
        raise Conflict(
            f"Duplicate value for a unique field of {obj.key}", [e.as_dict() for e in conflicts]
        )


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def _record_payload(record_uuid: Any, obj: ObjectMeta, name: str) -> dict[str, Any]:
    return {"record": str(record_uuid), "object": obj.key, "name": name}


async def _stage_events(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    record_id: int,
    record_uuid: Any,
    changes: dict[str, list[Any]],
) -> None:
    """A stage move is its own event, carrying the pipeline and both stages."""
    for key, (before, after) in changes.items():
        f = obj.fields.get(key)  # changes may also hold owner_id, which is no field
        if f is None or f.type != "stage":
            continue
        pipeline = meta.pipeline_of(f)
        old, new = pipeline.stage_by_uuid(before or ""), pipeline.stage_by_uuid(after or "")
        await append_event(
            conn,
            principal.workspace_id,
            "record.stage_changed",
            actor=principal,
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


async def _prepare(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    raw_fields: Any,
) -> dict[str, Any]:
    """Parse, default and check a new record's fields; ValidationFailed lists every problem."""
    values, errors = parse_fields(meta, obj, raw_fields)
    if not errors:
        errors = await _check_references(conn, principal, meta, obj, values)
    apply_defaults(obj, values)
    data = {k: v for k, v in values.items() if v is not None}
    errors += [e for e in missing_required(obj, data) if e.field not in {x.field for x in errors}]
    if errors:
        raise ValidationFailed.of(errors)
    return data


def _inserted(obj: ObjectMeta, row: dict[str, Any]) -> Record:
    """The record just inserted from ``row`` (see :func:`_row`)."""
    return Record(
        id=row["id"],
        uuid=row["uuid"],
        object=obj,
        owner_id=row["owner_id"],
        data=row["data"],
        display_name=row["display_name"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        archived_at=None,
        deleted_at=None,
    )


def _row(
    principal: Principal, obj: ObjectMeta, data: dict[str, Any], owner: int | None, now: Any
) -> dict[str, Any]:
    name = display_name(obj, data)
    return {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "object_type_id": obj.id,
        "owner_id": owner,
        "data": data,
        "display_name": name,
        "search_text": search_text(obj, data, name),
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }


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
    if not principal.may_create(obj.key):
        raise PermissionDenied(f"Your role may not create {obj.plural_label.lower()}")
    owner_id = _owner(meta, owner, principal.user_id)
    data = await _prepare(conn, principal, meta, obj, fields)
    await number_new_records(conn, principal.workspace_id, obj, [data])
    await _check_unique(conn, principal, obj, data, set(data), None)
    row = _row(principal, obj, data, owner_id, utcnow())
    row["id"] = (
        await conn.execute(sa.insert(records).values(**row).returning(records.c.id))
    ).scalar_one()
    await append_event(
        conn,
        principal.workspace_id,
        "record.created",
        actor=principal,
        object_type_id=obj.id,
        record_id=row["id"],
        changes=_changes({}, data),
        payload=_record_payload(row["uuid"], obj, row["display_name"]),
    )
    await _stage_events(conn, principal, meta, obj, row["id"], row["uuid"], _changes({}, data))
    return _inserted(obj, row)


async def get_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> Record:
    """One visible record by UUID or integer id."""
    _, obj = await context(conn, principal, object_key, "read")
    return await _visible(conn, principal, obj, ref)


async def update_record(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    fields: Any,
    owner: Any = None,
) -> Record:
    """Change some fields (``None`` clears one) and/or the owner."""
    meta, obj = await context(conn, principal, object_key, "update")
    record = await _visible(conn, principal, obj, ref)
    require_reach(principal, record, "edit")
    values, errors = parse_fields(meta, obj, fields)
    if not errors:
        errors = await _check_references(conn, principal, meta, obj, values)
    data = {**record.data, **values}
    data = {k: v for k, v in data.items() if v is not None}
    cleared = {k for k, v in values.items() if v is None}
    errors += [e for e in missing_required(obj, data) if e.field in cleared]
    if errors:
        raise ValidationFailed.of(errors)
    owner_id = _owner(meta, owner, record.owner_id)
    changes = _changes(record.data, data)
    if not changes and owner_id == record.owner_id:
        return record
    await _check_unique(conn, principal, obj, data, set(changes), record.id)
    name = display_name(obj, data)
    now = utcnow()
    await conn.execute(
        sa.update(records)
        .where(records.c.id == record.id)
        .values(
            data=data,
            display_name=name,
            search_text=search_text(obj, data, name),
            owner_id=owner_id,
            updated_at=now,
        )
    )
    if owner_id != record.owner_id:
        changes["owner_id"] = [_user_uuid(meta, record.owner_id), _user_uuid(meta, owner_id)]
    await append_event(
        conn,
        principal.workspace_id,
        "record.updated",
        actor=principal,
        object_type_id=obj.id,
        record_id=record.id,
        changes=changes,
        payload=_record_payload(record.uuid, obj, name),
    )
    await _stage_events(conn, principal, meta, obj, record.id, record.uuid, changes)
    return replace(record, owner_id=owner_id, data=data, display_name=name, updated_at=now)


def _user_uuid(meta: WorkspaceMeta, user_id: int | None) -> str | None:
    user = meta.users.get(user_id) if user_id is not None else None
    return str(user.uuid) if user else None


async def _set_state(
    conn: AsyncConnection, principal: Principal, record: Record, event: str, **values: Any
) -> Record:
    now = utcnow()
    values = {k: (now if v is True else v) for k, v in values.items()}
    await conn.execute(
        sa.update(records).where(records.c.id == record.id).values(updated_at=now, **values)
    )
    await append_event(
        conn,
        principal.workspace_id,
        event,
        actor=principal,
        object_type_id=record.object.id,
        record_id=record.id,
        payload=_record_payload(record.uuid, record.object, record.display_name),
    )
    return replace(record, updated_at=now, **values)


async def delete_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> Record:
    """Soft-delete: the record leaves every read but can be restored."""
    _, obj = await context(conn, principal, object_key, "delete")
    record = await _visible(conn, principal, obj, ref)
    require_reach(principal, record, "delete")
    return await _set_state(conn, principal, record, "record.deleted", deleted_at=True)


async def restore_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> Record:
    """Bring back a deleted record, unless its unique values were taken meanwhile."""
    _, obj = await context(conn, principal, object_key, "delete")
    record = await _visible(conn, principal, obj, ref, deleted=True)
    require_reach(principal, record, "delete")
    await _check_unique(conn, principal, obj, record.data, set(record.data), record.id)
    return await _set_state(conn, principal, record, "record.restored", deleted_at=None)


async def set_archived(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    archived: bool,
) -> Record:
    """Archive or unarchive; 409 when the record is already in that state."""
    _, obj = await context(conn, principal, object_key, "update")
    record = await _visible(conn, principal, obj, ref)
    require_reach(principal, record, "edit")
    if (record.archived_at is not None) == archived:
        raise Conflict(f"The {obj.label.lower()} is already {'archived' if archived else 'active'}")
    event = "record.archived" if archived else "record.unarchived"
    return await _set_state(conn, principal, record, event, archived_at=True if archived else None)


async def upsert_record(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    *,
    match: str,
    fields: Any,
    owner: Any = None,
) -> tuple[Record, bool]:
    """Update the record whose unique field ``match`` holds the given value, or create one."""
    meta, obj = await context(conn, principal, object_key, "update")
    f = obj.fields.get(match)
    if f is None or not f.unique:
        raise ValidationFailed.of([FieldError("match", f"must name a unique field of {obj.key}")])
    values, errors = parse_fields(
        meta, obj, {match: (fields or {}).get(match)} if isinstance(fields, dict) else fields
    )
    if errors or values.get(match) is None:
        raise ValidationFailed.of(errors or [FieldError(match, "is required to match on")])
    await repo.lock_unique_value(conn, f.id, values[match])
    holders = await repo.holders_of(conn, principal.workspace_id, obj, match, [values[match]])
    if holders:
        existing = next(iter(holders.values()))
        return await update_record(
            conn, principal, obj.key, existing, fields=fields, owner=owner
        ), False
    return await create_record(conn, principal, obj.key, fields=fields, owner=owner), True


async def bulk_create(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    items: Any,
) -> list[BulkItem]:
    """Create many records in one statement; each bad item is reported, the rest stored."""
    meta, obj = await context(conn, principal, object_key, "create")
    if not principal.may_create(obj.key):
        raise PermissionDenied(f"Your role may not create {obj.plural_label.lower()}")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BULK:
        raise ValidationFailed.of([FieldError("records", f"must be a list of 1 to {MAX_BULK}")])
    now = utcnow()
    results: list[BulkItem] = []
    accepted: list[tuple[int | None, dict[str, Any]]] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict) or set(item) - {"fields", "owner_id"}:
                raise ValidationFailed.of([FieldError("item", "must be {fields, owner_id}")])
            owner_id = _owner(meta, item.get("owner_id"), principal.user_id)
            data = await _prepare(conn, principal, meta, obj, item.get("fields"))
        except CRMError as exc:
            results.append(BulkItem(index, error=exc))
            continue
        accepted.append((owner_id, data))
        results.append(BulkItem(index))
    await number_new_records(conn, principal.workspace_id, obj, [data for _, data in accepted])
    rows = [_row(principal, obj, data, owner_id, now) for owner_id, data in accepted]
    await _refuse_duplicates(conn, principal, obj, rows, results)
    good = [r for r in rows if "refused" not in r]
    if good:
        insert = sa.insert(records).returning(records.c.id, sort_by_parameter_order=True)
        ids = (await conn.execute(insert, good)).scalars().all()
        for row, rid in zip(good, ids, strict=True):
            row["id"] = rid
        await append_many(
            conn,
            [
                event_row(
                    principal,
                    "record.created",
                    at=now,
                    object_type_id=obj.id,
                    record_id=r["id"],
                    changes=_changes({}, r["data"]),
                    payload=_record_payload(r["uuid"], obj, r["display_name"]),
                )
                for r in good
            ],
        )
    by_index = iter(rows)
    out = []
    for item in results:
        if item.error is not None:
            out.append(item)
            continue
        row = next(by_index)
        if "refused" in row:
            out.append(BulkItem(item.index, error=row["refused"]))
            continue
        out.append(
            BulkItem(
                item.index,
                record=_inserted(obj, row),
            )
        )
    return out


async def _refuse_duplicates(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    rows: list[dict[str, Any]],
    results: list[BulkItem],
) -> None:
    """Mark rows whose unique values exist already, or repeat an earlier row's, as refused."""
    for f in obj.fields.values():
        if not f.unique:
            continue
        values = [r["data"][f.key] for r in rows if r["data"].get(f.key) is not None]
        for value in values:
            await repo.lock_unique_value(conn, f.id, value)
        taken = set(await repo.holders_of(conn, principal.workspace_id, obj, f.key, values))
        for row in rows:
            value = row["data"].get(f.key)
            if value is None or "refused" in row:
                continue
            if value in taken:
                row["refused"] = Conflict(
                    f"Duplicate value for a unique field of {obj.key}",
                    [
                        FieldError(
                            f.key, f"another {obj.key} already has this value", "duplicate"
                        ).as_dict()
                    ],
                )
            taken.add(value)


async def find_records(
    conn: AsyncConnection, principal: Principal, object_key: str, query: RecordQuery
) -> Page:
    """A page of visible records matching a filter and/or search, in the requested order."""
    meta, obj = await context(conn, principal, object_key, "list")
    dialect = conn.dialect.name
    if not isinstance(query.limit, int) or not 1 <= query.limit <= MAX_PAGE:
        raise ValidationFailed.of([FieldError("limit", f"must be 1 to {MAX_PAGE}")])
    if query.cursor is not None and query.offset is not None:
        raise ValidationFailed.of([FieldError("offset", "cannot be combined with cursor")])
    where = _where(principal, meta, obj, dialect, query)
    keys = rq.parse_sort(obj, query.sort)
    select = sa.select(*repo.COLUMNS, *rq.sort_columns(keys, dialect)).where(where)
    if query.cursor is not None:
        select = select.where(rq.keyset(keys, rq.decode_cursor(keys, query.cursor), dialect))
    if query.offset is not None:
        if not isinstance(query.offset, int) or query.offset < 0:
            raise ValidationFailed.of([FieldError("offset", "must be 0 or more")])
        select = select.offset(query.offset)
    rows = (
        await conn.execute(select.order_by(*rq.order_by(keys, dialect)).limit(query.limit + 1))
    ).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = rq.encode_cursor(keys, [getattr(last, f"_sort{i}") for i in range(len(keys))])
    total = None
    if query.with_total:
        total = await _count(conn, where)
    return Page([repo.to_record(obj, r) for r in rows], cursor, total)


def _where(
    principal: Principal, meta: WorkspaceMeta, obj: ObjectMeta, dialect: str, query: RecordQuery
) -> sa.ColumnElement[bool]:
    clauses = [repo.scoped(principal, obj)]
    archived = {
        "exclude": records.c.archived_at.is_(None),
        "only": records.c.archived_at.is_not(None),
        "include": None,
    }
    if query.archived not in archived:
        raise ValidationFailed.of([FieldError("archived", "must be exclude, include or only")])
    if archived[query.archived] is not None:
        clauses.append(archived[query.archived])  # type: ignore[arg-type]
    compiled = rq.compile_filter(meta, obj, dialect, query.filter)
    if compiled is not None:
        clauses.append(compiled)
    if query.q is not None:
        if not isinstance(query.q, str) or len(query.q) > 200 or "\x00" in query.q:
            raise ValidationFailed.of([FieldError("q", "must be a string of at most 200")])
        if query.q.strip():
            clauses.append(rq.search_clause(query.q))
    return sa.and_(*clauses)


async def _count(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> int:
    return int(
        (
            await conn.execute(sa.select(sa.func.count()).select_from(records).where(where))
        ).scalar_one()
    )


async def count_records(
    conn: AsyncConnection, principal: Principal, object_key: str, query: RecordQuery
) -> int:
    """How many visible records match the filter and search."""
    meta, obj = await context(conn, principal, object_key, "list")
    return await _count(conn, _where(principal, meta, obj, conn.dialect.name, query))
