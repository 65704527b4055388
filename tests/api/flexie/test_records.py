"""Contacts, leads, accounts, deals and cases: create, read, update, update by an
identifying field, delete, and the document's own examples sent as they are written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import FX, add_users, fx_error, key, new
from tests.conftest import Workspace

CONTACT = {
    "title": "Ms.",
    "first_name": "David",
    "last_name": "Okafor",
    "email": "david.okafor@example.com",
    "phone": "+442071838750",
    "company": "Bluewave Logistics",
    "city": "London",
    "country": "United Kingdom",
    "status": "New",
    "source": "Meeting",
}
CONTACT_UPDATE = {
    "email": "david.okafor@example.com",
    "company": "Bluewave Logistics Ltd",
    "city": "Manchester",
    "status": "Nurture",
    "source": "Referral",
}
LEAD = {
    "title": "Mr.",
    "first_name": "Maria",
    "last_name": "Hernandez",
    "email": "maria.hernandez@example.com",
    "phone": "+15125550148",
    "company": "Northwind Trading",
    "city": "Austin",
    "state": "TX",
    "country": "United States",
    "status": "New",
    "source": "Website",
}
LEAD_UPDATE = {
    "email": "maria.hernandez@example.com",
    "company": "Northwind Trading LLC",
    "city": "Dallas",
    "status": "Qualify",
    "source": "Referral",
}
ACCOUNT = {
    "name": "Northwind Trading LLC",
    "status": "New",
    "email": "info@northwindtrading.com",
    "website": "https://www.northwindtrading.com",
    "phone": "+15125550100",
    "industry": "Retail",
    "annual_revenue": 4500000,
    "vat_number": "GB123456789",
    "employees": 120,
    "billing_city": "Austin",
    "billing_country": "United States",
}
ACCOUNT_UPDATE = {
    "name": "Northwind Trading LLC",
    "status": "Qualify",
    "annual_revenue": 5200000,
    "employees": 145,
}
DEAL = {
    "name": "Enterprise license renewal",
    "amount": 12500,
    "close_date": "2026-09-30",
    "pipeline_id": 1,
    "stage_id": 2,
    "owner_id": 3,
}
DEAL_UPDATE = {
    "name": "Enterprise license renewal",
    "amount": 15000,
    "close_date": "2026-10-15",
    "stage_id": 3,
}
CASE = {
    "title": "Login page returns 500 error",
    "source": "Email",
    "category": "Bug",
    "priority": "High",
    "public_status": "New Opened",
    "internalStatus": "open",
    "owner_id": 3,
}
CASE_UPDATE = {
    "title": "Login page returns 500 error",
    "priority": "Medium",
    "public_status": "In Process",
    "internalStatus": "open",
}
#: Each group's path, its examples (create, update), and what the update must show.
EXAMPLES = {
    "contacts": (CONTACT, CONTACT_UPDATE, {"city": "Manchester", "status": "Nurture"}),
    "leads": (LEAD, LEAD_UPDATE, {"city": "Dallas", "status": "Qualify"}),
    "accounts": (ACCOUNT, ACCOUNT_UPDATE, {"employees": 145, "status": "Qualify"}),
    "deals": (DEAL, DEAL_UPDATE, {"amount": 15000, "stage_id": 3, "stage": "Negotiation"}),
    "cases": (CASE, CASE_UPDATE, {"priority": "Medium", "public_status": "In Process"}),
}
ENVELOPES = {"contacts": "contact", "leads": "lead", "accounts": "account", "deals": "deal"}


@pytest.fixture
async def staffed(ws: Workspace) -> Workspace:
    """A workspace with users 1 (its owner), 2 and 3, as the examples' ``owner_id`` expects."""
    await add_users(ws, 2)
    return ws


@pytest.mark.parametrize("path", sorted(EXAMPLES))
async def test_document_examples(client: httpx.AsyncClient, staffed: Workspace, path: str) -> None:
    created_body, update_body, changed = EXAMPLES[path]
    created = await new(client, staffed, path, created_body)
    assert created["id"] == 1
    for name, value in created_body.items():
        if name != "phone":
            assert str(created[name]).casefold() == str(value).casefold(), name
    assert created["date_added"].endswith("Z")
    one = ENVELOPES.get(path, "case")
    got = await client.get(f"{FX}/{path}/1", headers=key(staffed))
    assert got.status_code == 200
    assert got.json()[one] == created
    put = await client.put(f"{FX}/{path}/1", json=update_body, headers=key(staffed))
    assert put.status_code == 200, put.text
    assert {k: put.json()[one][k] for k in changed} == changed
    edit = await client.put(f"{FX}/{path}/edit", json=update_body, headers=key(staffed))
    assert edit.status_code == 200, edit.text
    assert edit.json()[one]["id"] == 1


async def test_quickstart_create(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await new(
        client, ws, "contacts", {"firstname": "Jane", "lastname": "Doe", "email": "jane@acme.com"}
    )
    assert (made["first_name"], made["last_name"], made["email"]) == (
        "Jane",
        "Doe",
        "jane@acme.com",
    )
    assert made["owner_id"] == 1


async def test_numbers_are_per_workspace_and_type(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await new(client, other_ws, "contacts", {"first_name": "Busy"})
    await new(client, other_ws, "contacts", {"first_name": "Busier"})
    assert (await new(client, ws, "contacts", {"first_name": "A"}))["id"] == 1
    assert (await new(client, ws, "leads", {"first_name": "B"}))["id"] == 1
    assert (await new(client, ws, "contacts", {"first_name": "C"}))["id"] == 2
    theirs = await client.get(f"{FX}/contacts/3", headers=key(other_ws))
    fx_error(theirs, 404)


async def test_the_key_in_the_query_or_as_bearer(client: httpx.AsyncClient, ws: Workspace) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    assert (await client.get(f"{FX}/contacts/1?apikey={ws.key}")).status_code == 200
    assert (await client.get(f"{FX}/contacts/1", headers=ws.auth)).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"apikey": "ak_nope"}])
async def test_no_key(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    fx_error(await client.get(f"{FX}/contacts", headers=headers), 401)


async def test_delete(client: httpx.AsyncClient, ws: Workspace) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    gone = await client.delete(f"{FX}/contacts/1", headers=key(ws))
    assert gone.status_code == 204
    assert gone.content == b""
    fx_error(await client.get(f"{FX}/contacts/1", headers=key(ws)), 404)
    fx_error(await client.delete(f"{FX}/contacts/1", headers=key(ws)), 404)


@pytest.mark.parametrize("ref", ["0", "-1", "abc", "99999999999999999999999", "1.5"])
async def test_ids_that_name_nothing(client: httpx.AsyncClient, ws: Workspace, ref: str) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    fx_error(await client.get(f"{FX}/contacts/{ref}", headers=key(ws)), 404)
    fx_error(await client.put(f"{FX}/contacts/{ref}", json={}, headers=key(ws)), 404)


async def test_another_types_number_is_not_found(client: httpx.AsyncClient, ws: Workspace) -> None:
    await new(client, ws, "leads", {"first_name": "L"})
    fx_error(await client.get(f"{FX}/contacts/1", headers=key(ws)), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nickname": "Dave"}, "nickname"),
        ({"email": "not an email"}, "email"),
        ({"status": "Sleeping"}, "status"),
        ({"owner_id": 99}, "owner_id"),
        ({"owner_id": "1"}, "owner_id"),
        ({"first_name": ["a"]}, "first_name"),
        ({"first_name": 7}, "first_name"),
        ({"email": False}, "email"),
        ({"status": 1}, "status"),
    ],
)
async def test_bad_values_name_the_field(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(f"{FX}/contacts/new", json=body, headers=key(ws))
    fx_error(answer, 400, field)
    listed = await client.get(f"{FX}/contacts", headers=key(ws))
    assert listed.json()["total"] == 0


async def test_required_field_uses_the_alias(client: httpx.AsyncClient, ws: Workspace) -> None:
    fx_error(await client.post(f"{FX}/accounts/new", json={}, headers=key(ws)), 400, "name")
    made = await new(client, ws, "cases", {"title": "T"})
    assert made["identifier"] == "REF-1001"
    bad = await client.put(f"{FX}/cases/1", json={"internalStatus": "Nope"}, headers=key(ws))
    fx_error(bad, 400, "internalStatus")


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'"text"', b"null"], ids=["broken", "array", "string", "null"]
)
async def test_bodies_that_are_no_object(
    client: httpx.AsyncClient, ws: Workspace, body: bytes
) -> None:
    headers = {**key(ws), "content-type": "application/json"}
    fx_error(await client.post(f"{FX}/contacts/new", content=body, headers=headers), 400)


async def test_body_of_another_media_type(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{FX}/contacts/new",
        content=b"first_name=A",
        headers={**key(ws), "content-type": "text/plain"},
    )
    fx_error(answer, 400)


async def test_unique_value_taken_is_a_400(client: httpx.AsyncClient, ws: Workspace) -> None:
    await new(client, ws, "cases", {"title": "A"})
    await new(client, ws, "cases", {"title": "B"})
    answer = await client.put(f"{FX}/cases/2", json={"identifier": "REF-1001"}, headers=key(ws))
    fx_error(answer, 400, "identifier")


async def test_relations_by_number(client: httpx.AsyncClient, ws: Workspace) -> None:
    await new(client, ws, "accounts", {"name": "Zeta"})
    await new(client, ws, "accounts", {"name": "Acme"})
    await new(client, ws, "contacts", {"first_name": "C"})
    deal = await new(client, ws, "deals", {"name": "D", "company": 2, "contact": 1})
    assert (deal["company"], deal["contact"]) == (2, 1)
    bad = await client.post(f"{FX}/deals/new", json={"name": "E", "company": 9}, headers=key(ws))
    fx_error(bad, 400, "company")


async def test_stages(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await new(client, ws, "deals", {"name": "D"})
    assert (made["pipeline_id"], made["stage_id"], made["stage"]) == (1, 1, "Qualification")
    for body, field in (
        ({"stage_id": 9}, "stage_id"),
        ({"pipeline_id": 2, "stage_id": 1}, "pipeline_id"),
    ):
        fx_error(await client.put(f"{FX}/deals/1", json=body, headers=key(ws)), 400, field)
    fx_error(await client.put(f"{FX}/contacts/edit", json={"stage_id": 1}, headers=key(ws)), 400)


class TestEditByIdentifyingField:
    async def test_email_finds_the_contact(self, client: httpx.AsyncClient, ws: Workspace) -> None:
        await new(client, ws, "contacts", {"first_name": "A", "email": "a@acme.test"})
        await new(client, ws, "contacts", {"first_name": "B", "email": "b@acme.test"})
        answer = await client.put(
            f"{FX}/contacts/edit", json={"email": "B@acme.test", "city": "Oslo"}, headers=key(ws)
        )
        assert answer.status_code == 200
        assert (answer.json()["contact"]["id"], answer.json()["contact"]["city"]) == (2, "Oslo")

    async def test_nothing_matches(self, client: httpx.AsyncClient, ws: Workspace) -> None:
        answer = await client.put(
            f"{FX}/contacts/edit", json={"email": "x@acme.test", "city": "Oslo"}, headers=key(ws)
        )
        fx_error(answer, 404)
        assert (await client.get(f"{FX}/contacts", headers=key(ws))).json()["total"] == 0

    async def test_several_match(self, client: httpx.AsyncClient, ws: Workspace) -> None:
        for name in ("A", "B"):
            await new(client, ws, "contacts", {"first_name": name, "email": "same@acme.test"})
        answer = await client.put(
            f"{FX}/contacts/edit", json={"email": "same@acme.test", "city": "Oslo"}, headers=key(ws)
        )
        fx_error(answer, 400, "email")

    async def test_nothing_identifies(self, client: httpx.AsyncClient, ws: Workspace) -> None:
        answer = await client.put(f"{FX}/contacts/edit", json={"city": "Oslo"}, headers=key(ws))
        fx_error(answer, 400, "body")


async def test_other_workspace_records_stay_hidden(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await new(client, other_ws, "contacts", {"first_name": "Theirs", "email": "t@globex.test"})
    for answer in (
        await client.get(f"{FX}/contacts/1", headers=key(ws)),
        await client.put(f"{FX}/contacts/1", json={"city": "X"}, headers=key(ws)),
        await client.delete(f"{FX}/contacts/1", headers=key(ws)),
        await client.put(f"{FX}/contacts/edit", json={"email": "t@globex.test"}, headers=key(ws)),
    ):
        fx_error(answer, 404)


async def test_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    reader = await ws.add_key(scopes=["contact:read", "contact:list"])
    await new(client, ws, "contacts", {"first_name": "A"})
    assert (await client.get(f"{FX}/contacts/1", headers={"apikey": reader})).status_code == 200
    denied = await client.post(
        f"{FX}/contacts/new", json={"first_name": "B"}, headers={"apikey": reader}
    )
    fx_error(denied, 403)
    fx_error(await client.get(f"{FX}/leads", headers={"apikey": reader}), 403)


async def test_agent_sees_only_own(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = await ws.add_key(role="agent", email="agent@acme.test")
    await new(client, ws, "contacts", {"first_name": "Owners"})
    mine = await client.post(
        f"{FX}/contacts/new", json={"first_name": "Mine"}, headers={"apikey": agent}
    )
    assert mine.status_code == 201
    fx_error(await client.get(f"{FX}/contacts/1", headers={"apikey": agent}), 404)
    listed = await client.get(f"{FX}/contacts", headers={"apikey": agent})
    assert [c["first_name"] for c in listed.json()["contacts"]] == ["Mine"]
    assert listed.json()["total"] == 1


async def test_fields_and_their_categories(client: httpx.AsyncClient, ws: Workspace) -> None:
    fields = await client.get(f"{FX}/contacts/list/fields", headers=key(ws))
    assert fields.status_code == 200
    shown = {f["alias"]: f for f in fields.json()["fields"]}
    assert fields.json()["total"] == len(shown)
    assert shown["email"]["type"] == "email"
    assert shown["email"]["category"] == "contact"
    assert "Nurture" in [c["value"] for c in shown["status"]["properties"]["choices"]]
    cases = await client.get(f"{FX}/cases/list/fields", headers=key(ws))
    assert "internalStatus" in [f["alias"] for f in cases.json()["fields"]]
    categories = await client.get(f"{FX}/contacts/list/fields/categories", headers=key(ws))
    assert [c["alias"] for c in categories.json()["categories"]][:3] == [
        "general",
        "contact",
        "address",
    ]
    made = await client.post(
        "/api/v1/objects/contact/field-categories",
        json={"key": "social", "label": "Social"},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    again = await client.get(f"{FX}/contacts/list/fields/categories", headers=key(ws))
    assert again.json()["categories"][-1] == {"alias": "social", "label": "Social", "order": 4}
