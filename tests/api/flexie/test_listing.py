"""Lists of records: the query's search and paging, and the filter body's operators."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import DOCUMENT_FILTER, FX, flt, fx_error, key, new
from tests.conftest import Workspace

PEOPLE = [
    ("Ann", "ann@acme.com", "Austin", 10),
    ("Bob", "bob@globex.com", "Boston", 20),
    ("Cid", "cid@acme.com.au", "Austin", 30),
    ("Dee", "dee@initech.com", None, 40),
]


@pytest.fixture
async def people(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    for name, email, city, _ in PEOPLE:
        body = {"first_name": name, "email": email} | ({"city": city} if city else {})
        await new(client, ws, "contacts", body)
    return ws


def _names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [c["first_name"] for c in answer.json()["contacts"]]


async def test_document_filter(client: httpx.AsyncClient, people: Workspace) -> None:
    answer = await client.post(f"{FX}/contacts", json=DOCUMENT_FILTER, headers=key(people))
    assert sorted(_names(answer)) == ["Ann", "Cid"]
    assert answer.json()["total"] == 2


async def test_query_list(client: httpx.AsyncClient, people: Workspace) -> None:
    answer = await client.get(
        f"{FX}/contacts?limit=2&start=1&orderBy=first_name&orderByDir=DESC", headers=key(people)
    )
    assert _names(answer) == ["Cid", "Bob"]
    assert answer.json()["total"] == 4
    found = await client.get(f"{FX}/contacts?search=globex", headers=key(people))
    assert _names(found) == ["Bob"]
    assert _names(await client.get(f"{FX}/contacts", headers=key(people))) == [
        "Ann",
        "Bob",
        "Cid",
        "Dee",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (flt("email", "like", "ann@acme.com", strict=True), ["Ann"]),
        (flt("email", "like", "b", starts=True), ["Bob"]),
        (flt("email", "like", ".au", ends=True), ["Cid"]),
        (flt("city", "eq", "Austin"), ["Ann", "Cid"]),
        (flt("city", "neq", "Austin"), ["Bob", "Dee"]),
        (flt("city", "in", ["Boston", "Austin"]), ["Ann", "Bob", "Cid"]),
        (flt("city", "empty"), ["Dee"]),
        (flt("city", "notEmpty"), ["Ann", "Bob", "Cid"]),
        (flt("id", "gt", 2), ["Cid", "Dee"]),
        (flt("id", "between", [2, 3]), ["Bob", "Cid"]),
        (flt("firstname", "lte", "Bob"), ["Ann", "Bob"]),
        (flt("date_added", "gt", "2000-01-01T00:00:00Z"), ["Ann", "Bob", "Cid", "Dee"]),
    ],
)
async def test_operators(
    client: httpx.AsyncClient, people: Workspace, body: dict[str, Any], expected: list[str]
) -> None:
    answer = await client.post(f"{FX}/contacts", json=body, headers=key(people))
    assert _names(answer) == expected


async def test_number_ranges(client: httpx.AsyncClient, ws: Workspace) -> None:
    for name, revenue in (("A", 10), ("B", 20), ("C", 30)):
        await new(client, ws, "accounts", {"name": name, "employees": revenue})
    body = flt("employees", "between", [15, 30]) | {"orderBy": "employees", "orderByDir": "desc"}
    answer = await client.post(f"{FX}/accounts", json=body, headers=key(ws))
    assert [a["name"] for a in answer.json()["accounts"]] == ["C", "B"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (flt("nickname", "eq", "x"), "nickname"),
        (flt("email", "resembles", "x"), "filters[0].value.operator"),
        (flt("id", "between", [1]), "filters[0].value.input"),
        (flt("employees", "like", "x"), None),
        ({"filters": [{"alias": "email", "value": "x"}]}, "filters[0].value"),
        (
            {
                "filters": [
                    {"alias": "email", "value": {"operator": "eq", "input": "x"}, "type": "blob"}
                ]
            },
            "filters[0].type",
        ),
        (
            {"filters": [{"alias": "email", "value": {"operator": "eq", "input": "x"}, "glow": 1}]},
            "filters[0].glow",
        ),
        ({"filters": "email"}, "filters"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"start": -1}, "start"),
        ({"start": 10**12}, "start"),
        ({"orderBy": "nickname"}, "nickname"),
        ({"orderByDir": "sideways"}, "orderByDir"),
        ({"page": 2}, "page"),
    ],
)
async def test_bad_list_requests(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str | None
) -> None:
    answer = await client.post(
        f"{FX}/contacts" if "employees" not in str(body) else f"{FX}/accounts",
        json=body,
        headers=key(ws),
    )
    fx_error(answer, 400, field)


@pytest.mark.parametrize(
    "query", ["limit=-5", "start=-1", "limit=100000", "orderByDir=up", "orderBy=zzz"]
)
async def test_bad_query(client: httpx.AsyncClient, ws: Workspace, query: str) -> None:
    fx_error(await client.get(f"{FX}/contacts?{query}", headers=key(ws)), 400)


async def test_bad_filter_value_names_the_filter(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{FX}/contacts", json=flt("date_added", "gt", "yesterday"), headers=key(ws)
    )
    fx_error(answer, 400)
    assert answer.json()["errors"][0]["field"].startswith("filters[0]"), answer.text


async def test_owner_filter_takes_user_ids(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = await ws.add_key(role="agent", email="agent@acme.test")
    await new(client, ws, "contacts", {"first_name": "Owners"})
    made = await client.post(
        f"{FX}/contacts/new", json={"first_name": "Agents"}, headers={"apikey": agent}
    )
    assert made.json()["contact"]["owner_id"] == 2
    answer = await client.post(f"{FX}/contacts", json=flt("owner_id", "eq", 2), headers=key(ws))
    assert _names(answer) == ["Agents"]
    both = await client.post(f"{FX}/contacts", json=flt("owner_id", "in", [1, 2]), headers=key(ws))
    assert _names(both) == ["Owners", "Agents"]
    bad = await client.post(f"{FX}/contacts", json=flt("owner_id", "eq", 7), headers=key(ws))
    fx_error(bad, 400, "filters[0].value.input")


async def test_related_records_filter_by_id(client: httpx.AsyncClient, ws: Workspace) -> None:
    for name in ("Zeta", "Acme"):
        await new(client, ws, "accounts", {"name": name})
    for name, company in (("D1", 2), ("D2", 1), ("D3", 2)):
        await new(client, ws, "deals", {"name": name, "company": company})

    async def deals(body: dict[str, Any]) -> list[str]:
        answer = await client.post(f"{FX}/deals", json=body, headers=key(ws))
        assert answer.status_code == 200, answer.text
        return [d["name"] for d in answer.json()["deals"]]

    assert await deals(flt("company", "eq", 2)) == ["D1", "D3"]
    assert await deals(flt("company", "in", [1, 9])) == ["D2"]
    assert await deals(flt("company", "eq", 9)) == []
    assert await deals(flt("company", "neq", 2)) == ["D2"]


async def test_totals_count_what_the_caller_may_see(
    client: httpx.AsyncClient, people: Workspace, other_ws: Workspace
) -> None:
    """A list's total counts the live, unarchived contacts the caller may see, whether the
    list is filtered or not, and nothing of other workspaces."""
    await new(client, other_ws, "contacts", {"first_name": "Else", "email": "else@acme.com"})
    agent = {"apikey": await people.add_key(role="agent", email="agent@acme.test")}
    mine = await client.post(
        f"{FX}/contacts/new", json={"first_name": "Mine", "city": "Austin"}, headers=agent
    )
    assert mine.status_code == 201
    assert (await client.delete(f"{FX}/contacts/4", headers=key(people))).status_code == 204
    native = "/api/v1/objects/contact/records"
    bob = await client.get(native, params={"q": "bob"}, headers=people.auth)
    archived = await client.post(
        f"{native}/{bob.json()['data'][0]['id']}/archive", headers=people.auth
    )
    assert archived.status_code == 200

    async def total(headers: dict[str, str], body: dict[str, Any] | None = None) -> int:
        if body is None:
            answer = await client.get(f"{FX}/contacts?limit=1", headers=headers)
        else:
            answer = await client.post(f"{FX}/contacts", json=body | {"limit": 1}, headers=headers)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])

    assert await total(key(people)) == 3  # Ann, Cid and Mine
    assert await total(key(people), flt("city", "eq", "Austin")) == 3
    assert await total(key(people), DOCUMENT_FILTER) == 2  # Ann and Cid
    assert await total(agent) == 1
    assert await total(agent, flt("city", "eq", "Austin")) == 1
