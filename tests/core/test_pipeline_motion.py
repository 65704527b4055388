"""The motion services called directly: what the API does not reach or cannot arrange."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from crm.core.auth.service import authenticate
from crm.core.errors import ValidationFailed
from crm.core.pipelines import motion
from crm.db.engine import transaction
from crm.db.schema import events, records
from tests.conftest import Workspace

API = "/api/v1"
DEALS = f"{API}/objects/deal/records"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


async def deal_pipeline_id(client: httpx.AsyncClient, ws: Workspace) -> str:
    listed = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    return str(listed.json()["data"][0]["id"])


async def make_deal(client: httpx.AsyncClient, ws: Workspace, **fields: Any) -> Any:
    answer = await client.post(DEALS, json={"fields": fields}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_move_by_integer_id_and_history(client: httpx.AsyncClient, ws: Workspace) -> None:
    deal = await make_deal(client, ws, name="Big", stage="Qualification")
    async with transaction(ws.engine, write=True) as conn:
        p = (await authenticate(conn, ws.key)).principal
        found = await conn.execute(
            sa.select(records.c.id).where(records.c.uuid == uuid.UUID(deal["id"]))
        )
        record_id = found.scalar_one()
        moved = await motion.move_stage(conn, p, "deal", record_id, pipeline=None, stage="won")
        assert moved.id == record_id
        history = await motion.stage_history(conn, p, "deal", deal["id"])
        times = await motion.time_in_stages(conn, p, "deal", str(record_id), pipeline="stage")
    assert [
        (m.from_stage and m.from_stage.name, m.to_stage and m.to_stage.name) for m in history
    ] == [
        (None, "Qualification"),
        ("Qualification", "Won"),
    ]
    [deal_times] = times
    assert [(t.stage.name, t.entries, t.current) for t in deal_times.stages] == [
        ("Qualification", 1, False),
        ("Won", 1, True),
    ]


async def test_a_stage_without_events_counts_from_creation(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    deal = await make_deal(client, ws, name="Imported", stage="Proposal")
    async with transaction(ws.engine, write=True) as conn:
        found = await conn.execute(
            sa.select(records.c.id).where(records.c.uuid == uuid.UUID(deal["id"]))
        )
        record_id = found.scalar_one()
        await conn.execute(sa.delete(events).where(events.c.record_id == record_id))
        await conn.execute(
            sa.update(records).where(records.c.id == record_id).values(created_at=T0)
        )
    async with transaction(ws.engine, write=False) as conn:
        p = (await authenticate(conn, ws.key)).principal
        report = await motion.record_stages(conn, p, "deal", deal["id"])
    assert report.history == []
    [times] = report.times
    [proposal] = times.stages
    assert (proposal.stage.name, proposal.entries, proposal.current) == ("Proposal", 1, True)
    assert proposal.seconds >= (datetime.now(UTC) - T0).total_seconds() - 60


async def test_a_removed_stage_keeps_its_time_and_name(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    project = {
        "key": "project",
        "label": "Project",
        "fields": [{"key": "name", "label": "Name", "type": "text"}],
    }
    assert (await client.post(f"{API}/objects", json=project, headers=ws.auth)).status_code == 201
    made = await client.post(
        f"{API}/pipelines",
        json={
            "key": "phase",
            "label": "Phases",
            "object": "project",
            "stages": [{"name": "New"}, {"name": "Working"}, {"name": "Done", "kind": "won"}],
        },
        headers=ws.auth,
    )
    pipeline = made.json()
    record = await client.post(
        f"{API}/objects/project/records",
        json={"fields": {"name": "Ada", "phase": "Working"}},
        headers=ws.auth,
    )
    record_id = record.json()["id"]
    async with transaction(ws.engine, write=True) as conn:
        p = (await authenticate(conn, ws.key)).principal
        await motion.move_stage(conn, p, "project", record_id, pipeline=None, stage="Done")
        await motion.move_stage(conn, p, "project", record_id, pipeline=None, stage="New")
    kept = [
        {"id": s["id"], "name": s["name"], "kind": s["kind"]}
        for s in pipeline["stages"]
        if s["name"] != "Working"
    ]
    patched = await client.patch(
        f"{API}/pipelines/{pipeline['id']}", json={"stages": kept}, headers=ws.auth
    )
    assert patched.status_code == 200, patched.text
    async with transaction(ws.engine, write=False) as conn:
        p = (await authenticate(conn, ws.key)).principal
        [times] = await motion.time_in_stages(conn, p, "project", record_id)
    # Stages of the pipeline in order, then the removed one under the name it had.
    assert [(t.stage.name, t.entries, t.current) for t in times.stages] == [
        ("New", 1, True),
        ("Done", 1, False),
        ("Working", 1, False),
    ]


async def test_summary_with_a_filter(client: httpx.AsyncClient, ws: Workspace) -> None:
    deals = await deal_pipeline_id(client, ws)
    await make_deal(client, ws, name="A", stage="Proposal", amount=100, source="Referral")
    await make_deal(client, ws, name="B", stage="Proposal", amount=50)
    await make_deal(client, ws, name="C", stage="Won", amount=10, source="Referral")
    async with transaction(ws.engine, write=False) as conn:
        p = (await authenticate(conn, ws.key)).principal
        referred = {"field": "source", "op": "eq", "value": "Referral"}
        summary = await motion.stage_summary(conn, p, deals, filter=referred)
        with pytest.raises(ValidationFailed) as refused:
            await motion.stage_summary(conn, p, deals, filter={"field": "nope", "op": "eq"})
    assert [(t.stage.name if t.stage else None, t.count, t.amount) for t in summary.stages] == [
        ("Qualification", 0, 0),
        ("Proposal", 1, 100),
        ("Negotiation", 0, 0),
        ("Won", 1, 10),
        ("Lost", 0, 0),
    ]
    assert (summary.total.count, summary.total.amount, summary.total.weighted_amount) == (
        2,
        110,
        50,
    )
    assert refused.value.details[0]["field"].startswith("filter")


async def test_currency_sums_are_exact_in_cents(client: httpx.AsyncClient, ws: Workspace) -> None:
    deals = await deal_pipeline_id(client, ws)
    for amount in (0.1, 0.2, 0.7, 1000.05):
        await make_deal(client, ws, name="A", stage="Negotiation", amount=amount)
    async with transaction(ws.engine, write=False) as conn:
        p = (await authenticate(conn, ws.key)).principal
        summary = await motion.stage_summary(conn, p, deals)
    negotiation = summary.stages[2]
    # 1001.05 at 70 percent is 700.735, shown in cents.
    assert (negotiation.count, negotiation.amount, negotiation.weighted_amount) == (
        4,
        1001.05,
        700.74,
    )
