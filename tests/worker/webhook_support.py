"""Helpers for the webhook tests: settings that let webhooks call loopback, receivers,
subscriptions made through the API, deliveries, and a clock the deliveries read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import utcnow
from crm.core.events.stream import settle
from crm.settings import Settings
from crm.worker.loop import drain
from tests.conftest import Workspace, suite_settings
from tests.worker.receiver import Receiver

#: What the tests' receivers listen on.
LOOPBACK = ("127.0.0.0/8", "::1/128")
#: Short timeouts, so that a receiver that never answers costs little.
TIMEOUTS = {"webhook_timeout": 3.0, "webhook_connect_timeout": 1.0}


def hook_settings(database_url: str = "", **changes: Any) -> Settings:
    """The suite's settings, with webhooks allowed to call loopback."""
    return suite_settings(
        database_url, **{"webhook_allowed_networks": LOOPBACK, **TIMEOUTS, **changes}
    )


async def subscribe(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receiver: Receiver, **spec: Any
) -> dict[str, Any]:
    """Subscribe ``receiver`` to the workspace's events (what ``spec`` adds says which),
    once every event before is settled; the receiver verifies with the secret answered."""
    assert await settle(engine)
    answer = await api.post("/api/v1/webhooks", json={"url": receiver.url, **spec}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    made = dict(answer.json())
    receiver.secrets.append(made["secret"])
    return made


async def deliver(engine: AsyncEngine, settings: Settings | None = None) -> int:
    """Deliver every message due now, once the log has settled; how many were delivered."""
    assert await settle(engine)
    return await drain(engine, settings=settings or hook_settings())


async def contact(api: httpx.AsyncClient, ws: Workspace, **fields: Any) -> dict[str, Any]:
    answer = await api.post(
        "/api/v1/objects/contact/records", json={"fields": fields}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def log_of(api: httpx.AsyncClient, ws: Workspace, hook: dict[str, Any]) -> list[Any]:
    """The subscription's delivery log, newest first (one page)."""
    answer = await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


class Clock:
    """The time the deliveries' bookkeeping reads: now, moved on by the test."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def skip(self, by: timedelta) -> None:
        self.offset += by
