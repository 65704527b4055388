"""Webhook deliveries to real receivers on loopback: every event once and in log order,
signed as Standard Webhooks says (each signature checked with the standardwebhooks
package); filters; retries with backoff, failing, resuming; rotation; replay; refused
addresses; a worker killed mid-delivery; a receiver that never answers; workspaces apart.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.events.stream import settle
from crm.core.webhooks import deliveries
from crm.core.webhooks.deliveries import LEASE, RETRIES, backoff
from crm.db.engine import transaction
from crm.db.schema import webhook_subscriptions
from crm.worker import loop
from crm.worker.loop import drain
from tests.conftest import Workspace
from tests.worker.receiver import until
from tests.worker.webhook_support import (
    Clock,
    contact,
    deliver,
    hook_settings,
    log_of,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("forget_subscriptions")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The time the deliveries' bookkeeping reads, for the test to move on."""
    moved = Clock()
    monkeypatch.setattr(deliveries, "utcnow", moved)
    return moved


async def test_each_event_is_delivered_once_in_log_order_signed_and_shaped(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any
) -> None:
    hook = receivers()
    made = await subscribe(engine, api, ws, hook)
    assert made["secret"].startswith("whsec_")
    assert len(base64.b64decode(made["secret"].removeprefix("whsec_"))) >= 24
    ada = await contact(api, ws, first_name="Ada", email="ada@example.com")
    grace = await contact(api, ws, first_name="Grace")
    records = "/api/v1/objects/contact/records"
    changed = await api.patch(
        f"{records}/{ada['id']}", json={"fields": {"city": "Austin"}}, headers=ws.auth
    )
    assert changed.status_code == 200
    assert (await api.delete(f"{records}/{grace['id']}", headers=ws.auth)).status_code == 204

    assert await deliver(engine) == 4
    feed = (await api.get("/api/v1/events?limit=1000", headers=ws.auth)).json()["data"]
    assert hook.ids == [e["id"] for e in feed[-4:]]
    assert hook.types == ["record.created", "record.created", "record.updated", "record.deleted"]
    shown_ada = (await api.get(f"{records}/{ada['id']}", headers=ws.auth)).json()
    for received, event in zip(hook.received, feed[-4:], strict=True):
        assert received.verified_by == (made["secret"],)
        assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60
        assert received.headers["user-agent"].startswith("crm/")
        assert received.headers["content-type"] == "application/json"
        body = received.body
        assert body["id"] == received.id == event["id"]
        assert body["timestamp"] == event["created_at"]
        data = body["data"]
        assert data["object"] == "contact"
        assert data["changes"] == event["changes"]
        assert data["payload"] == event["data"]
        # the record as the native API shows it when sent; null once deleted
        assert data["record"] == (shown_ada if data["payload"]["record"] == ada["id"] else None)
    assert hook.received[2].body["data"]["changes"]["city"] is not None

    assert await deliver(engine) == 0
    assert len(hook.received) == 4
    logged = await log_of(api, ws, made)
    assert [a["event_id"] for a in logged] == hook.ids[::-1]
    assert {(a["status"], a["attempt"], a["response_status"]) for a in logged} == {
        ("delivered", 1, 200)
    }
    assert logged[0]["response_excerpt"] == "answered 200"
    first = await api.get(f"/api/v1/webhooks/{made['id']}/deliveries?limit=3", headers=ws.auth)
    rest = await api.get(
        f"/api/v1/webhooks/{made['id']}/deliveries?limit=3&cursor={first.json()['next_cursor']}",
        headers=ws.auth,
    )
    assert [a["event_id"] for a in first.json()["data"] + rest.json()["data"]] == hook.ids[::-1]
    assert rest.json()["next_cursor"] is None


async def test_the_delivery_log_keeps_the_latest_attempts(
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    ws: Workspace,
    receivers: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "KEPT", 3)
    hook = receivers()
    made = await subscribe(engine, api, ws, hook)
    for name in ("Ada", "Grace", "Alan", "Barbara", "Edsger"):
        await contact(api, ws, first_name=name)
    assert await deliver(engine) == 5
    assert [a["event_id"] for a in await log_of(api, ws, made)] == hook.ids[:-4:-1]


async def test_a_subscription_gets_only_the_types_and_objects_it_asked_for(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any
) -> None:
    created, deals = receivers(), receivers()
    await subscribe(engine, api, ws, created, events=["record.created"])
    await subscribe(engine, api, ws, deals, objects=["deal"])
    ada = await contact(api, ws, first_name="Ada")
    await api.patch(
        f"/api/v1/objects/contact/records/{ada['id']}",
        json={"fields": {"city": "Oslo"}},
        headers=ws.auth,
    )
    deal = await api.post(
        "/api/v1/objects/deal/records", json={"fields": {"name": "Big"}}, headers=ws.auth
    )
    assert deal.status_code == 201, deal.text
    await api.patch(
        f"/api/v1/objects/deal/records/{deal.json()['id']}",
        json={"fields": {"name": "Bigger"}},
        headers=ws.auth,
    )

    assert await deliver(engine) == 4
    assert [(r.body["type"], r.body["data"]["object"]) for r in created.received] == [
        ("record.created", "contact"),
        ("record.created", "deal"),
    ]
    assert [(r.body["type"], r.body["data"]["object"]) for r in deals.received] == [
        ("record.created", "deal"),
        ("record.updated", "deal"),
    ]
    # the events not wanted moved the cursors on: nothing is due any more
    async with transaction(engine, write=False) as conn:
        claimed = await deliveries.claim(engine, "test", 100)
        assert [c for c in claimed if c.workspace_id == ws.id] == []
        left = await conn.execute(
            sa.select(sa.func.count()).where(webhook_subscriptions.c.workspace_id == ws.id)
        )
        assert left.scalar_one() == 2


def test_retries_back_off_from_half_a_minute_to_hours_over_about_a_day() -> None:
    waits = [backoff(n, lambda: 0.5) for n in range(1, RETRIES + 1)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(waits) == timedelta(hours=8)
    assert timedelta(hours=20) < sum(waits, timedelta(0)) < timedelta(hours=30)
    assert backoff(1, lambda: 0.0) == timedelta(seconds=24)
    assert backoff(1, lambda: 1.0) == timedelta(seconds=36)


async def test_failed_attempts_back_off_until_the_subscription_fails_then_resume_when_on(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any, clock: Clock
) -> None:
    hook = receivers(answers=[500] * (RETRIES + 1))
    made = await subscribe(engine, api, ws, hook)
    await contact(api, ws, first_name="Ada")
    assert await deliver(engine) == 0
    shown = (await api.get(f"/api/v1/webhooks/{made['id']}", headers=ws.auth)).json()
    assert (shown["status"], shown["failed_attempts"]) == ("active", 1)
    assert await deliver(engine) == 0  # not due yet
    assert len(hook.received) == 1
    for attempt in range(2, RETRIES + 2):
        clock.skip(backoff(attempt - 1, lambda: 1.0))
        assert await deliver(engine) == 0
        assert len(hook.received) == attempt
    assert len(set(hook.ids)) == 1  # the same event each time
    failing = (await api.get(f"/api/v1/webhooks/{made['id']}", headers=ws.auth)).json()
    assert failing["status"] == "failing"
    assert failing["failure"] == "HTTP 500: answered 500"
    assert failing["failed_at"] is not None
    clock.skip(timedelta(days=2))
    assert await deliver(engine) == 0
    assert len(hook.received) == RETRIES + 1
    logged = await log_of(api, ws, made)
    assert [a["attempt"] for a in logged] == list(range(RETRIES + 1, 0, -1))
    assert {(a["status"], a["response_status"]) for a in logged} == {("failed", 500)}

    await contact(api, ws, first_name="Grace")
    resumed = await api.patch(
        f"/api/v1/webhooks/{made['id']}", json={"active": True}, headers=ws.auth
    )
    assert resumed.json()["status"] == "active"
    assert resumed.json()["failure"] is None
    assert await deliver(engine) == 2
    assert hook.ids[RETRIES + 1] == hook.ids[0]
    assert hook.types[-2:] == ["record.created", "record.created"]
    assert hook.received[-1].body["data"]["record"]["fields"]["first_name"] == "Grace"


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any, clock: Clock
) -> None:
    hook = receivers(answers=[302])
    made = await subscribe(engine, api, ws, hook)
    await contact(api, ws, first_name="Ada")
    assert await deliver(engine) == 0
    clock.skip(backoff(1, lambda: 1.0))
    assert await deliver(engine) == 1
    assert len(hook.received) == 2
    logged = await log_of(api, ws, made)
    assert [(a["attempt"], a["status"], a["response_status"]) for a in logged] == [
        (2, "delivered", 200),
        (1, "failed", 302),
    ]


async def test_a_rotated_secret_signs_beside_the_new_one_for_its_grace_period(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any
) -> None:
    hook = receivers()
    made = await subscribe(engine, api, ws, hook)
    old = made["secret"]
    rotated = await api.post(f"/api/v1/webhooks/{made['id']}/rotate", headers=ws.auth)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["previous_secret_expires_at"] is not None
    shown = (await api.get(f"/api/v1/webhooks/{made['id']}", headers=ws.auth)).json()
    assert "secret" not in shown
    hook.secrets.append(new)
    await contact(api, ws, first_name="Ada")
    assert await deliver(engine) == 1
    (both,) = hook.received
    assert len(both.headers["webhook-signature"].split(" ")) == 2
    assert set(both.verified_by) == {old, new}

    again = await api.post(f"/api/v1/webhooks/{made['id']}/rotate?grace_seconds=0", headers=ws.auth)
    newest = again.json()["secret"]
    assert again.json()["previous_secret_expires_at"] is None
    hook.secrets.append(newest)
    await contact(api, ws, first_name="Grace")
    assert await deliver(engine) == 1
    assert hook.received[-1].verified_by == (newest,)


async def test_a_replay_sends_again_from_an_event_on(
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    ws: Workspace,
    other_ws: Workspace,
    receivers: Any,
) -> None:
    hook = receivers()
    made = await subscribe(engine, api, ws, hook)
    for name in ("Ada", "Grace", "Alan"):
        await contact(api, ws, first_name=name)
    assert await deliver(engine) == 3
    replay = f"/api/v1/webhooks/{made['id']}/replay"
    answer = await api.post(replay, json={"event_id": hook.ids[1]}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert await deliver(engine) == 2
    assert hook.ids[3:] == hook.ids[1:3]
    elsewhere = (await api.get("/api/v1/events", headers=other_ws.auth)).json()["data"][0]
    for wrong in (elsewhere["id"], "nope"):
        refused = await api.post(replay, json={"event_id": wrong}, headers=ws.auth)
        assert refused.status_code == 422
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["event_id"]


async def test_a_host_that_resolves_to_loopback_is_refused_at_delivery_unless_allowed(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any
) -> None:
    hook = receivers()
    hook_url = hook.named_url("localhost")
    made = await api.post("/api/v1/webhooks", json={"url": hook_url}, headers=ws.auth)
    assert made.status_code == 201, made.text
    await contact(api, ws, first_name="Ada")
    assert await deliver(engine, hook_settings(webhook_allowed_networks=())) == 0
    assert hook.received == []
    (attempt,) = await log_of(api, ws, made.json())
    assert attempt["status"] == "failed"
    assert attempt["response_status"] is None
    assert "loopback" in attempt["error"]
    assert attempt["error"].startswith("refused: ")


async def test_an_event_whose_outcome_a_killed_worker_never_wrote_is_sent_again(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any, clock: Clock
) -> None:
    hook = receivers()
    made = await subscribe(engine, api, ws, hook)
    await contact(api, ws, first_name="Ada")
    hook.hold.set()
    settings = hook_settings()
    worker = asyncio.create_task(deliver(engine, settings))
    assert await asyncio.to_thread(hook.arrived.wait, 30)
    worker.cancel()  # the request reached the receiver; its outcome is never written
    with pytest.raises(asyncio.CancelledError):
        await worker
    hook.hold.clear()
    assert await deliver(engine, settings) == 0  # the dead worker's lease holds it
    clock.skip(LEASE + timedelta(seconds=1))
    assert await deliver(engine, settings) == 1
    assert len(hook.received) == 2
    assert hook.received[0].id == hook.received[1].id
    assert hook.received[0].raw == hook.received[1].raw
    assert [a["status"] for a in await log_of(api, ws, made)] == ["delivered"]


async def test_a_receiver_that_never_answers_does_not_hold_up_another_subscription(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any
) -> None:
    silent, quick = receivers(silent=True), receivers()
    await subscribe(engine, api, ws, silent)
    await subscribe(engine, api, ws, quick)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        loop.run(engine, stop, settings=hook_settings(webhook_timeout=30.0))
    )
    try:
        for name in ("Ada", "Grace", "Alan"):
            await contact(api, ws, first_name=name)
        assert await asyncio.to_thread(silent.arrived.wait, 30)
        assert await until(lambda: len(quick.received) == 3, 20)
        assert quick.types == ["record.created"] * 3
        assert len(silent.received) == 1  # still waiting for its first answer
        await contact(api, ws, first_name="Barbara")
        assert await until(lambda: len(quick.received) == 4, 20)
    finally:
        stop.set()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def test_each_workspace_gets_only_its_own_events(
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    ws: Workspace,
    other_ws: Workspace,
    receivers: Any,
) -> None:
    mine, theirs = receivers(), receivers()
    made = await subscribe(engine, api, ws, mine)
    await subscribe(engine, api, other_ws, theirs)
    await contact(api, ws, first_name="Ada")
    await contact(api, other_ws, first_name="Grace")
    await contact(api, other_ws, first_name="Alan")
    assert await deliver(engine) == 3
    assert [r.body["data"]["record"]["fields"]["first_name"] for r in mine.received] == ["Ada"]
    assert [r.body["data"]["record"]["fields"]["first_name"] for r in theirs.received] == [
        "Grace",
        "Alan",
    ]
    for path in ("", "/deliveries"):
        hidden = await api.get(f"/api/v1/webhooks/{made['id']}{path}", headers=other_ws.auth)
        assert hidden.status_code == 404
    assert (await api.get("/api/v1/webhooks", headers=other_ws.auth)).json()["data"][0][
        "id"
    ] != made["id"]


async def test_the_worker_calls_the_networks_the_environment_allows(
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    ws: Workspace,
    receivers: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = receivers()
    await subscribe(engine, api, ws, hook)
    await contact(api, ws, first_name="Ada")
    monkeypatch.setenv("CRM_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    assert await settle(engine)
    assert await drain(engine) == 1
    assert hook.types == ["record.created"]
