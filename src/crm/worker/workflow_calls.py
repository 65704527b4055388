"""Sending the calls of workflows' ``webhook`` steps: claimed under a lease, sent together
(no transaction open meanwhile) through the webhooks' checks and signing, and settled one
by one (:mod:`crm.core.workflows.calls`)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.webhooks.safety import Outbound
from crm.core.workflows.calls import Call, claim, settle_call
from crm.worker.webhooks import send

#: Calls claimed at once.
BATCH = 20


async def _send(engine: AsyncEngine, call: Call, owner: str, policy: Outbound) -> None:
    outcome = await send(
        call.url, call.body, message_id=str(call.uuid), secrets=call.secrets, policy=policy
    )
    await settle_call(engine, call, owner, sent=outcome.delivered, answer=outcome.reason())


async def send_calls(engine: AsyncEngine, owner: str, policy: Outbound) -> int:
    """Send the calls due now; how many were sent or tried."""
    taken = await claim(engine, owner, BATCH)
    await asyncio.gather(*(_send(engine, call, owner, policy) for call in taken))
    return len(taken)
