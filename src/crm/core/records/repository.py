"""SQL for records. Every query starts from :func:`scoped`, which no caller can bypass.

:func:`scoped` binds the workspace, the object type, the caller's visibility (own records
only, for a role that may not see others') and soft deletion, so a query cannot forget any.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal, Reach
from crm.core.errors import PermissionDenied
from crm.core.metadata.model import ObjectMeta
from crm.core.records.model import Record
from crm.db import jsonsql
from crm.db.locks import FIELD_VALUES, hold_values
from crm.db.rows import chunks
from crm.db.schema import record_viewers, records

COLUMNS = (
    records.c.id,
    records.c.uuid,
    records.c.owner_id,
    records.c.data,
    records.c.display_name,
    records.c.created_at,
    records.c.updated_at,
    records.c.archived_at,
    records.c.deleted_at,
    records.c.unmapped,
    records.c.number,
)


def scoped(
    principal: Principal, obj: ObjectMeta, verb: str = "view", *, deleted: bool = False
) -> sa.ColumnElement[bool]:
    """The WHERE clause of every record query: workspace, object, visibility, deletion.

    Viewing also reaches the records shared with the caller's user (record viewers), even
    where the role would not; editing and deleting follow the role alone.
    """
    reach = principal.reach(obj.key, verb)
    clause = sa.and_(
        records.c.workspace_id == principal.workspace_id,
        records.c.object_type_id == obj.id,
        records.c.deleted_at.is_not(None) if deleted else records.c.deleted_at.is_(None),
    )
    if reach == Reach.ALL:
        return clause
    shared = records.c.id.in_(
        sa.select(record_viewers.c.record_id).where(
            record_viewers.c.workspace_id == principal.workspace_id,
            record_viewers.c.user_id == principal.user_id,
        )
    )
    if reach == Reach.OWN:
        mine = records.c.owner_id == principal.user_id
        return sa.and_(clause, sa.or_(mine, shared) if verb == "view" else mine)
    if verb != "view":
        raise PermissionDenied(f"Your role may not {verb} {obj.plural_label.lower()}")
    return sa.and_(clause, shared)


def to_record(obj: ObjectMeta, row: Any) -> Record:
    return Record(
        id=row.id,
        uuid=row.uuid,
        object=obj,
        owner_id=row.owner_id,
        data=row.data or {},
        display_name=row.display_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        deleted_at=row.deleted_at,
        unmapped=row.unmapped or {},
        number=row.number,
    )


async def fetch(
    conn: AsyncConnection,
    where: sa.ColumnElement[bool],
    ident: sa.ColumnElement[bool],
    obj: ObjectMeta,
    *,
    lock: bool = False,
) -> Record | None:
    """One record; with ``lock``, its row is locked until the transaction ends (a writer's
    read-modify-write then sees the latest committed version and no other writer's)."""
    select = sa.select(*COLUMNS).where(where, ident)
    if lock:
        select = select.with_for_update(of=records)
    row = (await conn.execute(select)).first()
    return to_record(obj, row) if row else None


def field_groups(
    obj: ObjectMeta, keys: Iterable[str], rows: Iterable[dict[str, Any]]
) -> dict[Any, list[Any]]:
    """The values that ``rows`` give fields ``keys`` (stored form), by lock group."""
    listed = list(rows)
    return {
        (FIELD_VALUES, obj.fields[k].id): [row.get(k) for row in listed]
        for k in dict.fromkeys(keys)
        if k in obj.fields
    }


async def hold_field_values(
    conn: AsyncConnection, obj: ObjectMeta, keys: Iterable[str], rows: Iterable[dict[str, Any]]
) -> None:
    """Hold the values that ``rows`` give fields ``keys`` until the transaction ends, so that
    checking who holds them and writing them is one step among concurrent writers (see
    :mod:`crm.db.locks`)."""
    await hold_values(conn, field_groups(obj, keys, rows))


def unique_keys(obj: ObjectMeta, keys: Iterable[str] | None = None) -> list[str]:
    """The unique fields of ``obj`` (among ``keys`` when given)."""
    fields = obj.fields.values() if keys is None else (obj.fields[k] for k in keys)
    return [f.key for f in fields if f.unique]


async def holders_of(
    conn: AsyncConnection,
    workspace_id: int,
    obj: ObjectMeta,
    key: str,
    values: list[Any],
) -> dict[Any, int]:
    """Which live records of ``obj`` hold each of ``values`` in field ``key`` (the oldest one
    where several do), looked up in chunks that stay within every driver's parameter limit.
    """
    if not values:
        return {}
    dialect = conn.dialect.name
    found: dict[Any, int] = {}
    distinct = list(dict.fromkeys(values))
    for chunk in chunks(distinct):
        rows = await conn.execute(
            sa.select(jsonsql.json_expr(dialect, key).label("value"), records.c.id).where(
                records.c.workspace_id == workspace_id,
                records.c.object_type_id == obj.id,
                records.c.deleted_at.is_(None),
                jsonsql.in_values(dialect, key, chunk),
            )
        )
        # No ORDER BY: sorting by id would tempt the planner into walking the listing
        # index backwards instead of looking the values up in the field's index.
        for value, rid in rows.all():
            found[value] = min(rid, found.get(value, rid))
    return found
