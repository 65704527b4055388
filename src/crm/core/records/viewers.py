"""Record viewers: users a record is shared with, who may read it whatever their role says.

Sharing grants reading only; changing and deleting still follow the role. The grant is
enforced where every record query starts (:func:`crm.core.records.repository.scoped`), so
it holds on every face.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.events.service import record_event
from crm.core.metadata.model import UserMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.records.model import Record
from crm.core.records.service import get_record, require_reach
from crm.db.schema import record_viewers

__all__ = ["add_viewers", "insert_viewers", "list_viewers", "remove_viewer", "resolve_viewers"]


def resolve_viewers(meta: WorkspaceMeta, refs: Any, field: str = "viewers") -> list[UserMeta]:
    """Active users named by UUID or email (one string or a list); ValidationFailed otherwise."""
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise ValidationFailed.of([FieldError(field, "must be a user id or email, or a list")])
    found: dict[int, UserMeta] = {}
    unknown = []
    for ref in refs:
        if not ref.strip():
            continue
        user = meta.user(ref)
        if user is None or not user.active:
            unknown.append(ref)
        else:
            found[user.id] = user
    if unknown:
        raise ValidationFailed.of(
            [FieldError(field, f"no active user {', '.join(map(repr, unknown))} here")]
        )
    return list(found.values())


async def insert_viewers(
    conn: AsyncConnection, workspace_id: int, pairs: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Share records with users, as ``(record_id, user_id)`` pairs; answers the pairs that
    were not shared yet (the others stay as they were)."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return []
    found = await conn.execute(
        sa.select(record_viewers.c.record_id, record_viewers.c.user_id).where(
            record_viewers.c.workspace_id == workspace_id,
            record_viewers.c.record_id.in_({r for r, _ in wanted}),
        )
    )
    have = {(r, u) for r, u in found.all()}
    now = utcnow()
    new = [pair for pair in wanted if pair not in have]
    if new:
        await conn.execute(
            sa.insert(record_viewers),
            [
                {"workspace_id": workspace_id, "record_id": r, "user_id": u, "created_at": now}
                for r, u in new
            ],
        )
    return new


async def _current(conn: AsyncConnection, record: Record, workspace_id: int) -> set[int]:
    rows = await conn.execute(
        sa.select(record_viewers.c.user_id).where(
            record_viewers.c.workspace_id == workspace_id,
            record_viewers.c.record_id == record.id,
        )
    )
    return set(rows.scalars())


async def list_viewers(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> list[UserMeta]:
    """The users a visible record is shared with."""
    record = await get_record(conn, principal, object_key, ref)
    meta = await metadata_for(conn, principal)
    ids = await _current(conn, record, principal.workspace_id)
    return sorted((meta.users[i] for i in ids if i in meta.users), key=lambda u: u.email)


async def add_viewers(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int, users: Any
) -> list[UserMeta]:
    """Share a record the caller may edit with more users; answers all its viewers."""
    record = await get_record(conn, principal, object_key, ref, lock=True)
    principal.require_scope(record.object.key, "update")
    require_reach(principal, record, "edit")
    meta = await metadata_for(conn, principal)
    wanted = resolve_viewers(meta, users, "users")
    current = await _current(conn, record, principal.workspace_id)
    new = [u for u in wanted if u.id not in current]
    if new:
        await insert_viewers(conn, principal.workspace_id, [(record.id, u.id) for u in new])
        await record_event(
            conn, principal, record, "record.shared", users=[str(u.uuid) for u in new]
        )
    return await list_viewers(conn, principal, object_key, ref)


async def remove_viewer(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int, user: str
) -> None:
    """Stop sharing a record with one user; 404 when it was not shared with them."""
    record = await get_record(conn, principal, object_key, ref, lock=True)
    principal.require_scope(record.object.key, "update")
    require_reach(principal, record, "edit")
    meta = await metadata_for(conn, principal)
    found = meta.user(user)
    gone = None
    if found is not None:
        gone = await conn.execute(
            sa.delete(record_viewers).where(
                record_viewers.c.workspace_id == principal.workspace_id,
                record_viewers.c.record_id == record.id,
                record_viewers.c.user_id == found.id,
            )
        )
    if found is None or gone is None or not gone.rowcount:
        raise NotFound("The record is not shared with that user")
    await record_event(conn, principal, record, "record.unshared", users=[str(found.uuid)])
