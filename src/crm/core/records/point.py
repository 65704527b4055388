"""Point reads in one statement: the hot path for one record by id, and a list's first page.

:func:`read_record` answers the most common request, one record by UUID or id, with one
statement built once (:class:`crm.db.direct.Prepared`) that reads the record together with
its workspace's metadata and auth versions. It works only from what this process already
knows (the caller's key, the workspace's metadata) and only for a caller whose role sees
every record of the object; it checks the key's scope as :func:`get_record` does. Whenever
the answer needs more (an unknown key, a key or metadata changed since they were cached,
a role that sees only some records, a record that is not there) it returns ``None`` and
the caller takes the full path, which reaches the same answer or the error.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, NamedTuple, TypeVar

import sqlalchemy as sa

from crm.core.auth.cache import KnownKey
from crm.core.auth.principal import Principal, Reach
from crm.core.auth.service import known_key
from crm.core.errors import CRMError
from crm.core.ids import parse_uuid
from crm.core.metadata.model import WorkspaceMeta
from crm.core.metadata.repository import latest
from crm.core.records import query as rq
from crm.core.records import repository as repo
from crm.core.records.model import Page, Record
from crm.core.records.service import MAX_PAGE
from crm.db.direct import Direct, Prepared, Reader, Unavailable, param
from crm.db.schema import records, workspaces

T = TypeVar("T")

_WORKSPACE = param(workspaces.c.id, "workspace_id")
_OBJECT_TYPE = param(records.c.object_type_id)


def _by(ident: sa.ColumnElement[bool], *, typed: bool) -> Prepared:
    """The workspace's versions and, when it is there, the record (any deleted one not)."""
    found = [records.c.workspace_id == workspaces.c.id, ident, records.c.deleted_at.is_(None)]
    if typed:
        found.append(records.c.object_type_id == _OBJECT_TYPE)
    return Prepared(
        sa.select(
            workspaces.c.metadata_version,
            workspaces.c.auth_version,
            records.c.object_type_id,
            *repo.COLUMNS,
        )
        .select_from(workspaces.outerjoin(records, sa.and_(*found)))
        .where(workspaces.c.id == _WORKSPACE)
    )


_UUID = records.c.uuid == sa.bindparam("ref", type_=sa.Uuid())
_BY_UUID = _by(_UUID, typed=True)
_BY_ID = _by(records.c.id == sa.bindparam("ref", type_=records.c.id.type), typed=True)
_BY_NUMBER = _by(records.c.number == sa.bindparam("ref", type_=records.c.number.type), typed=True)
_ANY_BY_UUID = _by(_UUID, typed=False)


def _sees_all(principal: Principal, object_key: str, action: str) -> bool:
    """Whether the key may ``action`` the object's records and its role sees all of them."""
    return (
        principal.has_scope(object_key, action) and principal.reach(object_key, "view") == Reach.ALL
    )


class Point(NamedTuple, Generic[T]):
    """A point read: who asked, the metadata, the record and what ``more`` read with it."""

    principal: Principal
    meta: WorkspaceMeta
    record: Record
    more: T | None


class Listing(NamedTuple):
    """A first page read by :func:`first_page`."""

    principal: Principal
    meta: WorkspaceMeta
    page: Page


More = Callable[[Reader, Principal, Record], Awaitable[T]]


async def read_record(
    direct: Direct, raw_key: str | None, object_key: str, ref: str, more: More[T] | None = None
) -> Point[T] | None:
    """The caller, the metadata and the record, or ``None`` for the full path to answer.

    ``more`` reads what a face shows with the record (its identities, its tags) in the same
    snapshot, once the record is known to be the caller's to see.
    """
    if ref.isascii() and ref.isdigit() and len(ref) < 19:
        return await _read(direct, raw_key, object_key, _BY_ID, int(ref), more)
    found = parse_uuid(ref)
    return (
        None if found is None else await _read(direct, raw_key, object_key, _BY_UUID, found, more)
    )


async def read_numbered(
    direct: Direct, raw_key: str | None, object_key: str, number: int, more: More[T] | None = None
) -> Point[T] | None:
    """As :func:`read_record` for a record named by its number among its object type's
    (:class:`crm.core.records.model.Numbered`)."""
    return await _read(direct, raw_key, object_key, _BY_NUMBER, number, more)


async def locate_record(
    direct: Direct, raw_key: str | None, ref: str, more: More[T] | None = None
) -> Point[T] | None:
    """As :func:`read_record` for a record of any object type, by UUID (as
    :func:`crm.core.records.service.locate_record`)."""
    found = parse_uuid(ref)
    return None if found is None else await _read(direct, raw_key, None, _ANY_BY_UUID, found, more)


class _Caller(NamedTuple):
    """What this process already knows of a request's caller: its key and metadata."""

    known: KnownKey
    meta: WorkspaceMeta
    principal: Principal

    def current(self, row: Any) -> bool:
        """Whether ``row`` read the versions the key and metadata were cached at."""
        return bool(
            row.metadata_version == self.meta.version
            and row.auth_version == self.known.auth_version
        )


def _caller(direct: Direct, raw_key: str | None) -> _Caller | None:
    known = known_key(direct.database, raw_key)
    meta = None if known is None else latest(direct.database, known.workspace_id)
    if known is None or meta is None:
        return None
    return _Caller(known, meta, known.principal(meta.version))


async def _read(
    direct: Direct,
    raw_key: str | None,
    object_key: str | None,
    statement: Prepared,
    ref: object,
    more: More[T] | None,
) -> Point[T] | None:
    caller = _caller(direct, raw_key)
    if caller is None:
        return None
    known, meta, principal = caller
    object_type_id = None
    if object_key is not None:
        try:
            object_type_id = meta.object(object_key).id
        except CRMError:
            return None
    try:
        async with direct.reading(statements=1 if more is None else 3) as read:
            row = await read.first(
                statement,
                workspace_id=known.workspace_id,
                object_type_id=object_type_id,
                ref=ref,
            )
            if row is None or row.id is None or not caller.current(row):
                return None
            obj = meta.objects_by_id[row.object_type_id]
            if not _sees_all(principal, obj.key, "read"):
                return None
            record = repo.to_record(obj, row)
            extra = None if more is None else await more(read, principal, record)
            return Point(principal, meta, record, extra)
    except Unavailable:
        return None


@functools.lru_cache(maxsize=8)
def first_page_statement(rows: int) -> Prepared:
    """The newest ``rows`` records of an object type, each with its workspace's versions
    (scalar subqueries, so the listing index alone orders and bounds the records; an empty
    list has no row and is left to the full path). The row count is written into the
    statement, not bound: with every parameter a key, PostgreSQL can settle on one generic
    plan instead of planning each page again."""
    versions = workspaces.c.id == _WORKSPACE
    return Prepared(
        sa.select(
            sa.select(workspaces.c.metadata_version)
            .where(versions)
            .scalar_subquery()
            .label("metadata_version"),
            sa.select(workspaces.c.auth_version)
            .where(versions)
            .scalar_subquery()
            .label("auth_version"),
            records.c.object_type_id,
            *repo.COLUMNS,
        )
        .where(
            records.c.workspace_id == _WORKSPACE,
            records.c.object_type_id == _OBJECT_TYPE,
            records.c.deleted_at.is_(None),
            records.c.archived_at.is_(None),
        )
        .order_by(records.c.id.desc())
        .limit(sa.literal_column(str(int(rows)), sa.Integer()))
    )


async def first_page(
    direct: Direct, raw_key: str | None, object_key: str, limit: int
) -> Listing | None:
    """The first page of a list in the default order (newest first, archived records left
    out), as :func:`crm.core.records.service.find_records` gives it, in one statement; or
    ``None`` for the full path to answer."""
    caller = _caller(direct, raw_key)
    if caller is None or not 1 <= limit <= MAX_PAGE:
        return None
    known, meta, principal = caller
    try:
        obj = meta.object(object_key)
    except CRMError:
        return None
    if not _sees_all(principal, obj.key, "list"):
        return None
    try:
        async with direct.reading() as read:
            rows = await read.rows(
                first_page_statement(limit + 1),
                workspace_id=known.workspace_id,
                object_type_id=obj.id,
            )
    except Unavailable:
        return None
    if not rows or not caller.current(rows[0]):
        return None
    found = [repo.to_record(obj, r) for r in rows[:limit]]
    cursor = None
    if len(rows) > limit:
        cursor = rq.encode_cursor(rq.parse_sort(obj, None), [found[-1].id])
    return Listing(principal, meta, Page(found, cursor, None))
