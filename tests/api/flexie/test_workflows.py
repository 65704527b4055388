"""Workflows: the document's requests as written, lists and their filters, one workflow,
its change and deletion, the categories, the runs on each type of record, and every
refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.worker.loop import drain
from tests.api.flexie.conftest import DOCUMENT_FILTER, FX, flt, fx_error, key, make_table, new
from tests.conftest import Workspace

NATIVE = "/api/v1/workflows"
#: The document's update, as it is written.
UPDATE = {
    "name": "VIP lead onboarding",
    "description": "Send a welcome sequence to new VIP leads",
    "category": 12,
    "isPublished": True,
    "runtime": "async",
}
ACME = {
    "object": "lead",
    "name": "Acme onboarding",
    "description": "First steps",
    "trigger": {"type": "manual"},
    "steps": [{"type": "set_fields", "fields": {"description": "onboarded"}}],
}
#: What each record type's first record is made of.
RECORDS = {
    "contacts": ("contact", {"first_name": "Ann"}),
    "leads": ("lead", {"first_name": "Ann"}),
    "accounts": ("company", {"name": "Acme"}),
    "deals": ("deal", {"name": "Renewal"}),
    "cases": ("case", {"title": "Broken login"}),
    "ce/renewal": ("renewal", {"name": "Acme 2026"}),
}


async def native(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], path: str = NATIVE
) -> dict[str, Any]:
    """Make a workflow (or a category, with ``path``) through the native API."""
    made = await client.post(path, json=body, headers=ws.auth)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def categories(client: httpx.AsyncClient, ws: Workspace, count: int) -> None:
    for i in range(1, count + 1):
        await native(client, ws, {"name": f"Group {i}"}, "/api/v1/workflow-categories")


def _names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [w["name"] for w in answer.json()["workflows"]]


@pytest.fixture
async def three(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    """Workflows 1 to 3: Acme onboarding (lead, unpublished, category 2), Renewals
    (contact, published, none) and Cases (case, published, category 1)."""
    await categories(client, ws, 2)
    await native(client, ws, ACME | {"category": 2})
    await native(
        client,
        ws,
        {"object": "contact", "name": "Renewals", "published": True, "trigger": {"type": "manual"}},
    )
    await native(
        client,
        ws,
        {
            "object": "case",
            "name": "Cases",
            "description": "acme support",
            "published": True,
            "category": 1,
            "trigger": {"type": "record.created"},
        },
    )
    return ws


@pytest.fixture
async def worker(engine: AsyncEngine) -> AsyncEngine:
    """The engine, once the worker has done what earlier tests left."""
    await drain(engine)
    return engine


async def test_document_requests(client: httpx.AsyncClient, ws: Workspace) -> None:
    await categories(client, ws, 12)
    made = await native(client, ws, ACME)
    found = await client.get(f"{FX}/workflows?limit=30&search=acme", headers=key(ws))
    assert (_names(found), found.json()["total"]) == (["Acme onboarding"], 1)
    shown = found.json()["workflows"][0]
    assert shown == {
        "id": 1,
        "name": "Acme onboarding",
        "description": "First steps",
        "category": None,
        "isPublished": False,
        "runtime": "async",
        "object": "lead",
        "trigger": {"type": "manual"},
        "conditions": None,
        "steps": ACME["steps"],
        "date_added": made["created_at"],
        "date_modified": made["updated_at"],
    }
    assert shown["date_added"].endswith("Z")
    one = await client.get(f"{FX}/workflows/1", headers=key(ws))
    assert one.json() == {"workflow": shown}
    # The shared filter body names an email, which workflows lack; by name it works.
    verbatim = await client.post(f"{FX}/workflows", json=DOCUMENT_FILTER, headers=key(ws))
    fx_error(verbatim, 400, "email")
    by_name = DOCUMENT_FILTER | flt("name", "like", "acme", strict=False, starts=False, ends=False)
    assert _names(await client.post(f"{FX}/workflows", json=by_name, headers=key(ws))) == [
        "Acme onboarding"
    ]
    put = await client.put(f"{FX}/workflows/1", json=UPDATE, headers=key(ws))
    assert put.status_code == 200, put.text
    changed = put.json()["workflow"]
    assert changed == shown | {
        "name": "VIP lead onboarding",
        "description": "Send a welcome sequence to new VIP leads",
        "category": {"id": 12, "name": "Group 12"},
        "isPublished": True,
        "date_modified": changed["date_modified"],
    }
    assert changed["date_modified"] > shown["date_modified"]
    native_view = (await client.get(f"{NATIVE}/1", headers=ws.auth)).json()
    assert (native_view["name"], native_view["published"]) == ("VIP lead onboarding", True)
    listed = await client.get(f"{FX}/workflows/list/categories", headers=key(ws))
    assert listed.status_code == 200
    assert listed.json()["total"] == 12
    assert listed.json()["categories"][:2] == [
        {"id": 1, "name": "Group 1"},
        {"id": 2, "name": "Group 2"},
    ]
    gone = await client.delete(f"{FX}/workflows/1", headers=key(ws))
    assert (gone.status_code, gone.content) == (204, b"")
    fx_error(await client.get(f"{FX}/workflows/1", headers=key(ws)), 404)
    assert (await client.get(f"{FX}/workflows", headers=key(ws))).json() == {
        "total": 0,
        "workflows": [],
    }


async def test_query_list(client: httpx.AsyncClient, three: Workspace) -> None:
    every = await client.get(f"{FX}/workflows", headers=key(three))
    assert (_names(every), every.json()["total"]) == (["Acme onboarding", "Renewals", "Cases"], 3)
    page = await client.get(
        f"{FX}/workflows?limit=1&start=1&orderBy=name&orderByDir=DESC", headers=key(three)
    )
    assert (_names(page), page.json()["total"]) == (["Cases"], 3)
    by_text = await client.get(f"{FX}/workflows?search=ACME", headers=key(three))
    assert _names(by_text) == ["Acme onboarding", "Cases"]
    by_key = await client.get(f"{FX}/workflows?apikey={three.key}&orderBy=category")
    assert _names(by_key) == ["Renewals", "Cases", "Acme onboarding"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (flt("name", "like", "renewals", strict=True), ["Renewals"]),
        (flt("name", "like", "ca", starts=True), ["Cases"]),
        (flt("description", "like", "steps", ends=True), ["Acme onboarding"]),
        (flt("description", "empty"), ["Renewals"]),
        (flt("isPublished", "eq", True), ["Renewals", "Cases"]),
        (flt("isPublished", "!=", True), ["Acme onboarding"]),
        (flt("category", "eq", 2), ["Acme onboarding"]),
        (flt("category", "in", [1, 2]), ["Acme onboarding", "Cases"]),
        (flt("category", "empty"), ["Renewals"]),
        (flt("runtime", "eq", "async"), ["Acme onboarding", "Renewals", "Cases"]),
        (flt("id", "gt", 1), ["Renewals", "Cases"]),
        (flt("id", "between", [2, 3]), ["Renewals", "Cases"]),
        (
            flt("date_added", "gte", "2000-01-01T00:00:00Z"),
            ["Acme onboarding", "Renewals", "Cases"],
        ),
        (flt("date_modified", "lt", "2000-01-01"), []),
        (
            flt("runtime", "notEmpty") | {"orderBy": "isPublished", "orderByDir": "DESC"},
            ["Renewals", "Cases", "Acme onboarding"],
        ),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, three: Workspace, body: dict[str, Any], expected: list[str]
) -> None:
    answer = await client.post(f"{FX}/workflows", json=body, headers=key(three))
    assert _names(answer) == expected
    assert answer.json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (flt("trigger", "eq", "manual"), "trigger"),
        (flt("name", "resembles", "x"), "filters[0].value.operator"),
        (flt("isPublished", "like", "x"), "filters[0].value.operator"),
        (flt("category", "eq", "Group 1"), "filters[0].value.input"),
        (flt("isPublished", "eq", "yes"), "filters[0].value.input"),
        (flt("date_added", "gt", "yesterday"), "filters[0].value.input"),
        ({"filters": "name"}, "filters"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"start": -1}, "start"),
        ({"search": 5}, "search"),
        ({"orderBy": "steps"}, "steps"),
        ({"orderByDir": "sideways"}, "orderByDir"),
        ({"page": 2}, "page"),
    ],
)
async def test_bad_list_requests(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    fx_error(await client.post(f"{FX}/workflows", json=body, headers=key(ws)), 400, field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=-5", "limit"),
        ("start=x", "start"),
        ("orderBy=zzz", "zzz"),
        ("orderByDir=up", "orderByDir"),
    ],
)
async def test_bad_query(client: httpx.AsyncClient, ws: Workspace, query: str, field: str) -> None:
    fx_error(await client.get(f"{FX}/workflows?{query}", headers=key(ws)), 400, field)


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'"text"', b"null"], ids=["broken", "array", "string", "null"]
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_bodies_that_are_no_object(
    client: httpx.AsyncClient, ws: Workspace, body: bytes, method: str
) -> None:
    await native(client, ws, ACME)
    path = "/workflows" if method == "POST" else "/workflows/1"
    headers = {**key(ws), "content-type": "application/json"}
    fx_error(await client.request(method, f"{FX}{path}", content=body, headers=headers), 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nickname": "Onboarding"}, "nickname"),
        ({"id": 7}, "id"),
        ({"object": "contact"}, "object"),
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
        ({"name": " "}, "name"),
        ({"name": None}, "name"),
        ({"description": ["x"]}, "description"),
        ({"category": "12"}, "category"),
        ({"category": 0}, "category"),
        ({"category": 13}, "category"),
        ({"category": True}, "category"),
        ({"category": {"id": 1}}, "category"),
        ({"isPublished": "yes"}, "isPublished"),
        ({"isPublished": 1}, "isPublished"),
        ({"isPublished": None}, "isPublished"),
        ({"runtime": "sync"}, "runtime"),
        ({"runtime": "later"}, "runtime"),
        ({"runtime": None}, "runtime"),
        ({"trigger": {"type": "record.born"}}, "trigger.type"),
        ({"trigger": None}, "trigger"),
        ({"trigger": "manual"}, "trigger"),
        ({"steps": [{"type": "teleport"}]}, "steps[0].type"),
        ({"steps": [{"type": "set_fields", "fields": {"nope": 1}}]}, "steps[0].fields.nope"),
        ({"steps": None}, "steps"),
        ({"conditions": {"field": "nope", "op": "eq", "value": 1}}, "conditions.field"),
    ],
)
async def test_bad_values_name_the_attribute(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    await categories(client, ws, 12)
    await native(client, ws, ACME)
    before = (await client.get(f"{FX}/workflows/1", headers=key(ws))).json()
    fx_error(await client.put(f"{FX}/workflows/1", json=body, headers=key(ws)), 400, field)
    assert (await client.get(f"{FX}/workflows/1", headers=key(ws))).json() == before


async def test_a_change_clears_and_keeps(client: httpx.AsyncClient, ws: Workspace) -> None:
    await categories(client, ws, 1)
    await native(client, ws, ACME | {"category": 1, "conditions": {"field": "city", "op": "empty"}})
    same = await client.put(f"{FX}/workflows/1", json={}, headers=key(ws))
    assert same.status_code == 200, same.text
    shown = same.json()["workflow"]
    cleared = await client.put(
        f"{FX}/workflows/1",
        json={"description": None, "category": None, "conditions": None},
        headers=key(ws),
    )
    assert cleared.json()["workflow"] == shown | {
        "description": "",
        "category": None,
        "conditions": None,
        "date_modified": cleared.json()["workflow"]["date_modified"],
    }
    steps = [{"type": "create_note", "text": "Hello {{first_name}}"}]
    trigger = {"type": "record.updated", "fields": ["status"]}
    changed = await client.put(
        f"{FX}/workflows/1", json={"steps": steps, "trigger": trigger}, headers=key(ws)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["workflow"]["steps"], changed.json()["workflow"]["trigger"]) == (
        steps,
        trigger,
    )


@pytest.mark.parametrize("ref", ["0", "-1", "abc", "1.5", "99999999999999999999999", "9"])
async def test_ids_that_name_nothing(client: httpx.AsyncClient, ws: Workspace, ref: str) -> None:
    await native(client, ws, ACME)
    for answer in (
        await client.get(f"{FX}/workflows/{ref}", headers=key(ws)),
        await client.put(f"{FX}/workflows/{ref}", json=UPDATE, headers=key(ws)),
        await client.delete(f"{FX}/workflows/{ref}", headers=key(ws)),
    ):
        fx_error(answer, 404)


async def test_deleted_workflows_are_gone(client: httpx.AsyncClient, ws: Workspace) -> None:
    await native(client, ws, ACME)
    assert (await client.delete(f"{FX}/workflows/1", headers=key(ws))).status_code == 204
    for answer in (
        await client.get(f"{FX}/workflows/1", headers=key(ws)),
        await client.put(f"{FX}/workflows/1", json={"name": "Back"}, headers=key(ws)),
        await client.delete(f"{FX}/workflows/1", headers=key(ws)),
    ):
        fx_error(answer, 404)
    assert (await client.post(f"{FX}/workflows", json={}, headers=key(ws))).json()["total"] == 0


async def test_other_workspaces_stay_hidden(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await categories(client, other_ws, 2)
    await native(client, other_ws, ACME)
    await new(client, other_ws, "leads", {"first_name": "Theirs"})
    for answer in (
        await client.get(f"{FX}/workflows/1", headers=key(ws)),
        await client.put(f"{FX}/workflows/1", json={"name": "Mine"}, headers=key(ws)),
        await client.delete(f"{FX}/workflows/1", headers=key(ws)),
        await client.get(f"{FX}/leads/1/workflows", headers=key(ws)),
    ):
        fx_error(answer, 404)
    assert (await client.get(f"{FX}/workflows", headers=key(ws))).json() == {
        "total": 0,
        "workflows": [],
    }
    none = await client.get(f"{FX}/workflows/list/categories", headers=key(ws))
    assert none.json() == {"total": 0, "categories": []}
    await native(client, ws, ACME)
    borrowed = await client.put(f"{FX}/workflows/1", json={"category": 2}, headers=key(ws))
    fx_error(borrowed, 400, "category")
    theirs = await client.get(f"{FX}/workflows/1", headers=key(other_ws))
    assert theirs.json()["workflow"]["name"] == "Acme onboarding"


async def test_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    await native(client, ws, ACME)
    await new(client, ws, "leads", {"first_name": "Ann"})
    reader = {"apikey": await ws.add_key(scopes=["workflow:read", "workflow:list", "lead:read"])}
    assert (await client.get(f"{FX}/workflows", headers=reader)).status_code == 200
    assert (await client.post(f"{FX}/workflows", json={}, headers=reader)).status_code == 200
    assert (await client.get(f"{FX}/workflows/1", headers=reader)).status_code == 200
    assert (await client.get(f"{FX}/workflows/list/categories", headers=reader)).status_code == 200
    assert (await client.get(f"{FX}/leads/1/workflows", headers=reader)).status_code == 200
    fx_error(await client.put(f"{FX}/workflows/1", json=UPDATE, headers=reader), 403)
    fx_error(await client.delete(f"{FX}/workflows/1", headers=reader), 403)
    other = {"apikey": await ws.add_key(scopes=["lead:read", "lead:list"])}
    for answer in (
        await client.get(f"{FX}/workflows", headers=other),
        await client.post(f"{FX}/workflows", json={}, headers=other),
        await client.get(f"{FX}/workflows/1", headers=other),
        await client.get(f"{FX}/workflows/list/categories", headers=other),
        await client.put(f"{FX}/workflows/1", json={"name": "X"}, headers=other),
        await client.delete(f"{FX}/workflows/1", headers=other),
        await client.get(f"{FX}/leads/1/workflows", headers=other),
    ):
        fx_error(answer, 403)
    fx_error(await client.get(f"{FX}/workflows"), 401)
    fx_error(await client.get(f"{FX}/workflows", headers={"apikey": "ak_nope"}), 401)
    assert (await client.get(f"{FX}/workflows/1", headers=key(ws))).json()["workflow"][
        "name"
    ] == "Acme onboarding"


async def test_an_agent_may_not_manage_workflows(client: httpx.AsyncClient, ws: Workspace) -> None:
    await native(client, ws, ACME)
    agent = {"apikey": await ws.add_key(role="agent", email="agent@acme.test")}
    assert _names(await client.get(f"{FX}/workflows", headers=agent)) == ["Acme onboarding"]
    fx_error(await client.put(f"{FX}/workflows/1", json=UPDATE, headers=agent), 403)
    fx_error(await client.put(f"{FX}/workflows/1", json={}, headers=agent), 403)
    fx_error(await client.delete(f"{FX}/workflows/1", headers=agent), 403)
    assert (await client.get(f"{FX}/workflows/1", headers=key(ws))).status_code == 200


async def test_a_new_contact_runs_and_shows_its_workflows(
    client: httpx.AsyncClient, ws: Workspace, worker: AsyncEngine
) -> None:
    await native(
        client,
        ws,
        {
            "object": "contact",
            "name": "Welcome",
            "published": True,
            "trigger": {"type": "record.created"},
            "steps": [
                {"type": "set_fields", "fields": {"city": "Oslo"}},
                {"type": "wait", "for": {"days": 2}},
                {"type": "create_note", "text": "Still here, {{first_name}}?"},
            ],
        },
    )
    await new(client, ws, "contacts", {"first_name": "Jane"})
    await drain(worker)
    answer = await client.get(f"{FX}/contacts/1/workflows", headers=key(ws))
    assert answer.status_code == 200, answer.text
    (run,) = answer.json()["workflows"]
    assert answer.json()["total"] == 1
    assert run == {
        "id": 1,
        "name": "Welcome",
        "status": "waiting",
        "step": "2",
        "error": None,
        "date_started": run["date_started"],
        "date_finished": None,
    }
    assert run["date_started"].endswith("Z")
    contact = (await client.get(f"{FX}/contacts/1", headers=key(ws))).json()["contact"]
    assert contact["city"] == "Oslo"
    assert (await client.delete(f"{FX}/workflows/1", headers=key(ws))).status_code == 204
    after = (await client.get(f"{FX}/contacts/1/workflows", headers=key(ws))).json()
    assert after["workflows"][0]["status"] == "cancelled"
    assert after["workflows"][0]["date_finished"] is not None


@pytest.mark.parametrize("path", list(RECORDS))
async def test_each_record_type_shows_its_runs(
    client: httpx.AsyncClient, ws: Workspace, path: str
) -> None:
    obj, fields = RECORDS[path]
    if path.startswith("ce/"):
        await make_table(client, ws, obj)
    made = await new(client, ws, path, fields)
    await new(client, ws, path, fields)
    manual = {"object": obj, "published": True, "trigger": {"type": "manual"}}
    for name in ("First", "Second"):
        await native(client, ws, manual | {"name": name})
    record = (await client.get(f"/api/v1/objects/{obj}/records", headers=ws.auth)).json()
    first = next(r["id"] for r in record["data"] if r["number"] == made["id"])
    for number in (1, 2, 1):
        started = await client.post(
            f"{NATIVE}/{number}/runs", json={"record": first}, headers=ws.auth
        )
        assert started.status_code == 201, started.text
    answer = await client.get(f"{FX}/{path}/1/workflows", headers=key(ws))
    assert answer.status_code == 200, answer.text
    shown = answer.json()["workflows"]
    assert answer.json()["total"] == 3
    assert [(w["id"], w["name"], w["status"], w["step"]) for w in shown] == [
        (1, "First", "pending", "0"),
        (2, "Second", "pending", "0"),
        (1, "First", "pending", "0"),
    ]
    page = await client.get(f"{FX}/{path}/1/workflows?start=1&limit=1", headers=key(ws))
    assert ([w["name"] for w in page.json()["workflows"]], page.json()["total"]) == (["Second"], 3)
    nothing = await client.get(f"{FX}/{path}/2/workflows", headers=key(ws))
    assert nothing.json() == {"total": 0, "workflows": []}
    fx_error(await client.get(f"{FX}/{path}/3/workflows", headers=key(ws)), 404)
    fx_error(await client.get(f"{FX}/{path}/1/workflows?limit=0", headers=key(ws)), 400, "limit")
    fx_error(await client.get(f"{FX}/{path}/1/workflows?start=-1", headers=key(ws)), 400, "start")


async def test_record_runs_follow_the_records_visibility(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await new(client, ws, "leads", {"first_name": "The owner's"})
    agent = {"apikey": await ws.add_key(role="agent", email="agent@acme.test")}
    mine = await client.post(f"{FX}/leads/new", json={"first_name": "Mine"}, headers=agent)
    assert mine.status_code == 201
    fx_error(await client.get(f"{FX}/leads/1/workflows", headers=agent), 404)
    answer = await client.get(f"{FX}/leads/2/workflows", headers=agent)
    assert answer.json() == {"total": 0, "workflows": []}
    fx_error(await client.get(f"{FX}/ce/renewal/1/workflows", headers=key(ws)), 404)
    fx_error(await client.get(f"{FX}/ce/contact/1/workflows", headers=key(ws)), 404)
    fx_error(await client.get(f"{FX}/tasks/1/workflows", headers=key(ws)), 404)
