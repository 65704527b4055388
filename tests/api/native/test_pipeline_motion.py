"""Records in motion through the native API: moving, stage history, time in stages, funnel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.engine import transaction
from crm.db.schema import events
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
DEALS = f"{API}/objects/deal/records"
#: A custom object of the tests' own, so that seeded pipelines never get in the way.
PROJECTS = f"{API}/objects/project/records"
SALES = {
    "key": "phase",
    "label": "Sales",
    "object": "project",
    "stages": [
        {"name": "New", "kind": "open", "probability": 10},
        {"name": "Working", "kind": "open", "probability": 50},
        {"name": "Converted", "kind": "won", "probability": 100},
        {"name": "Dropped", "kind": "lost", "probability": 0},
    ],
}
T0 = datetime(2024, 1, 1, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def make_object(client: httpx.AsyncClient, ws: Workspace, key: str = "project") -> None:
    """A custom object with a ``name``, unless the workspace has it already."""
    body = {
        "key": key,
        "label": key.title(),
        "fields": [{"key": "name", "label": "Name", "type": "text"}],
    }
    answer = await client.post(f"{API}/objects", json=body, headers=ws.auth)
    assert answer.status_code in (201, 409), answer.text


async def make_pipeline(client: httpx.AsyncClient, ws: Workspace, **changes: Any) -> Any:
    await make_object(client, ws, changes.get("object", "project"))
    return ok(
        await client.post(f"{API}/pipelines", json={**SALES, **changes}, headers=ws.auth), 201
    )


async def deal_pipeline(client: httpx.AsyncClient, ws: Workspace) -> Any:
    listed = ok(await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth))
    return listed["data"][0]


async def make(
    client: httpx.AsyncClient,
    ws: Workspace,
    url: str,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Any:
    answer = await client.post(url, json={"fields": fields}, headers=headers or ws.auth)
    return ok(answer, 201)


async def move(
    client: httpx.AsyncClient,
    url: str,
    record_id: str,
    headers: dict[str, str],
    **body: Any,
) -> httpx.Response:
    return await client.post(f"{url}/{record_id}/stage", json=body, headers=headers)


async def stages_of(
    client: httpx.AsyncClient, ws: Workspace, url: str, record_id: str, **params: str
) -> Any:
    return ok(await client.get(f"{url}/{record_id}/stages", params=params, headers=ws.auth))


async def summary(
    client: httpx.AsyncClient, headers: dict[str, str], pipeline_id: str, **params: str
) -> httpx.Response:
    return await client.get(
        f"{API}/pipelines/{pipeline_id}/summary", params=params, headers=headers
    )


async def set_times(engine: AsyncEngine, event_ids: list[str], seconds: list[int]) -> None:
    """Give events (by the ids shown) fixed times: ``T0`` plus the given seconds, in order."""
    async with transaction(engine, write=True) as conn:
        for event_id, after in zip(event_ids, seconds, strict=True):
            await conn.execute(
                sa.update(events)
                .where(events.c.uuid == uuid.UUID(event_id))
                .values(created_at=T0 + timedelta(seconds=after))
            )


def moves(report: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [
        (m["from"] and m["from"]["name"], m["to"] and m["to"]["name"]) for m in report["history"]
    ]


# --- moving -------------------------------------------------------------------------------


async def test_move_by_name_or_id_renders_the_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    pipeline = await deal_pipeline(client, ws)
    deal = await make(client, ws, DEALS, name="Big", stage="Qualification", amount=100)

    answer = ok(await move(client, DEALS, deal["id"], ws.auth, stage="  proposal "))
    assert answer["id"] == deal["id"]
    assert answer["fields"]["stage"] == "Proposal"
    assert answer["fields"]["amount"] == 100
    assert answer == ok(await client.get(f"{DEALS}/{deal['id']}", headers=ws.auth))

    won = next(s for s in pipeline["stages"] if s["name"] == "Won")
    by_id = ok(await move(client, DEALS, deal["id"], ws.auth, stage=won["id"], pipeline="stage"))
    assert by_id["fields"]["stage"] == "Won"
    by_pipeline_id = await move(
        client, DEALS, deal["id"], ws.auth, stage="Lost", pipeline=pipeline["id"]
    )
    assert ok(by_pipeline_id)["fields"]["stage"] == "Lost"


async def test_move_logs_update_and_stage_events(client: httpx.AsyncClient, ws: Workspace) -> None:
    deal = await make(client, ws, DEALS, name="Big", stage="Qualification")
    ok(await move(client, DEALS, deal["id"], ws.auth, stage="Negotiation"))
    timeline = ok(await client.get(f"{DEALS}/{deal['id']}/timeline", headers=ws.auth))["data"]
    assert [e["type"] for e in timeline] == [
        "record.stage_changed",
        "record.updated",
        "record.stage_changed",
        "record.created",
    ]
    changed = timeline[0]["data"]
    assert (changed["from"]["name"], changed["to"]["name"]) == ("Qualification", "Negotiation")


async def test_move_to_the_current_stage_changes_nothing(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    deal = await make(client, ws, DEALS, name="Big", stage="Proposal")
    again = ok(await move(client, DEALS, deal["id"], ws.auth, stage="PROPOSAL"))
    assert again == deal
    timeline = ok(await client.get(f"{DEALS}/{deal['id']}/timeline", headers=ws.auth))["data"]
    assert [e["type"] for e in timeline] == ["record.stage_changed", "record.created"]


async def test_move_a_record_without_a_stage(client: httpx.AsyncClient, ws: Workspace) -> None:
    deal = await make(client, ws, DEALS, name="Fresh")
    assert deal["fields"]["stage"] is None
    moved = ok(await move(client, DEALS, deal["id"], ws.auth, stage="Won"))
    assert moved["fields"]["stage"] == "Won"
    report = await stages_of(client, ws, DEALS, deal["id"])
    assert moves(report) == [(None, "Won")]


async def test_unknown_stage_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_pipeline(client, ws)
    project = await make(client, ws, PROJECTS, name="Ada", phase="New")
    deal_won = next(s for s in (await deal_pipeline(client, ws))["stages"] if s["name"] == "Won")
    for bad in ("Qualified", deal_won["id"], "0190a3b4-7c2d-7000-8000-000000000001", ""):
        answer = await move(client, PROJECTS, project["id"], ws.auth, stage=bad)
        error = assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == ["stage"], bad
        assert "New, Working, Converted, Dropped" in error["details"][0]["message"]
    assert (await stages_of(client, ws, PROJECTS, project["id"]))["history"][-1]["to"][
        "name"
    ] == "New"


async def test_pipeline_must_be_named_among_several(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_pipeline(client, ws)
    journey = await make_pipeline(
        client, ws, key="journey", label="Journey", stages=[{"name": "Cold"}, {"name": "Warm"}]
    )
    project = await make(client, ws, PROJECTS, name="Ada")

    several = await move(client, PROJECTS, project["id"], ws.auth, stage="New")
    error = assert_error(several, 422, "validation_failed")
    assert detail_fields(several) == ["pipeline"]
    assert "phase, journey" in error["details"][0]["message"]

    unknown = await move(client, PROJECTS, project["id"], ws.auth, stage="New", pipeline="nope")
    assert_error(unknown, 422, "validation_failed")
    assert detail_fields(unknown) == ["pipeline"]
    deal = await deal_pipeline(client, ws)
    foreign = await move(client, PROJECTS, project["id"], ws.auth, stage="Won", pipeline=deal["id"])
    assert_error(foreign, 422, "validation_failed")
    assert detail_fields(foreign) == ["pipeline"]

    warm = ok(
        await move(client, PROJECTS, project["id"], ws.auth, stage="warm", pipeline="journey")
    )
    assert warm["fields"]["journey"] == "Warm"
    assert warm["fields"]["phase"] is None
    new = ok(await move(client, PROJECTS, project["id"], ws.auth, stage="New", pipeline="phase"))
    assert (new["fields"]["phase"], new["fields"]["journey"]) == ("New", "Warm")

    only_journey = await stages_of(client, ws, PROJECTS, project["id"], pipeline=journey["id"])
    assert moves(only_journey) == [(None, "Warm")]
    assert [t["pipeline"]["key"] for t in only_journey["time_in_stages"]] == ["journey"]
    both = await stages_of(client, ws, PROJECTS, project["id"])
    assert [m["pipeline"]["key"] for m in both["history"]] == ["journey", "phase"]
    assert [t["pipeline"]["key"] for t in both["time_in_stages"]] == ["phase", "journey"]
    bad = await client.get(
        f"{PROJECTS}/{project['id']}/stages", params={"pipeline": "nope"}, headers=ws.auth
    )
    assert_error(bad, 422, "validation_failed")
    assert detail_fields(bad) == ["pipeline"]


async def test_object_without_a_pipeline_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "widget")
    widgets = f"{API}/objects/widget/records"
    widget = await make(client, ws, widgets, name="Gear")
    answer = await move(client, widgets, widget["id"], ws.auth, stage="X")
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["pipeline"]
    report = await stages_of(client, ws, widgets, widget["id"])
    assert report["history"] == []
    assert report["time_in_stages"] == []


# --- history and time in stages -----------------------------------------------------------


async def test_history_and_time_in_stages(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    pipeline = await make_pipeline(client, ws)
    ids = {s["name"]: s["id"] for s in pipeline["stages"]}
    project = await make(client, ws, PROJECTS, name="Ada", phase="New")
    for stage in ("Working", "New", "Working", "Converted"):
        ok(await move(client, PROJECTS, project["id"], ws.auth, stage=stage))

    report = await stages_of(client, ws, PROJECTS, project["id"])
    assert report["record_id"] == project["id"]
    assert report["object"] == "project"
    assert moves(report) == [
        (None, "New"),
        ("New", "Working"),
        ("Working", "New"),
        ("New", "Working"),
        ("Working", "Converted"),
    ]
    me = ok(await client.get(f"{API}/me", headers=ws.auth))["user"]["id"]
    first = report["history"][0]
    assert first["pipeline"] == {"id": pipeline["id"], "key": "phase"}
    assert first["from"] is None
    assert first["to"] == {"id": ids["New"], "name": "New"}
    assert {m["actor_id"] for m in report["history"]} == {me}
    event_ids = [m["event_id"] for m in report["history"]]
    assert len(set(event_ids)) == len(event_ids)

    # New 0-60 and 180-600, Working 60-180 and 600-1000, Converted since 1000.
    await set_times(engine, event_ids, [0, 60, 180, 600, 1000])
    report = await stages_of(client, ws, PROJECTS, project["id"])
    assert [m["at"] for m in report["history"]] == [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:01:00Z",
        "2024-01-01T00:03:00Z",
        "2024-01-01T00:10:00Z",
        "2024-01-01T00:16:40Z",
    ]
    [times] = report["time_in_stages"]
    assert times["pipeline"] == {"id": pipeline["id"], "key": "phase", "label": "Sales"}
    new, working, converted = times["stages"]
    assert new == {
        "stage": {"id": ids["New"], "name": "New"},
        "seconds": 480,
        "entries": 2,
        "current": False,
    }
    assert working == {
        "stage": {"id": ids["Working"], "name": "Working"},
        "seconds": 520,
        "entries": 2,
        "current": False,
    }
    assert converted["stage"] == {"id": ids["Converted"], "name": "Converted"}
    assert (converted["entries"], converted["current"]) == (1, True)
    since = (datetime.now(UTC) - (T0 + timedelta(seconds=1000))).total_seconds()
    assert since - 60 <= converted["seconds"] <= since + 60


async def test_leaving_the_pipeline_stops_the_clock(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    project_pipeline = await make_pipeline(client, ws)
    project = await make(client, ws, PROJECTS, name="Ada", phase="Working")
    cleared = await client.patch(
        f"{PROJECTS}/{project['id']}", json={"fields": {"phase": None}}, headers=ws.auth
    )
    ok(cleared)
    report = await stages_of(client, ws, PROJECTS, project["id"])
    assert moves(report) == [(None, "Working"), ("Working", None)]
    await set_times(engine, [m["event_id"] for m in report["history"]], [0, 90])
    [times] = (await stages_of(client, ws, PROJECTS, project["id"]))["time_in_stages"]
    assert times["pipeline"]["id"] == project_pipeline["id"]
    assert times["stages"] == [
        {
            "stage": {"id": times["stages"][0]["stage"]["id"], "name": "Working"},
            "seconds": 90,
            "entries": 1,
            "current": False,
        }
    ]


async def test_renamed_stage_history_keeps_the_old_name(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    pipeline = await make_pipeline(client, ws)
    project = await make(client, ws, PROJECTS, name="Ada", phase="New")
    stages = [
        {"id": s["id"], "name": "Fresh" if s["name"] == "New" else s["name"], "kind": s["kind"]}
        for s in pipeline["stages"]
    ]
    ok(
        await client.patch(
            f"{API}/pipelines/{pipeline['id']}", json={"stages": stages}, headers=ws.auth
        )
    )
    report = await stages_of(client, ws, PROJECTS, project["id"])
    assert moves(report) == [(None, "New")]  # as it was when it happened
    [times] = report["time_in_stages"]
    assert [(t["stage"]["name"], t["current"]) for t in times["stages"]] == [("Fresh", True)]


async def test_bulk_created_record_has_its_stage_history(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = ok(
        await client.post(
            f"{DEALS}/bulk",
            json={"records": [{"fields": {"name": "Bulk", "stage": "Proposal"}}]},
            headers=ws.auth,
        )
    )
    deal = answer["data"][0]["record"]
    report = await stages_of(client, ws, DEALS, deal["id"])
    assert moves(report) == [(None, "Proposal")]
    [times] = report["time_in_stages"]
    [proposal] = times["stages"]
    assert proposal["stage"]["name"] == "Proposal"
    assert (proposal["entries"], proposal["current"]) == (1, True)
    assert proposal["seconds"] >= 0


# --- the funnel ---------------------------------------------------------------------------


async def _deals(client: httpx.AsyncClient, ws: Workspace) -> None:
    for name, stage, amount in [
        ("A", "Qualification", 1000),
        ("B", "Qualification", 500.5),
        ("C", "Proposal", 2000),
        ("D", "Won", 3000),
        ("E", None, 700),
        ("F", "Negotiation", None),
    ]:
        fields = {"name": name, "stage": stage, "amount": amount, "probability": 1}
        await make(client, ws, DEALS, **{k: v for k, v in fields.items() if v is not None})
    archived = await make(client, ws, DEALS, name="Archived", stage="Proposal", amount=9999)
    ok(await client.post(f"{DEALS}/{archived['id']}/archive", headers=ws.auth))
    deleted = await make(client, ws, DEALS, name="Deleted", stage="Won", amount=9999)
    assert (await client.delete(f"{DEALS}/{deleted['id']}", headers=ws.auth)).status_code == 204


async def test_summary_counts_and_sums_per_stage(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    pipeline = await deal_pipeline(client, ws)
    await _deals(client, ws)
    await make(client, other_ws, DEALS, headers=other_ws.auth, name="X", stage="Won", amount=5)

    answer = ok(await summary(client, ws.auth, pipeline["id"]))
    assert answer["pipeline"] == {
        "id": pipeline["id"],
        "key": "stage",
        "label": "Sales pipeline",
        "object": "deal",
    }
    assert answer["amount_field"] == {"key": "amount", "type": "currency", "currency": "USD"}
    assert [
        (s["name"], s["kind"], s["probability"], s["count"], s["amount"], s["weighted_amount"])
        for s in answer["stages"]
    ] == [
        ("Qualification", "open", 10, 2, 1500.5, 150.05),
        ("Proposal", "open", 40, 1, 2000, 800),
        ("Negotiation", "open", 70, 1, 0, 0),
        ("Won", "won", 100, 1, 3000, 3000),
        ("Lost", "lost", 0, 0, 0, 0),
    ]
    assert [s["id"] for s in answer["stages"]] == [s["id"] for s in pipeline["stages"]]
    assert answer["no_stage"] == {"count": 1, "amount": 700}
    assert answer["total"] == {"count": 6, "amount": 7200.5, "weighted_amount": 3950.05}


async def test_summary_of_another_amount_field(client: httpx.AsyncClient, ws: Workspace) -> None:
    pipeline = await deal_pipeline(client, ws)
    await _deals(client, ws)
    answer = ok(await summary(client, ws.auth, pipeline["id"], amount="probability"))
    assert answer["amount_field"] == {"key": "probability", "type": "number", "currency": None}
    assert [(s["count"], s["amount"], s["weighted_amount"]) for s in answer["stages"]] == [
        (2, 2, 0.2),
        (1, 1, 0.4),
        (1, 1, 0.7),
        (1, 1, 1),
        (0, 0, 0),
    ]
    assert answer["total"] == {"count": 6, "amount": 6, "weighted_amount": 2.3}


@pytest.mark.parametrize("amount", ["name", "close_date", "stage", "nope", "Amount"])
async def test_summary_amount_must_be_a_number_field(
    client: httpx.AsyncClient, ws: Workspace, amount: str
) -> None:
    pipeline = await deal_pipeline(client, ws)
    answer = await summary(client, ws.auth, pipeline["id"], amount=amount)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["amount"]


async def test_summary_without_a_currency_field(client: httpx.AsyncClient, ws: Workspace) -> None:
    pipeline = await make_pipeline(client, ws)
    await make(client, ws, PROJECTS, name="A", phase="New")
    await make(client, ws, PROJECTS, name="B", phase="New")
    await make(client, ws, PROJECTS, name="C", phase="Converted")
    await make(client, ws, PROJECTS, name="D")
    answer = ok(await summary(client, ws.auth, pipeline["id"]))
    assert answer["amount_field"] is None
    assert answer["stages"] == [
        {
            "id": s["id"],
            "name": s["name"],
            "kind": s["kind"],
            "probability": s["probability"],
            "count": n,
        }
        for s, n in zip(pipeline["stages"], [2, 0, 1, 0], strict=True)
    ]
    assert answer["no_stage"] == {"count": 1}
    assert answer["total"] == {"count": 4}
    assert ok(await summary(client, ws.auth, "phase")) == answer  # by its (unique) key

    made = await client.post(
        f"{API}/objects/project/fields",
        json={"key": "budget", "label": "Budget", "type": "number"},
        headers=ws.auth,
    )
    ok(made, 201)
    await make(client, ws, PROJECTS, name="E", phase="Working", budget=12.5)
    with_budget = ok(await summary(client, ws.auth, pipeline["id"], amount="budget"))
    assert [(s["count"], s["amount"], s["weighted_amount"]) for s in with_budget["stages"]] == [
        (2, 0, 0),
        (1, 12.5, 6.25),
        (1, 0, 0),
        (0, 0, 0),
    ]

    fee = {"key": "fee", "label": "Fee", "type": "currency", "options": {"currency": "EUR"}}
    ok(await client.post(f"{API}/objects/project/fields", json=fee, headers=ws.auth), 201)
    await make(client, ws, PROJECTS, name="F", phase="Converted", fee="19.99")
    by_fee = ok(await summary(client, ws.auth, pipeline["id"]))
    assert by_fee["amount_field"] == {"key": "fee", "type": "currency", "currency": "EUR"}
    assert [s["amount"] for s in by_fee["stages"]] == [0, 0, 19.99, 0]
    assert by_fee["total"] == {"count": 6, "amount": 19.99, "weighted_amount": 19.99}


async def test_unknown_or_ambiguous_pipeline_summary_is_404(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_pipeline(client, ws)
    await make_pipeline(client, ws, object="widget")  # now "phase" names two pipelines
    for ref in ("phase", "nope", "0190a3b4-7c2d-7000-8000-000000000001"):
        assert_error(await summary(client, ws.auth, ref), 404, "not_found")


async def test_agent_counts_only_own_records(client: httpx.AsyncClient, ws: Workspace) -> None:
    pipeline = await deal_pipeline(client, ws)
    await _deals(client, ws)
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    await make(client, ws, DEALS, headers=agent, name="Mine", stage="Proposal", amount=250)
    await make(client, ws, DEALS, headers=agent, name="Mine too", amount=5)

    answer = ok(await summary(client, agent, pipeline["id"]))
    assert [(s["count"], s["amount"]) for s in answer["stages"]] == [
        (0, 0),
        (1, 250),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert answer["no_stage"] == {"count": 1, "amount": 5}
    assert answer["total"] == {"count": 2, "amount": 255, "weighted_amount": 100}
    owner = ok(await summary(client, ws.auth, pipeline["id"]))
    assert owner["total"]["count"] == 8


# --- who may -------------------------------------------------------------------------------


async def test_other_workspace_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    pipeline = await deal_pipeline(client, ws)
    deal = await make(client, ws, DEALS, name="Ours", stage="Proposal")
    theirs = other_ws.auth
    assert_error(await move(client, DEALS, deal["id"], theirs, stage="Won"), 404, "not_found")
    assert_error(await client.get(f"{DEALS}/{deal['id']}/stages", headers=theirs), 404, "not_found")
    assert_error(await summary(client, theirs, pipeline["id"]), 404, "not_found")
    assert ok(await client.get(f"{DEALS}/{deal['id']}", headers=ws.auth))["fields"]["stage"] == (
        "Proposal"
    )


async def test_agent_cannot_move_or_read_others_records(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    deal = await make(client, ws, DEALS, name="Owner's", stage="Proposal")
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    assert_error(await move(client, DEALS, deal["id"], agent, stage="Won"), 404, "not_found")
    assert_error(await client.get(f"{DEALS}/{deal['id']}/stages", headers=agent), 404, "not_found")
    mine = await make(client, ws, DEALS, headers=agent, name="Mine", stage="Proposal")
    assert ok(await move(client, DEALS, mine["id"], agent, stage="Won"))["fields"]["stage"] == "Won"


async def test_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    pipeline = await deal_pipeline(client, ws)
    deal = await make(client, ws, DEALS, name="Big", stage="Proposal")
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    assert_error(
        await move(client, DEALS, deal["id"], reader, stage="Won"), 403, "permission_denied"
    )
    ok(await client.get(f"{DEALS}/{deal['id']}/stages", headers=reader))
    ok(await summary(client, reader, pipeline["id"]))

    mover = bearer(await ws.add_key(scopes=["deal:update"]))
    assert ok(await move(client, DEALS, deal["id"], mover, stage="won"))["fields"]["stage"] == "Won"
    assert_error(
        await client.get(f"{DEALS}/{deal['id']}/stages", headers=mover), 403, "permission_denied"
    )
    # Scope comes before the body is looked at.
    assert_error(
        await move(client, DEALS, deal["id"], reader, stage="nope"), 403, "permission_denied"
    )

    contacts_only = bearer(await ws.add_key(scopes=["contact:*", "pipeline:read"]))
    assert_error(await summary(client, contacts_only, pipeline["id"]), 403, "permission_denied")
    assert_error(
        await move(client, DEALS, deal["id"], contacts_only, stage="Won"), 403, "permission_denied"
    )
    no_pipeline = bearer(await ws.add_key(scopes=["deal:list", "deal:read"]))
    assert_error(await summary(client, no_pipeline, pipeline["id"]), 403, "permission_denied")
    both = bearer(await ws.add_key(scopes=["deal:list", "pipeline:read"]))
    ok(await summary(client, both, pipeline["id"]))


async def test_bad_bodies(client: httpx.AsyncClient, ws: Workspace) -> None:
    deal = await make(client, ws, DEALS, name="Big", stage="Proposal")
    url = f"{DEALS}/{deal['id']}/stage"
    headers = {**ws.auth, "Content-Type": "application/json"}
    malformed = await client.post(url, content=b'{"stage": ', headers=headers)
    assert_error(malformed, 400, "malformed_request")
    empty = await client.post(url, content=b"", headers=headers)
    assert_error(empty, 400, "malformed_request")
    extra = await client.post(url, json={"stage": "Won", "when": "now"}, headers=ws.auth)
    assert_error(extra, 422, "validation_failed")
    assert detail_fields(extra) == ["when"]
    assert extra.json()["error"]["details"][0]["code"] == "unknown"
    missing = await client.post(url, json={"pipeline": "stage"}, headers=ws.auth)
    assert_error(missing, 422, "validation_failed")
    assert detail_fields(missing) == ["stage"]
    wrong_type = await client.post(url, json={"stage": 3}, headers=ws.auth)
    assert_error(wrong_type, 422, "validation_failed")
    assert detail_fields(wrong_type) == ["stage"]
    unknown_record = await client.post(
        f"{DEALS}/0190a3b4-7c2d-7000-8000-000000000001/stage",
        json={"stage": "Won"},
        headers=ws.auth,
    )
    assert_error(unknown_record, 404, "not_found")
    assert_error(
        await client.post(
            f"{API}/objects/nope/records/{deal['id']}/stage", json={"stage": "Won"}, headers=ws.auth
        ),
        404,
        "not_found",
    )
    assert ok(await client.get(f"{DEALS}/{deal['id']}", headers=ws.auth))["fields"]["stage"] == (
        "Proposal"
    )
