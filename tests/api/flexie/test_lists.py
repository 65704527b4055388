"""Static lists of each record type: filter them, add and remove records, a record's lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import FX, fx_error, key, make_table, new
from tests.conftest import Workspace


async def make_list(client: httpx.AsyncClient, ws: Workspace, name: str, obj: str) -> Any:
    made = await client.post("/api/v1/lists", json={"name": name, "object": obj}, headers=ws.auth)
    assert made.status_code == 201, made.text
    return made.json()


@pytest.fixture
async def vip(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    """Contacts 1 and 2, contact lists 1 (VIP) and 2 (Webinar), lead list 3 (Leads)."""
    await new(client, ws, "contacts", {"first_name": "Ann"})
    await new(client, ws, "contacts", {"first_name": "Bob"})
    await make_list(client, ws, "VIP", "contact")
    await make_list(client, ws, "Webinar", "contact")
    await make_list(client, ws, "Leads", "lead")
    return ws


async def test_add_list_and_remove(client: httpx.AsyncClient, vip: Workspace) -> None:
    added = await client.post(f"{FX}/contact/lists/1/add/2", headers=key(vip))
    assert added.status_code == 200, added.text
    assert added.json()["success"] is True
    assert added.json()["list"]["memberCount"] == 1
    again = await client.post(f"{FX}/contact/lists/1/add/2", headers=key(vip))
    assert again.json()["list"]["memberCount"] == 1
    on = await client.get(f"{FX}/contacts/2/lists", headers=key(vip))
    assert [(lst["id"], lst["name"]) for lst in on.json()["lists"]] == [(1, "VIP")]
    assert (await client.get(f"{FX}/contacts/1/lists", headers=key(vip))).json()["total"] == 0
    timeline = await client.get("/api/v1/events", headers=vip.auth)
    added_events = [e for e in timeline.json()["data"] if e["type"] == "list.added"]
    assert len(added_events) == 1
    removed = await client.post(f"{FX}/contact/lists/1/remove/2", headers=key(vip))
    assert removed.json()["list"]["memberCount"] == 0
    twice = await client.post(f"{FX}/contact/lists/1/remove/2", headers=key(vip))
    assert twice.status_code == 200


async def test_filter_and_list_lists(client: httpx.AsyncClient, vip: Workspace) -> None:
    every = await client.get(f"{FX}/contacts/list/lists", headers=key(vip))
    assert [lst["name"] for lst in every.json()["lists"]] == ["VIP", "Webinar"]
    found = await client.get(f"{FX}/contact/lists?search=web", headers=key(vip))
    assert found.json()["total"] == 1
    assert found.json()["lists"][0]["id"] == 2
    leads = await client.get(f"{FX}/lead/lists", headers=key(vip))
    assert [lst["id"] for lst in leads.json()["lists"]] == [3]
    paged = await client.get(f"{FX}/contact/lists?limit=1&start=1", headers=key(vip))
    assert [lst["name"] for lst in paged.json()["lists"]] == ["Webinar"]
    assert paged.json()["total"] == 2
    fx_error(await client.get(f"{FX}/contact/lists?limit=0", headers=key(vip)), 400, "limit")


async def test_members_filter_as_in_list(client: httpx.AsyncClient, vip: Workspace) -> None:
    await client.post(f"{FX}/contact/lists/2/add/1", headers=key(vip))
    native = await client.post(
        "/api/v1/objects/contact/records/search",
        json={"filter": {"field": "lists", "op": "in", "value": ["2"]}},
        headers=vip.auth,
    )
    assert [r["fields"]["first_name"] for r in native.json()["data"]] == ["Ann"]


@pytest.mark.parametrize(
    "path",
    [
        "contact/lists/3/add/1",  # a lead list
        "contact/lists/9/add/1",  # no such list
        "contact/lists/1/add/9",  # no such contact
        "lead/lists/3/add/1",  # no lead 1
        "contact/lists/x/add/1",
        "contact/lists/1/remove/0",
    ],
)
async def test_lists_and_records_that_do_not_fit(
    client: httpx.AsyncClient, vip: Workspace, path: str
) -> None:
    fx_error(await client.post(f"{FX}/{path}", headers=key(vip)), 404)


async def test_other_workspace(
    client: httpx.AsyncClient, vip: Workspace, other_ws: Workspace
) -> None:
    fx_error(await client.post(f"{FX}/contact/lists/1/add/1", headers=key(other_ws)), 404)
    theirs = await client.get(f"{FX}/contact/lists", headers=key(other_ws))
    assert theirs.json() == {"total": 0, "lists": []}


async def test_scope_and_reach(client: httpx.AsyncClient, vip: Workspace) -> None:
    reader = await vip.add_key(scopes=["read:crm"])
    fx_error(await client.post(f"{FX}/contact/lists/1/add/1", headers={"apikey": reader}), 403)
    assert (await client.get(f"{FX}/contact/lists", headers={"apikey": reader})).status_code == 200
    agent = await vip.add_key(role="agent", email="agent@acme.test")
    fx_error(await client.post(f"{FX}/contact/lists/1/add/1", headers={"apikey": agent}), 404)


async def test_custom_entity_lists(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_table(client, ws, "renewal")
    await new(client, ws, "ce/renewal", {"name": "R"})
    await make_list(client, ws, "Due", "renewal")
    added = await client.post(f"{FX}/ce/renewal/lists/1/add/1", headers=key(ws))
    assert added.json()["list"]["memberCount"] == 1
    on = await client.get(f"{FX}/ce/renewal/1/lists", headers=key(ws))
    assert on.json()["lists"][0]["name"] == "Due"
    listed = await client.get(f"{FX}/ce/renewal/lists", headers=key(ws))
    assert listed.json()["total"] == 1
    every = await client.get(f"{FX}/ce/renewal/list/lists", headers=key(ws))
    assert every.json()["total"] == 1
    fx_error(await client.get(f"{FX}/ce/nothing/lists", headers=key(ws)), 404)
