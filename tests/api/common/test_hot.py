"""Hot routes answer exactly as the full path does, and only when they may."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.db.engine import transaction
from crm.db.schema import api_keys, users
from tests.api.leadflip.conftest import make_entity
from tests.conftest import Workspace, bearer, suite_settings

CONTACTS = "/api/v1/objects/contact/records"


@pytest.fixture
async def slow(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same server with its hot routes off: every request the full way."""
    app = create_app(replace(suite_settings(database_url), hot_paths=False), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement the engine's connections run while the test does."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine.sync_engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(engine.sync_engine, "before_cursor_execute", note)


async def _same(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> httpx.Response:
    hot_answer = await client.get(path, headers=headers)
    slow_answer = await slow.get(path, headers=headers)
    assert (hot_answer.status_code, hot_answer.content) == (
        slow_answer.status_code,
        slow_answer.content,
    )
    assert hot_answer.headers["content-type"] == slow_answer.headers["content-type"]
    return hot_answer


async def _contact(client: httpx.AsyncClient, ws: Workspace, **fields: Any) -> dict[str, Any]:
    made = await client.post(CONTACTS, json={"fields": fields}, headers=ws.auth)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_a_record_read_hot_is_the_record_read_in_full(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace, statements: list[str]
) -> None:
    made = await _contact(
        client, ws, first_name="Ana", email="ana@example.com", phone="+14155550100"
    )
    await client.get(f"{CONTACTS}/{made['id']}", headers=ws.auth)
    statements.clear()
    answer = await _same(client, slow, f"{CONTACTS}/{made['id']}", ws.auth)
    assert answer.json() == made
    by_id = await client.get(f"{CONTACTS}/{made['id']}", headers=ws.auth)
    assert by_id.json()["fields"]["email"] == "ana@example.com"


async def _served_hot(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], statements: list[str]
) -> None:
    """The request, asked twice (the first may fill the caches), is answered by its hot
    route the second time: not one statement through the engine."""
    await client.get(path, headers=headers)
    statements.clear()
    answer = await client.get(path, headers=headers)
    assert answer.status_code == 200
    assert statements == []


async def test_the_hot_routes_run_no_statement_through_the_engine(
    client: httpx.AsyncClient, engine: AsyncEngine, ws: Workspace, statements: list[str]
) -> None:
    made = await _contact(client, ws, first_name="Bo", phone="+48601234567")
    await _served_hot(client, f"{CONTACTS}/{made['id']}", ws.auth, statements)
    await _served_hot(client, f"{CONTACTS}?limit=10", ws.auth, statements)
    await _served_hot(client, CONTACTS, ws.auth, statements)
    listed = await client.get("/flownally/v1/contacts", headers=ws.auth)
    contact = listed.json()["contacts"][0]["id"]
    await _served_hot(client, f"/flownally/v1/contacts/{contact}", ws.auth, statements)
    await _served_hot(client, f"/leadflip/api/leads/{made['id']}", ws.auth, statements)


async def test_errors_are_the_full_paths_errors(
    client: httpx.AsyncClient,
    slow: httpx.AsyncClient,
    engine: AsyncEngine,
    ws: Workspace,
    other_ws: Workspace,
) -> None:
    mine = await _contact(client, ws, first_name="Cy")
    theirs = await _contact(client, other_ws, first_name="Di")
    await client.get(f"{CONTACTS}/{mine['id']}", headers=ws.auth)
    for path in (
        f"{CONTACTS}/{theirs['id']}",
        f"{CONTACTS}/00000000-0000-7000-8000-000000000000",
        f"{CONTACTS}/not-an-id",
        f"{CONTACTS}/99999999",
        f"/api/v1/objects/nothing/records/{mine['id']}",
        f"/api/v1/objects/company/records/{mine['id']}",
    ):
        answer = await _same(client, slow, path, ws.auth)
        assert answer.status_code == 404, path
    for headers in ({}, bearer("ak_unknown"), {"Authorization": "Basic x"}):
        answer = await _same(client, slow, f"{CONTACTS}/{mine['id']}", headers)
        assert answer.status_code == 401
    narrow = bearer(await ws.add_key(scopes=["company:read"]))
    assert (await _same(client, slow, f"{CONTACTS}/{mine['id']}", narrow)).status_code == 403
    deleted = await _contact(client, ws, first_name="Ed")
    await client.delete(f"{CONTACTS}/{deleted['id']}", headers=ws.auth)
    assert (await _same(client, slow, f"{CONTACTS}/{deleted['id']}", ws.auth)).status_code == 404


async def test_an_agent_sees_only_what_the_full_path_lets_it_see(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    others = await _contact(client, ws, first_name="Fay")
    await client.get(f"{CONTACTS}/{others['id']}", headers=agent)
    assert (await _same(client, slow, f"{CONTACTS}/{others['id']}", agent)).status_code == 404
    own = (
        await client.post(CONTACTS, json={"fields": {"first_name": "Gil"}}, headers=agent)
    ).json()
    assert (await _same(client, slow, f"{CONTACTS}/{own['id']}", agent)).status_code == 200


async def test_a_change_of_key_user_or_metadata_counts_at_once(
    client: httpx.AsyncClient, engine: AsyncEngine, ws: Workspace
) -> None:
    key = await ws.add_key(email="hal@x.io", role="admin")
    made = await _contact(client, ws, first_name="Hal")
    path = f"{CONTACTS}/{made['id']}"
    assert (await client.get(path, headers=bearer(key))).status_code == 200
    field = {"key": "shoe_size", "label": "Shoe size", "type": "number"}
    assert (
        await client.post("/api/v1/objects/contact/fields", json=field, headers=ws.auth)
    ).status_code == 201
    assert "shoe_size" in (await client.get(path, headers=bearer(key))).json()["fields"]
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.update(users).where(users.c.email == "hal@x.io").values(active=False))
    assert (await client.get(path, headers=bearer(key))).status_code == 401
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.workspace_id == ws.id)
            .values(revoked_at=sa.func.now())
        )
    assert (await client.get(path, headers=ws.auth)).status_code == 401


async def test_archived_records_read_and_list_as_on_the_full_path(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await _contact(client, ws, first_name="Ida")
    kept = await _contact(client, ws, first_name="Jo")
    archived = await client.post(f"{CONTACTS}/{made['id']}/archive", headers=ws.auth)
    assert archived.status_code == 200, archived.text
    assert (await _same(client, slow, f"{CONTACTS}/{made['id']}", ws.auth)).json()["archived_at"]
    listed = await _same(client, slow, CONTACTS, ws.auth)
    assert [r["id"] for r in listed.json()["data"]] == [kept["id"]]


async def test_a_first_page_hot_is_the_first_page_in_full(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    assert (await _same(client, slow, CONTACTS, ws.auth)).json() == {
        "data": [],
        "next_cursor": None,
    }
    made = [await _contact(client, ws, first_name=f"N{i}") for i in range(5)]
    await _contact(client, other_ws, first_name="Elsewhere")
    first = await _same(client, slow, f"{CONTACTS}?limit=2", ws.auth)
    assert [r["id"] for r in first.json()["data"]] == [made[4]["id"], made[3]["id"]]
    cursor = first.json()["next_cursor"]
    after = await client.get(CONTACTS, params={"limit": 2, "cursor": cursor}, headers=ws.auth)
    assert [r["id"] for r in after.json()["data"]] == [made[2]["id"], made[1]["id"]]
    everything = await _same(client, slow, CONTACTS, ws.auth)
    assert len(everything.json()["data"]) == 5
    assert everything.json()["next_cursor"] is None
    for query in ("limit=0", "limit=501", "limit=x", "limit=", "limit=5&q=N", "sort=-id"):
        await _same(client, slow, f"{CONTACTS}?{query}", ws.auth)
    agent = bearer(await ws.add_key(role="agent", email="lister@x.io"))
    assert (await _same(client, slow, CONTACTS, agent)).json()["data"] == []


async def test_a_flownally_contact_read_hot_is_the_contact_read_in_full(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace, statements: list[str]
) -> None:
    made = await client.post(
        "/flownally/v1/contacts",
        json={"name": "Kim Lee", "phone": "+48601234567"},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    contact = made.json()
    tag = await client.post("/flownally/v1/tags", json={"name": "vip"}, headers=ws.auth)
    tagged = await client.post(
        f"/flownally/v1/contacts/{contact['id']}/tags/{tag.json()['id']}", headers=ws.auth
    )
    assert tagged.status_code == 204
    path = f"/flownally/v1/contacts/{contact['id']}"
    await client.get(path, headers=ws.auth)
    statements.clear()
    answer = await _same(client, slow, path, ws.auth)
    assert answer.json()["tagIds"] == [tag.json()["id"]]
    assert [i["metadata"] for i in answer.json()["identities"]] == [{"phoneNumber": "+48601234567"}]
    for ref in ("con_nothing", "nonsense", contact["id"][:-2]):
        assert (
            await _same(client, slow, f"/flownally/v1/contacts/{ref}", ws.auth)
        ).status_code in (
            400,
            404,
        )


async def test_a_leadflip_lead_read_hot_is_the_lead_read_in_full(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await make_entity(client, ws, stages=["New", "Won"])
    taken = await client.post(
        "/leadflip/api/intake",
        json={"entity": "solar_lead", "lead_name": "Lou Ray", "status:stage": "New"},
        headers=ws.auth,
    )
    assert taken.status_code == 200, taken.text
    lead_id = taken.json()["lead_id"]
    path = f"/leadflip/api/leads/{lead_id}"
    await client.get(path, headers=ws.auth)
    answer = await _same(client, slow, path, ws.auth)
    assert [e["type"] for e in answer.json()["events"]] == [
        "lead_status_event",
        "lead_created_event",
    ]
    assert (await _same(client, slow, path, other_ws.auth)).status_code == 404
    assert (await _same(client, slow, "/leadflip/api/leads/nope", ws.auth)).status_code == 404
    no_events = bearer(await ws.add_key(scopes=["lead:read"]))
    await _same(client, slow, path, no_events)


async def test_flexie_records_read_hot_as_in_full(
    client: httpx.AsyncClient, slow: httpx.AsyncClient, ws: Workspace, statements: list[str]
) -> None:
    flexie = {"apikey": ws.key}
    made = await client.post(
        "/flexie/api/accounts/new", json={"name": "Acme", "employees": 5}, headers=flexie
    )
    assert made.status_code == 201
    answer = await _same(client, slow, "/flexie/api/accounts/1", flexie)
    assert answer.json() == {"account": made.json()["account"]}
    await _served_hot(client, "/flexie/api/accounts/1", flexie, statements)
    for path in ("/flexie/api/accounts/2", "/flexie/api/contacts/1", "/flexie/api/accounts/x"):
        await _same(client, slow, path, flexie)
    await client.post("/flexie/api/deals/new", json={"name": "D", "company": 1}, headers=flexie)
    deal = await _same(client, slow, "/flexie/api/deals/1", flexie)
    assert deal.json()["deal"]["company"] == 1
