"""The bookkeeping of webhook deliveries; the sending is the worker's (``crm.worker.webhooks``).

A worker claims the subscriptions that have events to deliver and are due, under a lease.
For each it reads the events after the subscription's cursor, in log order, a batch at a
time; the events the subscription does not want move the cursor on without a message.
Each message is sent with no transaction open; the outcomes are written afterwards, a few
at a time in one transaction (:func:`record`): the attempts go into the delivery log, and
the cursor moves past the last message delivered. A failed attempt leaves the cursor on
its event and sets the next attempt after a backoff (:func:`backoff`); after
:data:`RETRIES` of them the subscription is ``failing`` and waits for a manager to turn it
back on. A worker that dies before it writes an outcome leaves its lease to run out: the
next worker sends the same event again, with the same ``webhook-id``. Delivery is
therefore at least once, and in log order."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import utcnow
from crm.core.events.service import Event
from crm.core.events.stream import Position, after, read_after
from crm.core.ids import uuid7
from crm.core.webhooks import payload
from crm.db.engine import transaction
from crm.db.schema import events, webhook_deliveries, webhook_subscriptions

__all__ = [
    "BATCH",
    "KEPT",
    "LEASE",
    "RETRIES",
    "Claimed",
    "Message",
    "Outcome",
    "advance",
    "backoff",
    "claim",
    "next_batch",
    "record",
    "release",
]

subs = webhook_subscriptions

#: How long a claimed subscription is a worker's; every outcome renews it.
LEASE = timedelta(seconds=60)
#: Events read at a time.
BATCH = 100
#: Attempts kept in each subscription's delivery log (older ones are trimmed).
KEPT = 1000
#: Failed attempts at one event after which the subscription is ``failing``.
RETRIES = 12
#: The wait after the first failed attempt; it doubles with each, up to LONGEST.
FIRST_RETRY = timedelta(seconds=30)
LONGEST = timedelta(hours=8)
#: Each wait is drawn within this share of its length either side.
JITTER = 0.2
#: Characters of an answer's body kept in the log.
EXCERPT = 500


def backoff(failed: int, draw: Callable[[], float] = random.random) -> timedelta:
    """The wait before the next attempt after ``failed`` failed attempts: 30 s, 1 min,
    2 min, ... up to 8 h, each within 20% either side; twelve of them span about a day."""
    base = min(FIRST_RETRY * (1 << min(failed - 1, 20)), LONGEST)
    return base * (1 + JITTER * (2 * draw() - 1))


@dataclass
class Claimed:
    """A subscription a worker holds, and how far its delivery has come."""

    id: int
    workspace_id: int
    url: str
    event_types: frozenset[str] | None
    object_types: frozenset[str] | None
    cursor: Position
    attempts: int
    secrets: tuple[str, ...]
    owner: str

    def wants(self, event: Event, object_key: str | None) -> bool:
        """Whether the subscription asked for ``event``."""
        if self.event_types is not None and event.type not in self.event_types:
            return False
        return self.object_types is None or object_key in self.object_types


@dataclass(frozen=True)
class Message:
    """One event to send: where it is in the log, its id and type, and the body."""

    position: Position
    event_uuid: uuid.UUID
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What came of one attempt: the answer's status and the start of its body, or why
    there was none."""

    status: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def reason(self) -> str:
        """The outcome in a line, as a failing subscription shows it."""
        if self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}" + (f": {self.excerpt}" if self.excerpt else "")


def signing_secrets(row: Any, now: Any) -> tuple[str, ...]:
    """The secrets a subscription's messages are signed with now: its secret, and the one
    before it while that one's grace period lasts."""
    previous = row.previous_secret
    if previous and row.previous_until is not None and row.previous_until > now:
        return (row.secret, previous)
    return (row.secret,)


def _claimed(row: Any, owner: str, now: Any) -> Claimed:
    return Claimed(
        id=row.id,
        workspace_id=row.workspace_id,
        url=row.url,
        event_types=None if row.event_types is None else frozenset(row.event_types),
        object_types=None if row.object_types is None else frozenset(row.object_types),
        cursor=Position(int(row.cursor_tx), int(row.cursor_id)),
        attempts=row.attempts,
        secrets=signing_secrets(row, now),
        owner=owner,
    )


def _due(conn: AsyncConnection, now: Any) -> sa.ColumnElement[bool]:
    """Subscriptions on, not failing, not waiting for a retry, held by no worker, and
    with events after their cursor."""
    pending = sa.exists().where(
        events.c.workspace_id == subs.c.workspace_id,
        after(conn, subs.c.cursor_tx, subs.c.cursor_id),
    )
    return sa.and_(
        subs.c.active.is_(True),
        subs.c.status == "active",
        sa.or_(subs.c.next_attempt_at.is_(None), subs.c.next_attempt_at <= now),
        sa.or_(subs.c.lease_until.is_(None), subs.c.lease_until < now),
        pending,
    )


async def claim(engine: AsyncEngine, owner: str, limit: int) -> list[Claimed]:
    """Up to ``limit`` due subscriptions, the least recently served first, leased to
    ``owner``; none taken by another worker."""
    now = utcnow()
    async with transaction(engine, write=False) as conn:
        waiting = await conn.execute(sa.select(subs.c.id).where(_due(conn, now)).limit(1))
        if waiting.first() is None:
            return []
    async with transaction(engine, write=True) as conn:
        query = (
            sa.select(subs.c.id)
            .where(_due(conn, now))
            .order_by(sa.nulls_first(subs.c.served_at.asc()), subs.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=subs)
        ids = list((await conn.execute(query)).scalars())
        if not ids:
            return []
        rows = await conn.execute(
            sa.update(subs)
            .where(subs.c.id.in_(ids))
            .values(lease_owner=owner, lease_until=now + LEASE)
            .returning(*subs.c)
        )
        return [_claimed(row, owner, now) for row in rows]


async def next_batch(engine: AsyncEngine, sub: Claimed) -> tuple[list[Message], Position]:
    """The messages for the next batch of events after the cursor, and the position of the
    last event read (the cursor itself when there was none)."""
    async with transaction(engine, write=False) as conn:
        found = await read_after(conn, sub.cursor, limit=BATCH, workspace_id=sub.workspace_id)
        if not found:
            return [], sub.cursor
        meta = await payload.current_metadata(conn, sub.workspace_id)
        keys = {s.event.id: payload.object_key(meta, s.event) for s in found}
        wanted = [s for s in found if sub.wants(s.event, keys[s.event.id])]
        shown = await payload.live_records(
            conn, meta, (s.event.record_id for s in wanted if s.event.record_id is not None)
        )
    messages = [
        Message(
            s.position,
            s.event.uuid,
            s.event.type,
            payload.body(
                s.event,
                keys[s.event.id],
                shown.get(s.event.record_id) if s.event.record_id is not None else None,
            ),
        )
        for s in wanted
    ]
    return messages, found[-1].position


def _held(sub: Claimed) -> sa.ColumnElement[bool]:
    return sa.and_(subs.c.id == sub.id, subs.c.lease_owner == sub.owner)


def _logged(sub: Claimed, message: Message, outcome: Outcome, attempt: int, at: Any) -> Any:
    return {
        "subscription_id": sub.id,
        "uuid": uuid7(),
        "event_uuid": message.event_uuid,
        "event_type": message.event_type,
        "attempt": attempt,
        "status": "delivered" if outcome.delivered else "failed",
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "created_at": at,
    }


async def record(
    engine: AsyncEngine, sub: Claimed, done: Sequence[tuple[Message, Outcome]]
) -> bool:
    """Write the outcomes of consecutive attempts, each delivered but perhaps the last, in
    one transaction: the log, the cursor past the last message delivered, and after a
    failure the next attempt's time (or ``failing``), letting go of the subscription.
    Whether the lease still held (when not, nothing is written)."""
    if not done:
        return True
    now, rows, failed = utcnow(), [], sub.attempts
    for message, outcome in done:
        rows.append(_logged(sub, message, outcome, failed + 1, now))
        failed = 0 if outcome.delivered else failed + 1
    values: dict[str, Any] = {"attempts": failed}
    delivered = [message for message, outcome in done if outcome.delivered]
    if delivered:
        values |= {"cursor_tx": delivered[-1].position.tx, "cursor_id": delivered[-1].position.id}
    if not failed:
        values |= {"next_attempt_at": None, "lease_until": now + LEASE}
    else:
        values |= {"lease_owner": None, "lease_until": None, "served_at": now}
        if failed > RETRIES:
            reason = done[-1][1].reason()
            values |= {"status": "failing", "failure": reason, "failed_at": now}
            values |= {"next_attempt_at": None}
        else:
            values |= {"next_attempt_at": now + backoff(failed)}
    async with transaction(engine, write=True) as conn:
        held = await conn.execute(sa.update(subs).where(_held(sub)).values(**values))
        if held.rowcount == 0:
            return False
        await conn.execute(sa.insert(webhook_deliveries), rows)
    if delivered:
        sub.cursor = delivered[-1].position
    sub.attempts = failed
    return True


async def advance(engine: AsyncEngine, sub: Claimed, position: Position) -> bool:
    """Move the cursor past events the subscription does not want; whether the lease held."""
    if position <= sub.cursor:
        return True
    async with transaction(engine, write=True) as conn:
        held = await conn.execute(
            sa.update(subs)
            .where(_held(sub))
            .values(cursor_tx=position.tx, cursor_id=position.id, lease_until=utcnow() + LEASE)
        )
    if held.rowcount == 0:
        return False
    sub.cursor = position
    return True


async def release(engine: AsyncEngine, sub: Claimed) -> None:
    """Let go of the subscription, and trim its delivery log to the latest :data:`KEPT`."""
    oldest_kept = (
        sa.select(webhook_deliveries.c.id)
        .where(webhook_deliveries.c.subscription_id == sub.id)
        .order_by(webhook_deliveries.c.id.desc())
        .offset(KEPT - 1)
        .limit(1)
        .scalar_subquery()
    )
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            sa.update(subs)
            .where(_held(sub))
            .values(lease_owner=None, lease_until=None, served_at=utcnow())
        )
        await conn.execute(
            sa.delete(webhook_deliveries).where(
                webhook_deliveries.c.subscription_id == sub.id,
                webhook_deliveries.c.id < oldest_kept,
            )
        )
