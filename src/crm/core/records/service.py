"""The record engine: read, change, delete, archive, upsert and find records.

Creating records lives in :mod:`crm.core.records.creation` and is re-exported here. Services
take ``(conn, principal, ...)``, never commit, and append an event for every change in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, CRMError, FieldError, NotFound, ValidationFailed
from crm.core.events import append_event
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records import counts, plans
from crm.core.records import query as rq
from crm.core.records import repository as repo
from crm.core.records.batch import Change, hold_unique_values, merge_changes
from crm.core.records.creation import bulk_create, create_record
from crm.core.records.model import Page, Record, RecordQuery
from crm.core.records.rules import (
    check_references,
    check_unique,
    context,
    ident,
    owner_id_for,
    record_payload,
    require_reach,
    visible,
)
from crm.core.records.values import parse_fields
from crm.db.engine import OFFLOAD
from crm.db.schema import records

__all__ = [
    "bulk_create",
    "context",
    "count_records",
    "create_record",
    "delete_record",
    "find_records",
    "get_record",
    "ident",
    "locate_record",
    "record_matches",
    "require_reach",
    "restore_record",
    "set_archived",
    "update_record",
    "upsert_record",
]

MAX_PAGE = 500


async def get_record(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    lock: bool = False,
) -> Record:
    """One visible record by UUID or integer id; a writer of what hangs on it (notes, tags,
    viewers, links) passes ``lock`` to hold its row until the transaction ends."""
    _, obj = await context(conn, principal, object_key, "read")
    return await visible(conn, principal, obj, ref, lock=lock)


async def locate_record(
    conn: AsyncConnection, principal: Principal, ref: str | int, *, lock: bool = False
) -> Record:
    """A visible record of any object type, by UUID or integer id (faces that name records
    without their object, such as a lead id that may be of any entity); ``lock`` as for
    :func:`get_record`."""
    object_type_id = (
        await conn.execute(
            sa.select(records.c.object_type_id).where(
                records.c.workspace_id == principal.workspace_id,
                ident(ref),
                records.c.deleted_at.is_(None),
            )
        )
    ).scalar()
    meta = await metadata_for(conn, principal)
    obj = meta.objects_by_id.get(object_type_id) if object_type_id is not None else None
    if obj is None:
        raise NotFound("Record not found")
    return await get_record(conn, principal, obj.key, ref, lock=lock)


async def update_record(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    fields: Any,
    owner: Any = None,
    unmapped: dict[str, Any] | None = None,
) -> Record:
    """Change some fields (``None`` clears one) and/or the owner: a batch of one through
    :func:`crm.core.records.batch.apply_changes`' rules.

    ``unmapped`` values (input that matched no field, kept from intake) are merged into the
    record's unmapped bag. Answers 404, then 403, then 422, then 409.
    """
    meta, obj = await context(conn, principal, object_key, "update")
    values, errors = parse_fields(meta, obj, fields)
    if not errors:
        errors = await check_references(conn, principal, meta, obj, values)
    change = Change(0, values, unmapped=unmapped)
    await hold_unique_values(conn, obj, [change])
    record = await visible(conn, principal, obj, ref, lock=True)
    require_reach(principal, record, "edit")
    if errors:
        raise ValidationFailed.of(errors)
    change.record_id, change.owner_id = record.id, owner_id_for(meta, owner, None)
    (result,) = await merge_changes(conn, principal, meta, obj, {record.id: record}, [change])
    if isinstance(result, CRMError):
        raise result
    return result


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
        payload=record_payload(record.uuid, record.object, record.display_name),
    )
    return replace(record, updated_at=now, **values)


async def delete_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> Record:
    """Soft-delete: the record leaves every read but can be restored."""
    _, obj = await context(conn, principal, object_key, "delete")
    record = await visible(conn, principal, obj, ref, lock=True)
    require_reach(principal, record, "delete")
    return await _set_state(conn, principal, record, "record.deleted", deleted_at=True)


async def restore_record(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> Record:
    """Bring back a deleted record, unless its unique values were taken meanwhile."""
    _, obj = await context(conn, principal, object_key, "delete")
    seen = await visible(conn, principal, obj, ref, deleted=True)
    keys = repo.unique_keys(obj, [k for k in seen.data if k in obj.fields])
    await repo.hold_field_values(conn, obj, keys, [seen.data])
    record = await visible(conn, principal, obj, seen.id, deleted=True, lock=True)
    require_reach(principal, record, "delete")
    await check_unique(conn, principal, obj, record.data, set(keys), record.id)
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
    record = await visible(conn, principal, obj, ref, lock=True)
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
    values, errors = parse_fields(meta, obj, fields)
    if errors or values.get(match) is None:
        matched = [e for e in errors if e.field == match]
        raise ValidationFailed.of(
            matched or errors or [FieldError(match, "is required to match on")]
        )
    await hold_unique_values(conn, obj, [Change(0, values)])
    holders = await repo.holders_of(conn, principal.workspace_id, obj, match, [values[match]])
    if holders:
        existing = next(iter(holders.values()))
        return await update_record(
            conn, principal, obj.key, existing, fields=fields, owner=owner
        ), False
    return await create_record(conn, principal, obj.key, fields=fields, owner=owner), True


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
    keys = rq.parse_sort(obj, query.sort)
    probes = _where(principal, meta, obj, dialect, query)[1]
    plan, through = await plans.choose(conn, principal, obj, keys, probes)
    where = _where(principal, meta, obj, dialect, query, plan, through)[0]
    select = sa.select(*repo.COLUMNS, *rq.sort_columns(keys, dialect)).where(where)
    if query.cursor is not None:
        select = select.where(rq.keyset(keys, rq.decode_cursor(keys, query.cursor), dialect))
    if query.offset is not None:
        if not isinstance(query.offset, int) or query.offset < 0:
            raise ValidationFailed.of([FieldError("offset", "must be 0 or more")])
        select = select.offset(query.offset)
    rows = (
        await conn.execute(
            select.order_by(*rq.order_by(keys, dialect)).limit(query.limit + 1),
            execution_options=OFFLOAD,
        )
    ).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = rq.encode_cursor(keys, [getattr(last, f"_sort{i}") for i in range(len(keys))])
    total = None
    if query.with_total:
        total = await _total(conn, principal, meta, obj, query)
    return Page([repo.to_record(obj, r) for r in rows], cursor, total)


def _where(
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    dialect: str,
    query: RecordQuery,
    plan: rq.Plan = rq.Plan.PLANNER,
    through: str | None = None,
) -> tuple[sa.ColumnElement[bool], list[rq.Probe]]:
    """The listing's condition written for ``plan`` (through the index of the probe named
    ``through``, or of each if None), and the conditions that could choose the plan (``q``
    first)."""
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
    if query.member_of is not None:
        clauses.append(rq.in_list(query.member_of))
    compiled, probes = rq.compile_listing(meta, obj, dialect, query.filter, plan, through)
    if compiled is not None:
        clauses.append(compiled)
    if query.q is not None:
        if not isinstance(query.q, str) or len(query.q) > 200 or "\x00" in query.q:
            raise ValidationFailed.of([FieldError("q", "must be a string of at most 200")])
        if query.q.strip():
            search = rq.Search(query.q, query.q_links, principal.workspace_id, dialect)
            clauses.append(search.clause(plan if through in (None, "q") else rq.Plan.WALK))
            probe = search.probe()
            probes = [probe, *probes] if probe is not None else probes
    return sa.and_(*clauses), probes


async def _total(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    query: RecordQuery,
) -> int:
    """How many visible records match ``query``: the kept count of the object's live
    records when that is the question, else a count through the indexes."""
    if counts.kept(principal, obj, query):
        return await counts.live_records(conn, principal.workspace_id, obj)
    where = _where(principal, meta, obj, conn.dialect.name, query, rq.Plan.INDEX)[0]
    return int(
        (
            await conn.execute(
                sa.select(sa.func.count()).select_from(records).where(where),
                execution_options=OFFLOAD,
            )
        ).scalar_one()
    )


async def record_matches(
    conn: AsyncConnection, principal: Principal, object_key: str, record_id: int, filter: Any
) -> bool:
    """Whether the record ``record_id``, if the caller can see it, matches a filter
    document (archived or not)."""
    meta, obj = await context(conn, principal, object_key, "list")
    query = RecordQuery(filter=filter, archived="include")
    where = _where(principal, meta, obj, conn.dialect.name, query, rq.Plan.INDEX)[0]
    found = await conn.execute(
        sa.select(records.c.id).where(where, records.c.id == record_id).limit(1)
    )
    return found.first() is not None


async def count_records(
    conn: AsyncConnection, principal: Principal, object_key: str, query: RecordQuery
) -> int:
    """How many visible records match the filter and search."""
    meta, obj = await context(conn, principal, object_key, "list")
    return await _total(conn, principal, meta, obj, query)
