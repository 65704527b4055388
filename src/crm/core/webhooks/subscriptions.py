"""Webhook subscriptions: per workspace a URL, the events wanted, a signing secret, and
how far delivery has come.

Managing them takes the ``webhook`` scope and a role that manages webhooks
(``admin:webhooks:manage``: owners and admins). A subscription gets what happens after it
is made: its cursor starts at the head of the workspace's event log. Its secret is shown
when it is made or rotated, and never again; a rotation keeps the previous secret signing
beside the new one for a grace period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from crm.core.events.stream import head
from crm.core.ids import parse_uuid, uuid7
from crm.core.metadata.service import metadata_for
from crm.core.paging import after, check_limit
from crm.core.webhooks.safety import Target
from crm.core.webhooks.signing import new_secret
from crm.db.schema import events, webhook_deliveries, webhook_subscriptions

__all__ = [
    "ALL",
    "GRACE",
    "MAX_GRACE",
    "MAX_SUBSCRIPTIONS",
    "Attempt",
    "AttemptPage",
    "Subscription",
    "Unchanged",
    "create_subscription",
    "delete_subscription",
    "delivery_log",
    "get_subscription",
    "list_subscriptions",
    "may_manage",
    "replay",
    "rotate_secret",
    "update_subscription",
]

subs = webhook_subscriptions

#: In a list of event types or object keys: every one.
ALL = "*"
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
MAX_TYPES = 100
MAX_SUBSCRIPTIONS = 50
#: How long a rotated secret goes on signing beside the new one, unless asked otherwise.
GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)
#: Attempts on a page of the delivery log unless the caller asks for fewer or more.
LOG_PAGE = 50
MAX_LOG_PAGE = 500


@dataclass(frozen=True)
class Subscription:
    id: int
    uuid: UUID
    url: str
    #: The event types and object keys wanted; None for all.
    event_types: tuple[str, ...] | None
    object_types: tuple[str, ...] | None
    active: bool
    status: str
    failure: str | None
    failed_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime
    #: The signing secret, only when it was just made (creation, rotation).
    secret: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One attempt of the delivery log."""

    uuid: UUID
    event_uuid: UUID
    event_type: str
    attempt: int
    status: str
    response_status: int | None
    response_excerpt: str | None
    error: str | None
    duration_ms: int
    created_at: datetime


class AttemptPage(NamedTuple):
    attempts: list[Attempt]
    next_cursor: str | None


class Unchanged:
    """An attribute an update leaves as it is."""


KEEP = Unchanged()


def may_manage(principal: Principal, action: str) -> None:
    """PermissionDenied unless the key has ``webhook:<action>`` and the role manages
    webhooks."""
    principal.require_scope("webhook", action)
    principal.require_admin("webhooks")


def _subscription(row: Any, secret: str | None = None) -> Subscription:
    shown_until = row.previous_until if row.previous_secret else None
    return Subscription(
        id=row.id,
        uuid=row.uuid,
        url=row.url,
        event_types=None if row.event_types is None else tuple(row.event_types),
        object_types=None if row.object_types is None else tuple(row.object_types),
        active=row.active,
        status=row.status,
        failure=row.failure,
        failed_at=row.failed_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        previous_secret_until=shown_until if shown_until and shown_until > utcnow() else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        secret=secret,
    )


def _types(value: Any) -> list[str] | None:
    """Event types as stored (None for all); ValidationFailed on ``events``."""
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_TYPES:
        raise ValidationFailed.of(
            [FieldError("events", f'must be a list of 1 to {MAX_TYPES} event types, or ["*"]')]
        )
    if ALL in value:
        return None
    errors = [
        FieldError(f"events[{i}]", "must be an event type such as record.created")
        for i, item in enumerate(value)
        if not isinstance(item, str) or not EVENT_TYPE.match(item)
    ]
    if errors:
        raise ValidationFailed.of(errors)
    return sorted(set(value))


async def _objects(conn: AsyncConnection, principal: Principal, value: Any) -> list[str] | None:
    """Object keys as stored (None for all); ValidationFailed on ``objects`` for what is
    not a list, or names no object type of the workspace."""
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_TYPES:
        raise ValidationFailed.of(
            [FieldError("objects", f'must be a list of 1 to {MAX_TYPES} object keys, or ["*"]')]
        )
    if ALL in value:
        return None
    meta = await metadata_for(conn, principal)
    errors = [
        FieldError(f"objects[{i}]", "is not an object type of this workspace", "unknown")
        for i, item in enumerate(value)
        if not isinstance(item, str) or item not in meta.objects
    ]
    if errors:
        raise ValidationFailed.of(errors)
    return sorted(set(value))


async def _row(conn: AsyncConnection, principal: Principal, ref: str, *, lock: bool) -> Any:
    wanted = parse_uuid(ref)
    query = sa.select(subs).where(
        subs.c.workspace_id == principal.workspace_id, subs.c.uuid == wanted
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = None if wanted is None else (await conn.execute(query)).first()
    if row is None:
        raise NotFound("No such webhook subscription")
    return row


async def create_subscription(
    conn: AsyncConnection,
    principal: Principal,
    *,
    url: Target,
    events: Sequence[str] = (ALL,),
    objects: Sequence[str] = (ALL,),
) -> Subscription:
    """A new subscription to ``url`` (checked by :func:`crm.core.webhooks.safety.check`),
    active, its cursor at the head of the workspace's log; its secret, shown this once."""
    may_manage(principal, "create")
    event_types = _types(list(events))
    object_types = await _objects(conn, principal, list(objects))
    count = await conn.execute(
        sa.select(sa.func.count())
        .select_from(subs)
        .where(subs.c.workspace_id == principal.workspace_id)
    )
    if count.scalar_one() >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"A workspace has at most {MAX_SUBSCRIPTIONS} webhook subscriptions")
    start = await head(conn, principal.workspace_id)
    now, secret = utcnow(), new_secret()
    row = (
        await conn.execute(
            sa.insert(subs)
            .values(
                workspace_id=principal.workspace_id,
                uuid=uuid7(),
                url=url.url,
                event_types=event_types,
                object_types=object_types,
                active=True,
                status="active",
                cursor_tx=start.tx,
                cursor_id=start.id,
                secret=secret,
                attempts=0,
                created_by=principal.user_id,
                created_at=now,
                updated_at=now,
            )
            .returning(*subs.c)
        )
    ).one()
    return _subscription(row, secret)


async def list_subscriptions(conn: AsyncConnection, principal: Principal) -> list[Subscription]:
    """The workspace's subscriptions, oldest first."""
    may_manage(principal, "list")
    rows = await conn.execute(
        sa.select(subs).where(subs.c.workspace_id == principal.workspace_id).order_by(subs.c.id)
    )
    return [_subscription(row) for row in rows]


async def get_subscription(conn: AsyncConnection, principal: Principal, ref: str) -> Subscription:
    may_manage(principal, "read")
    return _subscription(await _row(conn, principal, ref, lock=False))


async def _update(conn: AsyncConnection, row: Any, values: dict[str, Any]) -> Any:
    return (
        await conn.execute(
            sa.update(subs)
            .where(subs.c.id == row.id)
            .values(**values, updated_at=utcnow())
            .returning(*subs.c)
        )
    ).one()


#: What a subscription that starts afresh at the event after its cursor forgets.
_AFRESH = {"attempts": 0, "next_attempt_at": None}


async def update_subscription(
    conn: AsyncConnection,
    principal: Principal,
    ref: str,
    *,
    url: Target | Unchanged = KEEP,
    events: Sequence[str] | Unchanged = KEEP,
    objects: Sequence[str] | Unchanged = KEEP,
    active: bool | Unchanged = KEEP,
) -> Subscription:
    """Change what is given. Turning a subscription on (``active``) resumes a failing
    one: the event it failed on is tried again at once; so does a new URL."""
    may_manage(principal, "update")
    row = await _row(conn, principal, ref, lock=True)
    values: dict[str, Any] = {}
    if not isinstance(events, Unchanged):
        values["event_types"] = _types(list(events))
    if not isinstance(objects, Unchanged):
        values["object_types"] = await _objects(conn, principal, list(objects))
    if not isinstance(url, Unchanged):
        values |= {"url": url.url, **_AFRESH}
    if not isinstance(active, Unchanged):
        values["active"] = active
        if active:
            values |= {"status": "active", "failure": None, "failed_at": None, **_AFRESH}
    return _subscription(await _update(conn, row, values))


async def delete_subscription(conn: AsyncConnection, principal: Principal, ref: str) -> None:
    """Delete the subscription and its delivery log."""
    may_manage(principal, "delete")
    row = await _row(conn, principal, ref, lock=True)
    await conn.execute(
        sa.delete(webhook_deliveries).where(webhook_deliveries.c.subscription_id == row.id)
    )
    await conn.execute(sa.delete(subs).where(subs.c.id == row.id))


async def rotate_secret(
    conn: AsyncConnection, principal: Principal, ref: str, *, grace: timedelta = GRACE
) -> Subscription:
    """A new secret, shown this once; the one it replaces goes on signing beside it for
    ``grace`` (0 to :data:`MAX_GRACE`)."""
    may_manage(principal, "update")
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ValidationFailed.of(
            [FieldError("grace_seconds", f"must be 0 to {int(MAX_GRACE.total_seconds())}")]
        )
    row = await _row(conn, principal, ref, lock=True)
    secret = new_secret()
    kept = (
        {"previous_secret": row.secret, "previous_until": utcnow() + grace}
        if grace
        else {
            "previous_secret": None,
            "previous_until": None,
        }
    )
    return _subscription(await _update(conn, row, {"secret": secret, **kept}), secret)


async def replay(
    conn: AsyncConnection, principal: Principal, ref: str, event_id: str
) -> Subscription:
    """Deliver again from the workspace's event ``event_id`` on (it included): the cursor
    goes back to just before it. ValidationFailed on ``event_id`` for no such event."""
    may_manage(principal, "update")
    row = await _row(conn, principal, ref, lock=True)
    wanted = parse_uuid(event_id)
    found = None
    if wanted is not None:
        found = (
            await conn.execute(
                sa.select(events.c.tx, events.c.id).where(
                    events.c.workspace_id == principal.workspace_id, events.c.uuid == wanted
                )
            )
        ).first()
    if found is None:
        raise ValidationFailed.of(
            [FieldError("event_id", "must be the id of an event of this workspace")]
        )
    tx = int(found.tx or 0) if conn.dialect.name == "postgresql" else 0
    values = {"cursor_tx": tx, "cursor_id": int(found.id) - 1, **_AFRESH}
    return _subscription(await _update(conn, row, values))


def _attempt(row: Any) -> Attempt:
    return Attempt(
        row.uuid,
        row.event_uuid,
        row.event_type,
        row.attempt,
        row.status,
        row.response_status,
        row.response_excerpt,
        row.error,
        row.duration_ms,
        row.created_at,
    )


async def delivery_log(
    conn: AsyncConnection,
    principal: Principal,
    ref: str,
    *,
    limit: int = LOG_PAGE,
    cursor: str | None = None,
) -> AttemptPage:
    """A page of the subscription's delivery attempts, newest first; ``cursor`` is the
    last attempt of the page before."""
    may_manage(principal, "read")
    check_limit(limit, MAX_LOG_PAGE)
    row = await _row(conn, principal, ref, lock=False)
    log = webhook_deliveries
    query = sa.select(log).where(log.c.subscription_id == row.id)
    if cursor is not None:
        last = await after(
            conn, sa.select(log.c.id).where(log.c.subscription_id == row.id), log.c.uuid, cursor
        )
        query = query.where(log.c.id < last.id)
    rows = (await conn.execute(query.order_by(log.c.id.desc()).limit(limit + 1))).all()
    page = [_attempt(r) for r in rows[:limit]]
    return AttemptPage(page, str(page[-1].uuid) if len(rows) > limit else None)
