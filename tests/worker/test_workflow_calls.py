"""A workflow's ``webhook`` step sends the record to a subscription's URL, signed with its
secret, while the run waits: sent, the run goes on; refused past its retries, the run
fails with the receiver's answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.service import principal_for_user
from crm.core.errors import ValidationFailed
from crm.core.workflows import calls
from crm.core.workflows import service as workflows
from crm.db.engine import transaction
from tests.conftest import Workspace
from tests.worker.webhook_support import Clock, contact, deliver, subscribe

pytestmark = pytest.mark.usefixtures("forget_subscriptions")


async def _workflow(engine: AsyncEngine, ws: Workspace, hook: dict[str, Any]) -> Any:
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        return await workflows.create_workflow(
            conn,
            owner,
            {
                "object": "contact",
                "name": "Tell billing",
                "published": True,
                "trigger": {"type": "record.created"},
                "steps": [
                    {"type": "webhook", "subscription": hook["id"]},
                    {"type": "set_fields", "fields": {"description": "billing knows"}},
                ],
            },
        )


async def _run(engine: AsyncEngine, ws: Workspace, wf: Any) -> Any:
    async with transaction(engine, write=False) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        (found,) = (await workflows.runs_of(conn, owner, workflow=str(wf.uuid))).runs
        return await workflows.get_run(conn, owner, str(found.uuid))


async def test_the_record_is_sent_signed_and_the_run_goes_on(
    engine: AsyncEngine, api: httpx.AsyncClient, ws: Workspace, receivers: Any
) -> None:
    receiver = receivers()
    hook = await subscribe(engine, api, ws, receiver, events=["list.deleted"])
    wf = await _workflow(engine, ws, hook)
    made = await contact(api, ws, first_name="Ann")
    await deliver(engine)
    await deliver(engine)
    (message,) = receiver.received
    assert message.verified_by == (hook["secret"],)
    body = message.body
    assert (body["type"], body["id"]) == ("workflow.webhook", message.id)
    assert body["data"]["workflow"] == {"id": str(wf.uuid), "name": "Tell billing"}
    assert (body["data"]["object"], body["data"]["record"]["id"]) == ("contact", made["id"])
    run = await _run(engine, ws, wf)
    assert body["data"]["run"] == str(run.uuid)
    assert run.status == "completed"
    assert [(s.position, s.type, s.status) for s in run.steps or []] == [
        ("0", "webhook", "done"),
        ("0", "webhook", "done"),
        ("1", "set_fields", "done"),
    ]
    assert (run.steps or [])[1].detail["answer"] == "HTTP 200: answered 200"
    shown = await api.get(f"/api/v1/objects/contact/records/{made['id']}", headers=ws.auth)
    assert shown.json()["fields"]["description"] == "billing knows"


async def test_a_call_refused_past_its_retries_fails_the_run(
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    ws: Workspace,
    receivers: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(calls, "utcnow", clock)
    receiver = receivers(answers=[500] * calls.ATTEMPTS)
    hook = await subscribe(engine, api, ws, receiver, events=["list.deleted"])
    wf = await _workflow(engine, ws, hook)
    await contact(api, ws, first_name="Ann")
    await deliver(engine)
    assert (await _run(engine, ws, wf)).status == "waiting"
    for _ in range(calls.ATTEMPTS):
        clock.skip(timedelta(hours=9))
        await deliver(engine)
    assert len(receiver.received) == calls.ATTEMPTS
    assert len({r.id for r in receiver.received}) == 1  # the same message each time
    run = await _run(engine, ws, wf)
    assert (run.status, run.error) == ("failed", "webhook: HTTP 500: answered 500")


async def test_a_step_names_an_active_webhook_of_the_workspace(
    engine: AsyncEngine, ws: Workspace
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await _workflow(engine, ws, {"id": "01890000-0000-7000-8000-00000000abcd"})
    assert [d["field"] for d in caught.value.details] == ["steps[0].subscription"]
