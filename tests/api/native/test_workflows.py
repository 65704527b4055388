"""Workflows on the native API: made, read, listed, changed and deleted; their categories;
their runs started by the worker or by hand, read on the workflow, on the record and alone,
and cancelled; and every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.worker.loop import drain
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
WORKFLOWS = f"{API}/workflows"
CATEGORIES = f"{API}/workflow-categories"
LEADS = f"{API}/objects/lead/records"
#: Well-formed ids that name nothing (fixed, so that every collection names the same tests).
NO_ID = "0190f6d2-5b1e-7c3a-9d4e-2f1a3b4c5d6e"
WELCOME = {
    "object": "lead",
    "name": "Welcome",
    "description": "Greets new leads",
    "published": True,
    "trigger": {"type": "record.created"},
    "conditions": {"field": "city", "op": "eq", "value": "Oslo"},
    "steps": [
        {"type": "set_fields", "fields": {"title": "Hi {{first_name}}"}},
        {"type": "create_note", "text": "Welcomed {{display_name}}", "kind": "call"},
    ],
}
MANUAL = {
    "object": "lead",
    "name": "By hand",
    "published": True,
    "trigger": {"type": "manual"},
    "steps": [{"type": "set_fields", "fields": {"description": "touched"}}],
}


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


async def make(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    return dict(ok(await client.post(WORKFLOWS, json=body, headers=headers), 201))


async def lead(client: httpx.AsyncClient, ws: Workspace, **fields: Any) -> dict[str, Any]:
    answer = await client.post(
        LEADS, json={"fields": {"first_name": "Ann", **fields}}, headers=ws.auth
    )
    return dict(ok(answer, 201))


async def names(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    page = ok(await client.get(WORKFLOWS, params=params, headers=ws.auth))
    assert page["total"] == len(page["data"])
    return [w["name"] for w in page["data"]]


@pytest.fixture
async def worker(engine: AsyncEngine) -> AsyncEngine:
    """The engine, once the worker has done what earlier tests left (their events are not
    this test's)."""
    await drain(engine)
    return engine


@pytest.fixture
async def agent(ws: Workspace) -> dict[str, str]:
    """An agent's key: every scope, but a role that may not manage workflows."""
    return bearer(await ws.add_key(role="agent", email="agent@acme.io"))


async def test_a_workflow_made_read_changed_and_deleted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    category = ok(await client.post(CATEGORIES, json={"name": "Sales"}, headers=ws.auth), 201)
    made = await make(client, ws.auth, {**WELCOME, "category": category["number"]})
    assert made == {
        "id": made["id"],
        "number": 1,
        "object": "lead",
        "name": "Welcome",
        "description": "Greets new leads",
        "category": {"id": category["id"], "number": 1, "name": "Sales"},
        "published": True,
        "runtime": "async",
        "trigger": {"type": "record.created"},
        "conditions": WELCOME["conditions"],
        "steps": WELCOME["steps"],
        "created_by": made["created_by"],
        "created_at": made["created_at"],
        "updated_at": made["updated_at"],
    }
    assert made["created_by"] is not None
    assert made["created_at"].endswith("Z")
    for ref in (made["id"], "1"):
        assert ok(await client.get(f"{WORKFLOWS}/{ref}", headers=ws.auth)) == made
    changed = await client.patch(
        f"{WORKFLOWS}/1",
        json={"name": "Hello", "category": None, "conditions": None, "published": False},
        headers=ws.auth,
    )
    shown = ok(changed)
    assert (shown["name"], shown["category"], shown["conditions"]) == ("Hello", None, None)
    assert (shown["published"], shown["steps"], shown["description"]) == (
        False,
        WELCOME["steps"],
        "Greets new leads",
    )
    assert ok(await client.patch(f"{WORKFLOWS}/1", json={}, headers=ws.auth))["name"] == "Hello"
    ok(await client.delete(f"{WORKFLOWS}/1", headers=ws.auth), 204)
    for answer in (
        await client.get(f"{WORKFLOWS}/1", headers=ws.auth),
        await client.patch(f"{WORKFLOWS}/1", json={"name": "X"}, headers=ws.auth),
        await client.delete(f"{WORKFLOWS}/{made['id']}", headers=ws.auth),
        await client.post(f"{WORKFLOWS}/1/runs", json={"record": NO_ID}, headers=ws.auth),
    ):
        assert_error(answer, 404, "not_found")
    assert await names(client, ws) == []
    again = await make(client, ws.auth, MANUAL)
    assert again["number"] == 2


async def test_lists_find_by_object_text_and_publication(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make(client, ws.auth, WELCOME)
    await make(client, ws.auth, {**MANUAL, "published": False})
    await make(
        client,
        ws.auth,
        {
            "object": "contact",
            "name": "Contacts",
            "description": "for oslo",
            "trigger": {"type": "manual"},
        },
    )
    assert await names(client, ws) == ["Welcome", "By hand", "Contacts"]
    assert await names(client, ws, object="lead") == ["Welcome", "By hand"]
    assert await names(client, ws, q="OSLO") == ["Contacts"]
    assert await names(client, ws, q="greets") == ["Welcome"]
    assert await names(client, ws, q="nothing like it") == []
    assert await names(client, ws, published="false") == ["By hand", "Contacts"]
    assert await names(client, ws, published="true", object="contact") == []
    page = ok(await client.get(WORKFLOWS, params={"limit": 1, "offset": 1}, headers=ws.auth))
    assert ([w["name"] for w in page["data"]], page["total"]) == (["By hand"], 3)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"object": "spaceship"}, "object"),
        ({"published": "maybe"}, "published"),
        ({"q": "x" * 201}, "q"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "first"}, "offset"),
    ],
)
async def test_bad_list_queries(
    client: httpx.AsyncClient, ws: Workspace, query: dict[str, Any], field: str
) -> None:
    answer = await client.get(WORKFLOWS, params=query, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [field]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trigger": {"type": "record.born"}}, "trigger.type"),
        ({"trigger": {"type": "record.updated", "fields": ["nope"]}}, "trigger.fields"),
        ({"trigger": {"type": "manual", "list": 1}}, "trigger.list"),
        ({"steps": [{"type": "teleport"}]}, "steps[0].type"),
        ({"steps": ["set_fields"]}, "steps[0].type"),
        ({"steps": [{"type": "set_fields", "fields": {"nope": 1}}]}, "steps[0].fields.nope"),
        ({"steps": [{"type": "wait", "for": {"weeks": 1}}]}, "steps[0].for"),
        (
            {"steps": [{"type": "set_fields", "fields": {"city": "x"}, "colour": 1}]},
            "steps[0].colour",
        ),
        (
            {"steps": [{"type": "branch", "if": {"field": "nope", "op": "eq", "value": 1}}]},
            "steps[0].if.field",
        ),
        ({"conditions": {"field": "nope", "op": "eq", "value": 1}}, "conditions.field"),
        ({"conditions": {"and": [{"field": "city", "op": "is"}]}}, "conditions.and[0].op"),
        ({"runtime": "sync"}, "runtime"),
        ({"runtime": "later"}, "runtime"),
        ({"object": "spaceship"}, "object"),
        ({"category": 7}, "category"),
        ({"category": NO_ID}, "category"),
        ({"name": " "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": "x" * 5001}, "description"),
        ({"published": "maybe"}, "published"),
        ({"published": 0}, "published"),
        ({"category": 1.0}, "category"),
        ({"trigger": "record.created"}, "trigger"),
        ({"steps": {"type": "stop"}}, "steps"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_wrong_workflow_is_refused_naming_its_part(
    client: httpx.AsyncClient, ws: Workspace, change: dict[str, Any], field: str
) -> None:
    made = await client.post(WORKFLOWS, json={**WELCOME, **change}, headers=ws.auth)
    assert_error(made, 422, "validation_failed")
    assert field in detail_fields(made)
    await make(client, ws.auth, MANUAL)
    if "object" not in change:
        changed = await client.patch(f"{WORKFLOWS}/1", json=change, headers=ws.auth)
        assert_error(changed, 422, "validation_failed")
        assert field in detail_fields(changed)
    assert ok(await client.get(f"{WORKFLOWS}/1", headers=ws.auth))["name"] == "By hand"
    assert await names(client, ws) == ["By hand"]


async def test_what_may_not_be_left_out_or_changed(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for missing in ("object", "name", "trigger"):
        body = {k: v for k, v in WELCOME.items() if k != missing}
        answer = await client.post(WORKFLOWS, json=body, headers=ws.auth)
        assert detail_fields(answer) == [missing]
    await make(client, ws.auth, MANUAL)
    for null in ("name", "published", "runtime", "trigger", "steps"):
        answer = await client.patch(f"{WORKFLOWS}/1", json={null: None}, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == [null], null
    moved = await client.patch(f"{WORKFLOWS}/1", json={"object": "contact"}, headers=ws.auth)
    assert detail_fields(moved) == ["object"]
    same = await client.patch(f"{WORKFLOWS}/1", json={"object": "lead"}, headers=ws.auth)
    assert ok(same)["object"] == "lead"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/workflows"),
        ("PATCH", "/workflows/1"),
        ("POST", "/workflows/1/runs"),
        ("POST", "/workflow-categories"),
        ("PATCH", "/workflow-categories/1"),
    ],
)
async def test_malformed_bodies(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str
) -> None:
    await make(client, ws.auth, MANUAL)
    ok(await client.post(CATEGORIES, json={"name": "Sales"}, headers=ws.auth), 201)
    headers = {**ws.auth, "content-type": "application/json"}
    broken = await client.request(method, API + path, content=b"{", headers=headers)
    assert_error(broken, 400, "malformed_request")
    listed = await client.request(method, API + path, content=b"[]", headers=headers)
    assert_error(listed, 422, "validation_failed")


async def test_categories(client: httpx.AsyncClient, ws: Workspace) -> None:
    sales = ok(await client.post(CATEGORIES, json={"name": " Sales "}, headers=ws.auth), 201)
    assert sales == {"id": sales["id"], "number": 1, "name": "Sales"}
    ok(await client.post(CATEGORIES, json={"name": "Support"}, headers=ws.auth), 201)
    taken = await client.post(CATEGORIES, json={"name": "SALES"}, headers=ws.auth)
    assert_error(taken, 409, "conflict")
    listed = ok(await client.get(CATEGORIES, headers=ws.auth))
    assert [(c["number"], c["name"]) for c in listed["data"]] == [(1, "Sales"), (2, "Support")]
    assert listed["total"] == 2
    await make(client, ws.auth, {**MANUAL, "category": sales["id"]})
    renamed = await client.patch(f"{CATEGORIES}/1", json={"name": "Deals"}, headers=ws.auth)
    assert ok(renamed)["name"] == "Deals"
    shown = ok(await client.get(f"{WORKFLOWS}/1", headers=ws.auth))
    assert shown["category"] == {"id": sales["id"], "number": 1, "name": "Deals"}
    clash = await client.patch(
        f"{CATEGORIES}/{sales['id']}", json={"name": "support"}, headers=ws.auth
    )
    assert_error(clash, 409, "conflict")
    for name in ("", "  ", "x" * 101):
        refused = await client.post(CATEGORIES, json={"name": name}, headers=ws.auth)
        assert detail_fields(refused) == ["name"]
    assert detail_fields(await client.post(CATEGORIES, json={}, headers=ws.auth)) == ["name"]
    unknown = await client.post(CATEGORIES, json={"name": "A", "colour": 1}, headers=ws.auth)
    assert detail_fields(unknown) == ["colour"]
    ok(await client.delete(f"{CATEGORIES}/1", headers=ws.auth), 204)
    assert ok(await client.get(f"{WORKFLOWS}/1", headers=ws.auth))["category"] is None
    for answer in (
        await client.patch(f"{CATEGORIES}/1", json={"name": "X"}, headers=ws.auth),
        await client.delete(f"{CATEGORIES}/1", headers=ws.auth),
        await client.delete(f"{CATEGORIES}/{NO_ID}", headers=ws.auth),
        await client.delete(f"{CATEGORIES}/sales", headers=ws.auth),
    ):
        assert_error(answer, 404, "not_found")


async def test_other_workspaces_stay_hidden(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, worker: AsyncEngine
) -> None:
    theirs = await make(client, other_ws.auth, WELCOME)
    category = ok(
        await client.post(CATEGORIES, json={"name": "Theirs"}, headers=other_ws.auth), 201
    )
    their_lead = await lead(client, other_ws, city="Oslo")
    await drain(worker)
    their_run = ok(await client.get(f"{WORKFLOWS}/1/runs", headers=other_ws.auth))["data"][0]
    for ref in (theirs["id"], "1"):
        for answer in (
            await client.get(f"{WORKFLOWS}/{ref}", headers=ws.auth),
            await client.patch(f"{WORKFLOWS}/{ref}", json={"name": "Mine"}, headers=ws.auth),
            await client.delete(f"{WORKFLOWS}/{ref}", headers=ws.auth),
            await client.get(f"{WORKFLOWS}/{ref}/runs", headers=ws.auth),
            await client.post(f"{WORKFLOWS}/{ref}/runs", json={"record": 1}, headers=ws.auth),
        ):
            assert_error(answer, 404, "not_found")
    for answer in (
        await client.patch(f"{CATEGORIES}/{category['id']}", json={"name": "X"}, headers=ws.auth),
        await client.delete(f"{CATEGORIES}/1", headers=ws.auth),
        await client.get(f"{API}/workflow-runs/{their_run['id']}", headers=ws.auth),
        await client.post(f"{API}/workflow-runs/{their_run['id']}/cancel", headers=ws.auth),
        await client.get(f"{LEADS}/{their_lead['id']}/workflow-runs", headers=ws.auth),
    ):
        assert_error(answer, 404, "not_found")
    assert await names(client, ws) == []
    assert ok(await client.get(CATEGORIES, headers=ws.auth)) == {"data": [], "total": 0}
    borrowed = await client.post(
        WORKFLOWS, json={**MANUAL, "category": category["id"]}, headers=ws.auth
    )
    assert detail_fields(borrowed) == ["category"]
    await make(client, ws.auth, MANUAL)
    foreign = await client.post(
        f"{WORKFLOWS}/1/runs", json={"record": their_lead["id"]}, headers=ws.auth
    )
    assert detail_fields(foreign) == ["record"]
    assert ok(await client.get(f"{WORKFLOWS}/1", headers=other_ws.auth))["name"] == "Welcome"


async def test_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make(client, ws.auth, MANUAL)
    reader = bearer(await ws.add_key(scopes=["workflow:read", "workflow:list"]))
    assert ok(await client.get(WORKFLOWS, headers=reader))["total"] == 1
    assert ok(await client.get(f"{WORKFLOWS}/1", headers=reader))["name"] == "By hand"
    assert ok(await client.get(CATEGORIES, headers=reader))["total"] == 0
    assert ok(await client.get(f"{WORKFLOWS}/1/runs", headers=reader))["total"] == 0
    for answer in (
        await client.post(WORKFLOWS, json=MANUAL, headers=reader),
        await client.patch(f"{WORKFLOWS}/1", json={"name": "X"}, headers=reader),
        await client.delete(f"{WORKFLOWS}/1", headers=reader),
        await client.post(CATEGORIES, json={"name": "X"}, headers=reader),
        await client.post(f"{WORKFLOWS}/1/runs", json={"record": NO_ID}, headers=reader),
    ):
        assert_error(answer, 403, "permission_denied")
    other = bearer(await ws.add_key(scopes=["lead:read", "lead:list"]))
    made = await lead(client, ws)
    for answer in (
        await client.get(WORKFLOWS, headers=other),
        await client.get(f"{WORKFLOWS}/1", headers=other),
        await client.get(CATEGORIES, headers=other),
        await client.get(f"{WORKFLOWS}/1/runs", headers=other),
        await client.get(f"{LEADS}/{made['id']}/workflow-runs", headers=other),
        await client.get(f"{API}/workflow-runs/{NO_ID}", headers=other),
    ):
        assert_error(answer, 403, "permission_denied")
    assert_error(await client.get(WORKFLOWS), 401, "unauthenticated")


async def test_an_agent_may_read_but_not_manage_workflows(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    await make(client, ws.auth, MANUAL)
    ok(await client.post(CATEGORIES, json={"name": "Sales"}, headers=ws.auth), 201)
    assert await names(client, ws) == ["By hand"]
    assert ok(await client.get(f"{WORKFLOWS}/1", headers=agent))["name"] == "By hand"
    mine = await lead(client, ws)
    for answer in (
        await client.post(WORKFLOWS, json=MANUAL, headers=agent),
        await client.patch(f"{WORKFLOWS}/1", json={"name": "X"}, headers=agent),
        await client.delete(f"{WORKFLOWS}/1", headers=agent),
        await client.post(CATEGORIES, json={"name": "X"}, headers=agent),
        await client.patch(f"{CATEGORIES}/1", json={"name": "X"}, headers=agent),
        await client.delete(f"{CATEGORIES}/1", headers=agent),
        await client.post(f"{WORKFLOWS}/1/runs", json={"record": mine["id"]}, headers=agent),
    ):
        assert_error(answer, 403, "permission_denied")
    assert ok(await client.get(f"{WORKFLOWS}/1", headers=ws.auth))["name"] == "By hand"


async def test_a_new_lead_runs_and_its_runs_show_on_the_record(
    client: httpx.AsyncClient, ws: Workspace, worker: AsyncEngine
) -> None:
    wf = await make(client, ws.auth, WELCOME)
    oslo = await lead(client, ws, city="Oslo")
    await lead(client, ws, city="Rome")
    await drain(worker)
    page = ok(await client.get(f"{LEADS}/{oslo['id']}/workflow-runs", headers=ws.auth))
    assert page["total"] == 1
    (run,) = page["data"]
    assert run == {
        "id": run["id"],
        "workflow": {"id": wf["id"], "number": 1, "name": "Welcome"},
        "record": {"id": oslo["id"], "number": oslo["number"], "object": "lead"},
        "status": "completed",
        "position": [1],
        "depth": 1,
        "due_at": None,
        "error": None,
        "started_at": run["started_at"],
        "updated_at": run["updated_at"],
        "finished_at": run["finished_at"],
    }
    assert run["started_at"] <= run["finished_at"]
    one = ok(await client.get(f"{API}/workflow-runs/{run['id']}", headers=ws.auth))
    assert one == run | {"steps": one["steps"]}
    assert [(s["position"], s["type"], s["status"]) for s in one["steps"]] == [
        ("0", "set_fields", "done"),
        ("1", "create_note", "done"),
    ]
    assert one["steps"][0]["detail"] == {"fields": {"title": "Hi Ann"}}
    assert one["steps"][0]["at"].endswith("Z")
    changed = ok(await client.get(f"{LEADS}/{oslo['id']}", headers=ws.auth))
    assert changed["fields"]["title"] == "Hi Ann"
    of_workflow = ok(await client.get(f"{WORKFLOWS}/{wf['id']}/runs", headers=ws.auth))
    assert of_workflow == {"data": [run], "total": 1}
    done = await client.post(f"{API}/workflow-runs/{run['id']}/cancel", headers=ws.auth)
    assert_error(done, 409, "conflict")


async def test_runs_started_by_hand_and_cancelled(
    client: httpx.AsyncClient, ws: Workspace, worker: AsyncEngine
) -> None:
    wf = await make(client, ws.auth, MANUAL)
    one, two, three = [await lead(client, ws, city=c) for c in ("A", "B", "B")]
    runs = f"{WORKFLOWS}/{wf['number']}/runs"
    started = ok(await client.post(runs, json={"record": one["id"]}, headers=ws.auth), 201)
    (run,) = started["data"]
    assert (run["record"]["id"], run["status"], run["position"]) == (one["id"], "pending", [0])
    assert run["due_at"] is not None
    by_filter = await client.post(
        runs, json={"filter": {"field": "city", "op": "eq", "value": "B"}}, headers=ws.auth
    )
    shown = ok(by_filter, 201)["data"]
    assert {r["record"]["id"] for r in shown} == {two["id"], three["id"]}
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    refused = await client.post(f"{API}/workflow-runs/{run['id']}/cancel", headers=agent)
    assert_error(refused, 403, "permission_denied")
    hidden = await client.get(f"{API}/workflow-runs/{run['id']}", headers=agent)
    assert_error(hidden, 404, "not_found")
    cancelled = ok(await client.post(f"{API}/workflow-runs/{run['id']}/cancel", headers=ws.auth))
    assert (cancelled["status"], cancelled["due_at"], cancelled["steps"]) == ("cancelled", None, [])
    assert cancelled["finished_at"] is not None
    again = await client.post(f"{API}/workflow-runs/{run['id']}/cancel", headers=ws.auth)
    assert_error(again, 409, "conflict")
    await drain(worker)
    page = ok(await client.get(runs, headers=ws.auth))
    assert [r["status"] for r in page["data"]] == ["completed", "completed", "cancelled"]
    untouched = ok(await client.get(f"{LEADS}/{one['id']}", headers=ws.auth))
    assert untouched["fields"].get("description") is None
    first = ok(await client.get(runs, params={"limit": 1, "offset": 2}, headers=ws.auth))
    assert ([r["id"] for r in first["data"]], first["total"]) == ([run["id"]], 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "record"),
        ({"record": "x", "filter": {}}, "record"),
        ({"record": NO_ID}, "record"),
        ({"record": 0}, "record"),
        ({"record": True}, "record"),
        ({"filter": {"field": "nope", "op": "eq", "value": 1}}, "filter.field"),
        ({"filter": "city"}, "filter"),
        ({"records": []}, "records"),
    ],
)
async def test_bad_starts(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    await make(client, ws.auth, MANUAL)
    answer = await client.post(f"{WORKFLOWS}/1/runs", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert ok(await client.get(f"{WORKFLOWS}/1/runs", headers=ws.auth))["total"] == 0


async def test_an_unpublished_workflow_is_not_started(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make(client, ws.auth, {**MANUAL, "published": False})
    made = await lead(client, ws)
    answer = await client.post(f"{WORKFLOWS}/1/runs", json={"record": made["id"]}, headers=ws.auth)
    assert_error(answer, 409, "conflict")


async def test_a_deleted_workflows_runs_stay_readable(
    client: httpx.AsyncClient, ws: Workspace, worker: AsyncEngine
) -> None:
    waiting = {**WELCOME, "conditions": None, "steps": [{"type": "wait", "for": {"days": 1}}]}
    wf = await make(client, ws.auth, waiting)
    made = await lead(client, ws)
    await drain(worker)
    (run,) = ok(await client.get(f"{LEADS}/{made['id']}/workflow-runs", headers=ws.auth))["data"]
    assert (run["status"], run["position"]) == ("waiting", [1])
    ok(await client.delete(f"{WORKFLOWS}/{wf['id']}", headers=ws.auth), 204)
    after = ok(await client.get(f"{WORKFLOWS}/{wf['id']}/runs", headers=ws.auth))["data"]
    assert [(r["id"], r["status"]) for r in after] == [(run["id"], "cancelled")]
    on_record = ok(await client.get(f"{LEADS}/{made['id']}/workflow-runs", headers=ws.auth))
    assert on_record["data"] == after
    for ref in ("x", NO_ID, "1.5"):
        assert_error(
            await client.get(f"{API}/workflow-runs/{ref}", headers=ws.auth), 404, "not_found"
        )
    for path in (
        f"lead/records/{NO_ID}",
        f"contact/records/{made['id']}",
        f"ship/records/{made['id']}",
    ):
        answer = await client.get(f"{API}/objects/{path}/workflow-runs", headers=ws.auth)
        assert_error(answer, 404, "not_found")


async def test_an_agent_sees_the_runs_on_the_records_it_can_see(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    await make(client, ws.auth, MANUAL)
    theirs = await lead(client, ws)
    answer = await client.post(LEADS, json={"fields": {"first_name": "Mine"}}, headers=agent)
    mine = ok(answer, 201)
    runs = f"{WORKFLOWS}/1/runs"
    for made in (theirs, mine):
        ok(await client.post(runs, json={"record": made["id"]}, headers=ws.auth), 201)
    every = ok(await client.get(runs, headers=ws.auth))
    assert [r["record"]["id"] for r in every["data"]] == [mine["id"], theirs["id"]]
    seen = ok(await client.get(runs, headers=agent))
    assert (seen["data"], seen["total"]) == ([every["data"][0]], 1)
    own = every["data"][0]["id"]
    shown = ok(await client.get(f"{API}/workflow-runs/{own}", headers=agent))
    assert shown == every["data"][0] | {"steps": []}
    other = every["data"][1]["id"]
    assert_error(await client.get(f"{API}/workflow-runs/{other}", headers=agent), 404, "not_found")
    on_theirs = await client.get(f"{LEADS}/{theirs['id']}/workflow-runs", headers=agent)
    assert_error(on_theirs, 404, "not_found")
    on_mine = ok(await client.get(f"{LEADS}/{mine['id']}/workflow-runs", headers=agent))
    assert on_mine == seen
