"""Many-to-many relations with attributes: a contact's memberships in companies."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Workspace, bearer

API = "/api/v1"


async def _record(
    client: httpx.AsyncClient, ws: Workspace, obj: str, fields: dict[str, Any]
) -> str:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _memberships(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={
            "key": "companies",
            "label": "Companies",
            "type": "relation",
            "options": {"object": "company", "multiple": True},
        },
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text


async def test_link_with_attributes_both_ways(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _memberships(client, ws)
    ada = await _record(client, ws, "contact", {"first_name": "Ada"})
    acme = await _record(client, ws, "company", {"name": "Acme"})
    url = f"{API}/objects/contact/records/{ada}/links/companies/{acme}"

    made = await client.put(url, json={"attributes": {"title": "CTO"}}, headers=ws.auth)
    assert made.status_code == 201
    assert made.json()["record"]["id"] == acme
    assert made.json()["attributes"] == {"title": "CTO"}

    changed = await client.put(url, json={"attributes": {"title": "CEO"}}, headers=ws.auth)
    assert changed.status_code == 200
    assert changed.json()["attributes"] == {"title": "CEO"}

    forward = await client.get(
        f"{API}/objects/contact/records/{ada}/links/companies", headers=ws.auth
    )
    assert [(x["record"]["display_name"], x["attributes"]) for x in forward.json()["data"]] == [
        ("Acme", {"title": "CEO"})
    ]
    reverse = await client.get(
        f"{API}/objects/company/records/{acme}/linked-from/contact/companies", headers=ws.auth
    )
    assert [x["record"]["id"] for x in reverse.json()["data"]] == [ada]

    contact = await client.get(f"{API}/objects/contact/records/{ada}", headers=ws.auth)
    assert "companies" not in contact.json()["fields"]

    assert (await client.delete(url, headers=ws.auth)).status_code == 204
    assert (await client.delete(url, headers=ws.auth)).status_code == 404
    after = await client.get(
        f"{API}/objects/contact/records/{ada}/links/companies", headers=ws.auth
    )
    assert after.json()["data"] == []


async def test_links_are_events(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _memberships(client, ws)
    ada = await _record(client, ws, "contact", {"first_name": "Ada"})
    acme = await _record(client, ws, "company", {"name": "Acme"})
    await client.put(
        f"{API}/objects/contact/records/{ada}/links/companies/{acme}",
        json={"attributes": {"title": "CTO"}},
        headers=ws.auth,
    )
    timeline = await client.get(f"{API}/objects/contact/records/{ada}/timeline", headers=ws.auth)
    newest = timeline.json()["data"][0]
    assert newest["type"] == "link.added"
    assert newest["data"]["target"] == acme
    assert newest["data"]["attributes"] == {"title": "CTO"}


async def test_deleted_target_is_hidden_until_restored(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await _memberships(client, ws)
    ada = await _record(client, ws, "contact", {"first_name": "Ada"})
    acme = await _record(client, ws, "company", {"name": "Acme"})
    links = f"{API}/objects/contact/records/{ada}/links/companies"
    await client.put(f"{links}/{acme}", json={}, headers=ws.auth)
    await client.delete(f"{API}/objects/company/records/{acme}", headers=ws.auth)
    assert (await client.get(links, headers=ws.auth)).json()["data"] == []
    await client.post(f"{API}/objects/company/records/{acme}/restore", headers=ws.auth)
    assert len((await client.get(links, headers=ws.auth)).json()["data"]) == 1


async def test_bad_links(client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace) -> None:
    await _memberships(client, ws)
    ada = await _record(client, ws, "contact", {"first_name": "Ada"})
    acme = await _record(client, ws, "company", {"name": "Acme"})
    deal = await _record(client, ws, "deal", {"name": "Big"})
    theirs = await _record(client, other_ws, "company", {"name": "Theirs"})
    base = f"{API}/objects/contact/records/{ada}/links"

    wrong_object = await client.put(f"{base}/companies/{deal}", json={}, headers=ws.auth)
    assert wrong_object.status_code == 404
    other_workspace = await client.put(f"{base}/companies/{theirs}", json={}, headers=ws.auth)
    assert other_workspace.status_code == 404
    not_a_link_field = await client.put(f"{base}/email/{acme}", json={}, headers=ws.auth)
    assert not_a_link_field.status_code == 404
    nested = await client.put(
        f"{base}/companies/{acme}", json={"attributes": {"title": {"nested": 1}}}, headers=ws.auth
    )
    assert nested.status_code == 422
    assert nested.json()["error"]["details"][0]["field"] == "attributes.title"
    in_fields = await client.patch(
        f"{API}/objects/contact/records/{ada}",
        json={"fields": {"companies": [acme]}},
        headers=ws.auth,
    )
    assert in_fields.status_code == 422
    assert in_fields.json()["error"]["details"][0]["field"] == "companies"


async def test_read_only_key_cannot_link(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _memberships(client, ws)
    ada = await _record(client, ws, "contact", {"first_name": "Ada"})
    acme = await _record(client, ws, "company", {"name": "Acme"})
    reader = await ws.add_key(scopes=["read:crm"])
    url = f"{API}/objects/contact/records/{ada}/links/companies/{acme}"
    assert (await client.put(url, json={}, headers=bearer(reader))).status_code == 403
    listed = await client.get(
        f"{API}/objects/contact/records/{ada}/links/companies", headers=bearer(reader)
    )
    assert listed.status_code == 200


async def test_links_are_paged_both_ways(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _memberships(client, ws)
    ada = await _record(client, ws, "contact", {"first_name": "Ada"})
    firms = [await _record(client, ws, "company", {"name": f"Firm {n}"}) for n in range(3)]
    for firm in firms:
        url = f"{API}/objects/contact/records/{ada}/links/companies/{firm}"
        assert (await client.put(url, json={}, headers=ws.auth)).status_code == 201
    listing = f"{API}/objects/contact/records/{ada}/links/companies"
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(listing, params=params, headers=ws.auth)).json()
        assert set(page) == {"data", "next_cursor"}
        assert len(page["data"]) <= 2
        seen += [x["record"]["id"] for x in page["data"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == firms
    reverse = f"{API}/objects/company/records/{firms[0]}/linked-from/contact/companies"
    one = (await client.get(reverse, params={"limit": 1}, headers=ws.auth)).json()
    assert ([x["record"]["id"] for x in one["data"]], one["next_cursor"]) == ([ada], None)
    for bad in ({"cursor": ada}, {"cursor": "x"}, {"limit": 501}):
        answer = await client.get(listing, params=bad, headers=ws.auth)
        assert answer.status_code == 422, answer.text
        assert [d["field"] for d in answer.json()["error"]["details"]] == list(bad)
