"""Records named by what a client knows of them: their numbers, or a value of a field that
identifies them (an email, a case's identifier)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from crm.core.ids import parse_uuid
from crm.core.metadata.model import FieldMeta, ObjectMeta
from crm.core.records.model import Record, RecordQuery
from crm.core.records.rules import context
from crm.core.records.service import find_records, update_record
from crm.core.records.values import parse_fields
from crm.db.schema import records


async def numbers_of(
    conn: AsyncConnection, principal: Principal, uuids: Iterable[str]
) -> dict[str, int]:
    """The numbers of the workspace's live records with these UUIDs (for showing the
    records a record's relations name, whose UUIDs the caller already sees)."""
    wanted = {u for u in (parse_uuid(v) for v in uuids) if u is not None}
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(records.c.uuid, records.c.number).where(
            records.c.workspace_id == principal.workspace_id,
            records.c.uuid.in_(wanted),
            records.c.deleted_at.is_(None),
        )
    )
    return {str(r.uuid): int(r.number) for r in rows if r.number is not None}


async def uuids_by_number(
    conn: AsyncConnection, principal: Principal, object_key: str, numbers: Iterable[int]
) -> dict[int, str]:
    """The UUIDs of the live records of ``object_key`` with these numbers."""
    _, obj = await context(conn, principal, object_key, "read")
    wanted = set(numbers)
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(records.c.number, records.c.uuid).where(
            records.c.workspace_id == principal.workspace_id,
            records.c.object_type_id == obj.id,
            records.c.number.in_(wanted),
            records.c.deleted_at.is_(None),
        )
    )
    return {int(r.number): str(r.uuid) for r in rows}


def identifying_fields(obj: ObjectMeta) -> list[FieldMeta]:
    """The fields that name one record of ``obj``, in the order they are tried: its unique
    fields, those its duplicate rule matches on (a contact's email), then its display fields
    (an account's name, a case's title)."""
    unique = [f.key for f in obj.value_fields if f.unique]
    shown = [k for k in obj.display_fields if k in obj.fields]
    keys = dict.fromkeys([*unique, *obj.duplicate_rule.match, *shown])
    return [obj.fields[k] for k in keys if not obj.fields[k].holds_links]


async def update_matching(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    *,
    fields: dict[str, Any],
    owner: Any = None,
) -> Record:
    """Update the one visible record that the first identifying field given in ``fields``
    names. NotFound when none does, Conflict when several do (a non-unique email)."""
    meta, obj = await context(conn, principal, object_key, "update")
    candidates = identifying_fields(obj)
    given = [f for f in candidates if fields.get(f.key) not in (None, "")]
    if not given:
        names = ", ".join(f.key for f in candidates) or "none"
        raise ValidationFailed.of(
            [FieldError("body", f"must hold a field that identifies one {obj.key}: {names}")]
        )
    key = given[0].key
    values, errors = parse_fields(meta, obj, {key: fields[key]})
    if errors:
        raise ValidationFailed.of(errors)
    page = await find_records(
        conn,
        principal,
        obj.key,
        RecordQuery(filter={"field": key, "op": "eq", "value": values[key]}, limit=2),
    )
    if not page.records:
        raise NotFound(f"No {obj.label.lower()} has this {key}")
    if len(page.records) > 1:
        raise Conflict(
            f"More than one {obj.label.lower()} has this {key}",
            [FieldError(key, "matches more than one record", "ambiguous").as_dict()],
        )
    return await update_record(
        conn, principal, obj.key, page.records[0].id, fields=fields, owner=owner
    )
