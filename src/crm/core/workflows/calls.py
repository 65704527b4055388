"""The calls of workflows' ``webhook`` steps.

The step only queues its call, in its run's turn, and the run waits with no time set. A
worker claims due calls under a lease, sends each (with no transaction open) to the
subscription's URL, signed with its secrets, and settles it here: sent, the run is due at
once and goes on after the step; refused or unanswered, the call is tried again with the
webhooks' backoff, and after :data:`ATTEMPTS` the run fails with the last answer. A worker
killed after sending and before settling sends the call again, with the same
``webhook-id`` (the call's id), which the receiver uses to see it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import utcnow
from crm.core.errors import FieldError, ValidationFailed
from crm.core.ids import parse_uuid, uuid7
from crm.core.webhooks.deliveries import backoff, signing_secrets
from crm.core.workflows.model import FAILED, PENDING, WAITING
from crm.db.engine import transaction
from crm.db.schema import webhook_subscriptions, workflow_calls, workflow_run_steps, workflow_runs

__all__ = ["ATTEMPTS", "Call", "claim", "queue", "settle_call", "subscription_of"]

#: Attempts of a call before its run fails (the first within a minute, the last hours on).
ATTEMPTS = 8
#: How long a worker holds the calls it claimed.
LEASE = timedelta(minutes=2)
_DUE = sa.text("workflow_calls.status = 'pending'")


@dataclass(frozen=True)
class Call:
    """A claimed call: where it goes, signed with what, and its message."""

    id: int
    uuid: Any
    run_id: int
    workspace_id: int
    position: str
    url: str
    secrets: tuple[str, ...]
    body: bytes
    attempts: int


async def subscription_of(conn: AsyncConnection, workspace_id: int, ref: Any, where: str) -> str:
    """The id (UUID text) of an active webhook subscription of the workspace; ValidationFailed
    on ``where`` otherwise."""
    wanted = parse_uuid(str(ref))
    found = None
    if wanted is not None:
        found = (
            await conn.execute(
                sa.select(webhook_subscriptions.c.uuid).where(
                    webhook_subscriptions.c.workspace_id == workspace_id,
                    webhook_subscriptions.c.uuid == wanted,
                    webhook_subscriptions.c.active.is_(True),
                )
            )
        ).first()
    if found is None:
        raise ValidationFailed.of([FieldError(where, f"no active webhook {ref!r}")])
    return str(found.uuid)


async def queue(
    conn: AsyncConnection,
    run: Any,
    subscription: str,
    position: str,
    message: dict[str, Any],
) -> str:
    """Queue a call of a run's step to a subscription; the call's id."""
    now = utcnow()
    sub = (
        await conn.execute(
            sa.select(webhook_subscriptions.c.id).where(
                webhook_subscriptions.c.workspace_id == run.workspace_id,
                webhook_subscriptions.c.uuid == parse_uuid(subscription),
            )
        )
    ).first()
    if sub is None:
        raise ValidationFailed.of([FieldError("subscription", "the webhook is gone")])
    made = uuid7()
    await conn.execute(
        sa.insert(workflow_calls).values(
            workspace_id=run.workspace_id,
            uuid=made,
            run_id=run.id,
            subscription_id=sub.id,
            position=position,
            body=_plain(
                {"id": made, "type": "workflow.webhook", "timestamp": now, "data": message}
            ),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    return str(made)


async def claim(engine: AsyncEngine, owner: str, limit: int) -> list[Call]:
    """Lease up to ``limit`` calls that are due now."""
    now = utcnow()
    select = (
        sa.select(
            workflow_calls,
            webhook_subscriptions.c.url,
            webhook_subscriptions.c.secret,
            webhook_subscriptions.c.previous_secret,
            webhook_subscriptions.c.previous_until,
        )
        .join(webhook_subscriptions, webhook_subscriptions.c.id == workflow_calls.c.subscription_id)
        .where(
            _DUE,
            workflow_calls.c.next_attempt_at <= now,
            sa.or_(workflow_calls.c.lease_until.is_(None), workflow_calls.c.lease_until < now),
        )
        .order_by(workflow_calls.c.next_attempt_at)
        .limit(limit)
    )
    async with transaction(engine, write=False) as conn:  # a look first: no write when idle
        if (await conn.execute(select.limit(1))).first() is None:
            return []
    async with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            select = select.with_for_update(of=workflow_calls, skip_locked=True)
        rows = (await conn.execute(select)).all()
        if rows:
            await conn.execute(
                sa.update(workflow_calls)
                .where(workflow_calls.c.id.in_([r.id for r in rows]))
                .values(lease_owner=owner, lease_until=now + LEASE)
            )
    return [
        Call(
            id=r.id,
            uuid=r.uuid,
            run_id=r.run_id,
            workspace_id=r.workspace_id,
            position=r.position,
            url=r.url,
            secrets=signing_secrets(r, now),
            body=orjson.dumps(r.body),
            attempts=r.attempts,
        )
        for r in rows
    ]


def _plain(message: dict[str, Any]) -> Any:
    """A message as JSON holds it, written as the webhooks write theirs (UTC as ``Z``)."""
    return orjson.loads(orjson.dumps(message, default=str, option=orjson.OPT_UTC_Z))


async def settle_call(
    engine: AsyncEngine, call: Call, owner: str, *, sent: bool, answer: str
) -> None:
    """Write what came of a call this worker sent, and move its run on (or fail it)."""
    now = utcnow()
    attempts = call.attempts + 1
    last = not sent and attempts >= ATTEMPTS
    async with transaction(engine, write=True) as conn:
        held = await conn.execute(
            sa.update(workflow_calls)
            .where(workflow_calls.c.id == call.id, workflow_calls.c.lease_owner == owner)
            .values(
                status="sent" if sent else FAILED if last else PENDING,
                attempts=attempts,
                next_attempt_at=None if sent or last else now + backoff(attempts),
                lease_owner=None,
                lease_until=None,
                error=None if sent else answer,
                updated_at=now,
            )
        )
        if held.rowcount == 0 or not (sent or last):
            return  # another worker took it over, or it is tried again later
        waiting = workflow_runs.c.id == call.run_id, workflow_runs.c.status == WAITING
        await conn.execute(
            sa.insert(workflow_run_steps).values(
                workspace_id=call.workspace_id,
                run_id=call.run_id,
                position=call.position,
                type="webhook",
                status="done" if sent else FAILED,
                detail={"call": str(call.uuid), "answer": answer, "attempts": attempts},
                at=now,
            )
        )
        if sent:
            moved = {"status": PENDING, "due_at": now}
        else:
            moved = {"status": FAILED, "error": f"webhook: {answer}", "finished_at": now}
        await conn.execute(sa.update(workflow_runs).where(*waiting).values(**moved, updated_at=now))
