"""Static lists: records of one object type picked by hand, their members, and the numbers
lists and notes carry in their workspace."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.native.test_tenancy import integer_id
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
LISTS = f"{API}/lists"
CONTACTS = f"{API}/objects/contact/records"
#: A well-formed list id that names nothing (fixed, so that every collection of the suite
#: names the same tests).
NO_LIST = "0190f6d2-5b1e-7c3a-9d4e-2f1a3b4c5d6e"
SHAPE = {
    "id",
    "number",
    "name",
    "object",
    "description",
    "member_count",
    "created_by",
    "created_at",
    "updated_at",
}


# --- helpers ------------------------------------------------------------------------------


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


async def make_list(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, obj: str = "contact", **more: Any
) -> dict[str, Any]:
    body = {"name": name, "object": obj, **more}
    return dict(ok(await client.post(LISTS, json=body, headers=headers), 201))


async def record(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, obj: str = "contact"
) -> str:
    fields = {"first_name": name} if obj == "contact" else {"name": name}
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=headers
    )
    return str(ok(answer, 201)["id"])


def member_url(list_id: Any, record_id: str) -> str:
    return f"{LISTS}/{list_id}/members/{record_id}"


async def add(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: Any, record_id: str
) -> None:
    answer = await client.put(member_url(list_id, record_id), headers=headers)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""


async def remove(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: Any, record_id: str
) -> None:
    answer = await client.delete(member_url(list_id, record_id), headers=headers)
    assert answer.status_code == 204, answer.text


async def members(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: Any, **params: Any
) -> dict[str, Any]:
    answer = await client.get(f"{LISTS}/{list_id}/members", params=params, headers=headers)
    return dict(ok(answer))


async def member_names(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: Any
) -> list[str]:
    page = await members(client, headers, list_id, sort="first_name")
    return [r["fields"]["first_name"] for r in page["data"]]


async def lists_of(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> list[str]:
    answer = await client.get(f"{API}/objects/{obj}/records/{record_id}/lists", headers=headers)
    return [lst["name"] for lst in ok(answer)["data"]]


async def feed(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/events", params={"limit": 1000}, headers=ws.auth)
    return [e for e in ok(answer)["data"] if e["type"] == kind]


async def found_names(
    client: httpx.AsyncClient, headers: dict[str, str], flt: dict[str, Any]
) -> list[str]:
    answer = await client.post(
        f"{CONTACTS}/search",
        json={"filter": flt, "sort": [{"field": "first_name"}]},
        headers=headers,
    )
    return [r["fields"]["first_name"] for r in ok(answer)["data"]]


@pytest.fixture
async def agent(ws: Workspace) -> dict[str, str]:
    """The key of an agent (may see, change and delete only their own records)."""
    return bearer(await ws.add_key(role="agent", email="agent@acme.io"))


# --- lists --------------------------------------------------------------------------------


async def test_create_get_and_find_a_list(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await make_list(client, ws.auth, "VIP customers", description="Spend over 10k")
    assert set(made) == SHAPE
    assert uuid.UUID(made["id"]).version == 7
    assert made["number"] == 1
    assert made["object"] == "contact"
    assert made["description"] == "Spend over 10k"
    assert made["member_count"] == 0
    me = ok(await client.get(f"{API}/me", headers=ws.auth))["user"]["id"]
    assert made["created_by"] == me
    assert made["created_at"] == made["updated_at"]
    assert made["created_at"].endswith("Z")
    assert ok(await client.get(f"{LISTS}/{made['id']}", headers=ws.auth)) == made
    assert ok(await client.get(f"{LISTS}/1", headers=ws.auth)) == made
    assert ok(await client.get(LISTS, headers=ws.auth)) == {"data": [made], "total": 1}
    [created] = await feed(client, ws, "list.created")
    assert created["object"] == "contact"
    assert created["data"] == {
        "list": made["id"],
        "number": 1,
        "name": "VIP customers",
        "object": "contact",
    }


async def test_each_workspace_numbers_its_lists_from_one(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    ours = [await make_list(client, ws.auth, name) for name in ("A", "B")]
    theirs = await make_list(client, other_ws.auth, "A")
    deal_list = await make_list(client, ws.auth, "A", obj="deal")
    assert [lst["number"] for lst in ours] == [1, 2]
    assert theirs["number"] == 1
    assert deal_list["number"] == 3
    assert ok(await client.get(f"{LISTS}/1", headers=other_ws.auth))["id"] == theirs["id"]
    assert ok(await client.get(f"{LISTS}/3", headers=ws.auth))["id"] == deal_list["id"]
    # A deleted list's number is not given again.
    ok(await client.delete(f"{LISTS}/{ours[1]['id']}", headers=ws.auth), 204)
    assert (await make_list(client, ws.auth, "C"))["number"] == 4


async def test_names_are_unique_per_object_type_in_any_case(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    first = await make_list(client, ws.auth, "  Webinar \t leads ")
    assert first["name"] == "Webinar leads"
    for again in ("webinar leads", "WEBINAR   LEADS"):
        answer = await client.post(
            LISTS, json={"name": again, "object": "contact"}, headers=ws.auth
        )
        assert_error(answer, 409, "conflict")
    await make_list(client, ws.auth, "Webinar leads", obj="lead")
    await make_list(client, other_ws.auth, "Webinar leads")
    assert ok(await client.get(LISTS, headers=ws.auth))["total"] == 2
    assert len(await feed(client, ws, "list.created")) == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"object": "contact"}, ["name"]),
        ({"name": "VIP"}, ["object"]),
        ({"name": "", "object": "contact"}, ["name"]),
        ({"name": "   ", "object": "contact"}, ["name"]),
        ({"name": "x" * 201, "object": "contact"}, ["name"]),
        ({"name": 5, "object": "contact"}, ["name"]),
        ({"name": None, "object": "contact"}, ["name"]),
        ({"name": ["VIP"], "object": "contact"}, ["name"]),
        ({"name": "VIP", "object": "nothing"}, ["object"]),
        ({"name": "VIP", "object": 7}, ["object"]),
        ({"name": "", "object": "nothing"}, ["object", "name"]),
        ({"name": "VIP", "object": "contact", "description": 5}, ["description"]),
        ({"name": "VIP", "object": "contact", "description": "x" * 5001}, ["description"]),
        ({"name": "VIP", "object": "contact", "color": "red"}, ["color"]),
    ],
)
async def test_a_bad_list_body_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    answer = await client.post(LISTS, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert sorted(detail_fields(answer)) == sorted(fields)
    assert ok(await client.get(LISTS, headers=ws.auth))["total"] == 0


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"name": "VIP",}', b""])
async def test_a_malformed_list_body_is_400(
    client: httpx.AsyncClient, ws: Workspace, raw: bytes
) -> None:
    made = await make_list(client, ws.auth, "VIP")
    headers = {**ws.auth, "content-type": "application/json"}
    assert_error(await client.post(LISTS, content=raw, headers=headers), 400, "malformed_request")
    answer = await client.patch(f"{LISTS}/{made['id']}", content=raw, headers=headers)
    assert_error(answer, 400, "malformed_request")
    assert ok(await client.get(f"{LISTS}/{made['id']}", headers=ws.auth)) == made


async def test_lists_are_found_by_name_object_and_page(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for name, obj in (
        ("charlie", "contact"),
        ("Delta", "deal"),
        ("alpha", "contact"),
        ("Bravo_%", "contact"),
    ):
        await make_list(client, ws.auth, name, obj=obj)

    async def names(**params: Any) -> tuple[list[str], int]:
        page = ok(await client.get(LISTS, params=params, headers=ws.auth))
        return [lst["name"] for lst in page["data"]], page["total"]

    assert await names() == (["alpha", "Bravo_%", "charlie", "Delta"], 4)
    assert await names(object="contact") == (["alpha", "Bravo_%", "charlie"], 3)
    assert await names(limit=2) == (["alpha", "Bravo_%"], 4)
    assert await names(limit=2, offset=2) == (["charlie", "Delta"], 4)
    assert await names(offset=9) == ([], 4)
    assert await names(q="AR") == (["charlie"], 1)
    assert await names(q="_%") == (["Bravo_%"], 1)
    assert await names(q="l", object="deal") == (["Delta"], 1)
    assert await names(q="  ") == (["alpha", "Bravo_%", "charlie", "Delta"], 4)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"object": "nothing"}, "object"),
        ({"q": "x" * 201}, "q"),
    ],
)
async def test_a_bad_list_search_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any], field: str
) -> None:
    answer = await client.get(LISTS, params=params, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [field]


async def test_rename_and_describe_a_list(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await make_list(client, ws.auth, "VIP", description="Big spenders")
    url = f"{LISTS}/{made['number']}"
    renamed = ok(await client.patch(url, json={"name": " Top   clients "}, headers=ws.auth))
    assert renamed["name"] == "Top clients"
    assert renamed["description"] == "Big spenders"
    assert renamed["updated_at"] >= made["updated_at"]
    assert {k: v for k, v in renamed.items() if k not in ("name", "updated_at")} == {
        k: v for k, v in made.items() if k not in ("name", "updated_at")
    }
    cleared = ok(await client.patch(url, json={"description": None}, headers=ws.auth))
    assert cleared["description"] is None
    assert ok(await client.get(url, headers=ws.auth)) == cleared
    # A change of case alone is a change; a change to what is there is none.
    assert ok(await client.patch(url, json={"name": "TOP clients"}, headers=ws.auth))["name"] == (
        "TOP clients"
    )
    ok(await client.patch(url, json={"name": "TOP clients", "description": None}, headers=ws.auth))
    updates = await feed(client, ws, "list.updated")
    assert [e["changes"] for e in updates] == [
        {"name": ["VIP", "Top clients"]},
        {"description": ["Big spenders", None]},
        {"name": ["Top clients", "TOP clients"]},
    ]
    assert updates[-1]["data"]["list"] == made["id"]


async def test_a_rename_to_a_taken_name_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    await make_list(client, ws.auth, "Churned")
    answer = await client.patch(f"{LISTS}/{vip['id']}", json={"name": "churned"}, headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert ok(await client.get(f"{LISTS}/{vip['id']}", headers=ws.auth)) == vip


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": None}, ["name"]),
        ({"name": ""}, ["name"]),
        ({"name": 3}, ["name"]),
        ({"description": ["x"]}, ["description"]),
        ({"object": "deal"}, ["object"]),
        ({"members": []}, ["members"]),
    ],
)
async def test_a_bad_list_change_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    made = await make_list(client, ws.auth, "VIP")
    answer = await client.patch(f"{LISTS}/{made['id']}", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert ok(await client.get(f"{LISTS}/{made['id']}", headers=ws.auth)) == made


async def test_delete_a_list_takes_it_off_every_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip, other = await make_list(client, ws.auth, "VIP"), await make_list(client, ws.auth, "Other")
    ada = await record(client, ws.auth, "Ada")
    await add(client, ws.auth, vip["id"], ada)
    await add(client, ws.auth, other["id"], ada)
    ok(await client.delete(f"{LISTS}/{vip['number']}", headers=ws.auth), 204)
    assert_error(await client.get(f"{LISTS}/{vip['id']}", headers=ws.auth), 404, "not_found")
    assert_error(await client.delete(f"{LISTS}/{vip['id']}", headers=ws.auth), 404, "not_found")
    assert await lists_of(client, ws.auth, ada) == ["Other"]
    flt = {"field": "lists", "op": "eq", "value": vip["id"]}
    assert await found_names(client, ws.auth, flt) == []
    [deleted] = await feed(client, ws, "list.deleted")
    assert deleted["data"] == {"list": vip["id"], "number": 1, "name": "VIP", "object": "contact"}


@pytest.mark.parametrize("ref", [NO_LIST, "999", "not-an-id", "0", "99999999999999999999"])
async def test_an_unknown_list_is_404(client: httpx.AsyncClient, ws: Workspace, ref: str) -> None:
    await make_list(client, ws.auth, "VIP")
    ada = await record(client, ws.auth, "Ada")
    for method, url, body in (
        ("GET", f"{LISTS}/{ref}", None),
        ("PATCH", f"{LISTS}/{ref}", {"name": "X"}),
        ("DELETE", f"{LISTS}/{ref}", None),
        ("GET", f"{LISTS}/{ref}/members", None),
        ("PUT", member_url(ref, ada), None),
        ("DELETE", member_url(ref, ada), None),
    ):
        answer = await client.request(method, url, json=body, headers=ws.auth)
        assert_error(answer, 404, "not_found")


async def test_another_workspaces_lists_and_records_are_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await make_list(client, other_ws.auth, "Secret list")
    their_record = await record(client, other_ws.auth, "Eve")
    await add(client, other_ws.auth, theirs["id"], their_record)
    ours = await make_list(client, ws.auth, "Ours")
    ada = await record(client, ws.auth, "Ada")
    ref = theirs["id"]
    for method, url, body in (
        ("GET", f"{LISTS}/{ref}", None),
        ("PATCH", f"{LISTS}/{ref}", {"name": "Hijacked"}),
        ("DELETE", f"{LISTS}/{ref}", None),
        ("GET", f"{LISTS}/{ref}/members", None),
        ("PUT", member_url(ref, ada), None),
        ("DELETE", member_url(ref, their_record), None),
    ):
        answer = await client.request(method, url, json=body, headers=ws.auth)
        assert_error(answer, 404, "not_found")
        assert "Secret" not in answer.text
    # Their record on our list, and their record's lists.
    assert_error(
        await client.put(member_url(ours["id"], their_record), headers=ws.auth), 404, "not_found"
    )
    answer = await client.get(f"{CONTACTS}/{their_record}/lists", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert ok(await client.get(LISTS, headers=ws.auth))["data"] == [ours]
    # Their number 1 is our number 1: each workspace names its own.
    assert ok(await client.get(f"{LISTS}/1", headers=ws.auth))["id"] == ours["id"]
    assert ok(await client.get(f"{LISTS}/{theirs['id']}", headers=other_ws.auth)) == {
        **theirs,
        "member_count": 1,
    }
    assert await member_names(client, other_ws.auth, theirs["id"]) == ["Eve"]


# --- members ------------------------------------------------------------------------------


async def test_adding_and_removing_are_idempotent_and_logged_on_the_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    ada = await record(client, ws.auth, "Ada")
    for _ in range(2):
        await add(client, ws.auth, vip["id"], ada)
    assert await member_names(client, ws.auth, vip["id"]) == ["Ada"]
    assert ok(await client.get(f"{LISTS}/{vip['id']}", headers=ws.auth))["member_count"] == 1
    for _ in range(2):
        await remove(client, ws.auth, vip["number"], ada)
    assert await member_names(client, ws.auth, vip["id"]) == []
    assert ok(await client.get(f"{LISTS}/{vip['id']}", headers=ws.auth))["member_count"] == 0
    timeline = ok(await client.get(f"{CONTACTS}/{ada}/timeline", headers=ws.auth))["data"]
    moves = [e for e in timeline if e["type"].startswith("list.")]
    assert [e["type"] for e in moves] == ["list.removed", "list.added"]
    for event in moves:
        assert event["record_id"] == ada
        assert event["object"] == "contact"
        assert event["data"] == {
            "record": ada,
            "object": "contact",
            "list": vip["id"],
            "number": 1,
            "name": "VIP",
        }


async def test_a_record_is_named_by_uuid_or_integer_id(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    ada, bob = await record(client, ws.auth, "Ada"), await record(client, ws.auth, "Bob")
    await add(client, ws.auth, vip["id"], ada)
    await add(client, ws.auth, vip["number"], str(await integer_id(engine, bob)))
    assert await member_names(client, ws.auth, vip["id"]) == ["Ada", "Bob"]


async def test_members_are_a_listing_of_records(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    ids = {name: await record(client, ws.auth, name) for name in ("Ann", "Bob", "Cy", "Di", "Eve")}
    for name in ("Ann", "Bob", "Cy", "Di"):
        await add(client, ws.auth, vip["id"], ids[name])
    first = await members(client, ws.auth, vip["id"], limit=3, include_total="true")
    everyone = ok(await client.get(CONTACTS, params={"limit": 3}, headers=ws.auth))
    assert set(first) == {"data", "next_cursor", "total"}
    assert set(first["data"][0]) == set(everyone["data"][0])
    assert first["total"] == 4
    # Newest first, as a listing is by default.
    assert [r["fields"]["first_name"] for r in first["data"]] == ["Di", "Cy", "Bob"]
    rest = await members(client, ws.auth, vip["id"], limit=3, cursor=first["next_cursor"])
    assert [r["fields"]["first_name"] for r in rest["data"]] == ["Ann"]
    assert rest["next_cursor"] is None
    assert [
        r["fields"]["first_name"]
        for r in (await members(client, ws.auth, vip["id"], q="bo"))["data"]
    ] == ["Bob"]
    # Archived members follow the listing's rule; deleted ones leave every read.
    ok(await client.post(f"{CONTACTS}/{ids['Ann']}/archive", headers=ws.auth))
    ok(await client.delete(f"{CONTACTS}/{ids['Bob']}", headers=ws.auth), 204)
    assert await member_names(client, ws.auth, vip["id"]) == ["Cy", "Di"]
    archived = await members(client, ws.auth, vip["id"], archived="only")
    assert [r["fields"]["first_name"] for r in archived["data"]] == ["Ann"]
    assert ok(await client.get(f"{LISTS}/{vip['id']}", headers=ws.auth))["member_count"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"cursor": "junk"}, "cursor"),
        ({"sort": "nothing"}, "sort[0].field"),
        ({"archived": "all"}, "archived"),
    ],
)
async def test_a_bad_members_page_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any], field: str
) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    answer = await client.get(f"{LISTS}/{vip['id']}/members", params=params, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [field]


async def test_a_record_of_another_object_type_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    acme = await record(client, ws.auth, "Acme", obj="company")
    for method in ("PUT", "DELETE"):
        answer = await client.request(method, member_url(vip["id"], acme), headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == ["record_id"]
    assert await lists_of(client, ws.auth, acme, obj="company") == []
    assert await feed(client, ws, "list.added") == []


async def test_a_deleted_or_unknown_record_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    gone = await record(client, ws.auth, "Gone")
    ok(await client.delete(f"{CONTACTS}/{gone}", headers=ws.auth), 204)
    for ref in (gone, NO_LIST, "999999", "nope"):
        answer = await client.put(member_url(vip["id"], ref), headers=ws.auth)
        assert_error(answer, 404, "not_found")
    assert await feed(client, ws, "list.added") == []


async def test_a_records_lists_by_name(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await record(client, ws.auth, "Ada")
    made = [await make_list(client, ws.auth, name) for name in ("charlie", "Alpha", "bravo")]
    await make_list(client, ws.auth, "Unused")
    for lst in made:
        await add(client, ws.auth, lst["id"], ada)
    answer = ok(await client.get(f"{CONTACTS}/{ada}/lists", headers=ws.auth))
    assert [lst["name"] for lst in answer["data"]] == ["Alpha", "bravo", "charlie"]
    assert all(set(lst) == SHAPE and lst["member_count"] == 1 for lst in answer["data"])
    assert await lists_of(client, ws.auth, await record(client, ws.auth, "Bob")) == []


# --- who may --------------------------------------------------------------------------------


async def test_an_agent_changes_membership_only_of_records_it_may_edit(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    vip = await make_list(client, ws.auth, "VIP")
    own = await record(client, agent, "Own")
    owners = await record(client, ws.auth, "Owners")
    shared = await record(client, ws.auth, "Shared")
    answer = await client.post(
        f"{CONTACTS}/{shared}/viewers", json={"users": ["agent@acme.io"]}, headers=ws.auth
    )
    ok(answer)
    await add(client, agent, vip["id"], own)
    # A record it cannot see is not there for it; one shared with it, it may not change.
    assert_error(await client.put(member_url(vip["id"], owners), headers=agent), 404, "not_found")
    assert_error(
        await client.put(member_url(vip["id"], shared), headers=agent), 403, "permission_denied"
    )
    await add(client, ws.auth, vip["id"], shared)
    answer = await client.delete(member_url(vip["id"], shared), headers=agent)
    assert_error(answer, 403, "permission_denied")
    assert await member_names(client, ws.auth, vip["id"]) == ["Own", "Shared"]
    # The agent sees the members it may see.
    assert await member_names(client, agent, vip["id"]) == ["Own", "Shared"]
    await add(client, ws.auth, vip["id"], owners)
    assert await member_names(client, agent, vip["id"]) == ["Own", "Shared"]


async def test_an_agent_deletes_only_a_list_of_records_it_may_edit(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    mine, shared = await make_list(client, agent, "Mine"), await make_list(client, agent, "Shared")
    await add(client, agent, mine["id"], await record(client, agent, "Own"))
    await add(client, ws.auth, shared["id"], await record(client, ws.auth, "Owners"))
    answer = await client.delete(f"{LISTS}/{shared['id']}", headers=agent)
    assert_error(answer, 403, "permission_denied")
    ok(await client.delete(f"{LISTS}/{mine['id']}", headers=agent), 204)
    assert [lst["name"] for lst in ok(await client.get(LISTS, headers=ws.auth))["data"]] == [
        "Shared"
    ]


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (["contact:*"], set()),
        (["read:crm"], {"find", "get", "members", "of record"}),
        (
            ["list:list", "list:read", "contact:list", "contact:read"],
            {"find", "get", "members", "of record"},
        ),
        (["list:create"], {"create"}),
        (["list:update", "contact:read"], {"rename", "add", "remove"}),
        (["list:update"], {"rename"}),
        (["list:delete"], {"delete"}),
        (
            ["list:*", "contact:*"],
            {"find", "get", "members", "of record", "create", "rename", "add", "remove", "delete"},
        ),
    ],
)
async def test_each_call_needs_its_scope(
    client: httpx.AsyncClient, ws: Workspace, scopes: list[str], allowed: set[str]
) -> None:
    headers = bearer(await ws.add_key(scopes=scopes))
    vip = await make_list(client, ws.auth, "VIP")
    ada = await record(client, ws.auth, "Ada")
    await add(client, ws.auth, vip["id"], ada)
    one = f"{LISTS}/{vip['id']}"
    calls = {
        "find": ("GET", LISTS, None, 200),
        "get": ("GET", one, None, 200),
        "members": ("GET", f"{one}/members", None, 200),
        "of record": ("GET", f"{CONTACTS}/{ada}/lists", None, 200),
        "create": ("POST", LISTS, {"name": "New", "object": "contact"}, 201),
        "rename": ("PATCH", one, {"name": "Renamed"}, 200),
        "add": ("PUT", member_url(vip["id"], ada), None, 204),
        "remove": ("DELETE", member_url(vip["id"], ada), None, 204),
        "delete": ("DELETE", one, None, 204),
    }
    for name, (method, url, body, status) in calls.items():
        answer = await client.request(method, url, json=body, headers=headers)
        if name in allowed:
            assert answer.status_code == status, (name, answer.text)
        else:
            assert_error(answer, 403, "permission_denied")


# --- the filter ------------------------------------------------------------------------------


@pytest.fixture
async def world(client: httpx.AsyncClient, ws: Workspace) -> dict[str, Any]:
    """Ann (VIP, Austin), Bob (VIP, Churned, Boston), Cy (Austin), Di (no list)."""
    cities = {"Ann": "Austin", "Bob": "Boston", "Cy": "Austin", "Di": "Boston"}
    ids = {}
    for name, city in cities.items():
        answer = await client.post(
            CONTACTS, json={"fields": {"first_name": name, "city": city}}, headers=ws.auth
        )
        ids[name] = str(ok(answer, 201)["id"])
    vip, churned = (
        await make_list(client, ws.auth, "VIP"),
        await make_list(client, ws.auth, "Churned"),
    )
    for who, lst in (("Ann", vip), ("Bob", vip), ("Bob", churned)):
        await add(client, ws.auth, lst["id"], ids[who])
    return {"vip": vip, "churned": churned, **ids}


async def test_the_lists_filter(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, Any]
) -> None:
    vip, churned = world["vip"], world["churned"]

    async def names(flt: dict[str, Any]) -> list[str]:
        return await found_names(client, ws.auth, flt)

    assert await names({"field": "lists", "op": "in", "value": [vip["id"]]}) == ["Ann", "Bob"]
    assert await names({"field": "lists", "op": "in", "value": [vip["id"], "2"]}) == ["Ann", "Bob"]
    assert await names({"field": "lists", "op": "eq", "value": str(churned["number"])}) == ["Bob"]
    assert await names({"field": "lists", "op": "eq", "value": churned["id"].upper()}) == ["Bob"]
    assert await names({"field": "lists", "op": "empty"}) == ["Cy", "Di"]
    assert await names({"field": "lists", "op": "not_empty"}) == ["Ann", "Bob"]
    assert await names({"field": "lists", "op": "in", "value": [NO_LIST, "99"]}) == []
    both = {
        "and": [
            {"field": "lists", "op": "eq", "value": vip["id"]},
            {"field": "city", "op": "eq", "value": "Austin"},
        ]
    }
    assert await names(both) == ["Ann"]
    either = {
        "or": [
            {"field": "lists", "op": "eq", "value": churned["id"]},
            {"field": "city", "op": "eq", "value": "Austin"},
        ]
    }
    assert await names(either) == ["Ann", "Bob", "Cy"]
    counted = await client.post(
        f"{CONTACTS}/count", json={"filter": {"field": "lists", "op": "not_empty"}}, headers=ws.auth
    )
    assert ok(counted) == {"count": 2}


async def test_the_filter_does_not_see_another_workspaces_lists(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: dict[str, Any]
) -> None:
    theirs = await make_list(client, other_ws.auth, "VIP")
    await add(client, other_ws.auth, theirs["id"], await record(client, other_ws.auth, "Eve"))
    flt = {"field": "lists", "op": "in", "value": [theirs["id"]]}
    assert await found_names(client, ws.auth, flt) == []
    # Their list 1 is their own; ours is VIP.
    assert await found_names(
        client, other_ws.auth, {"field": "lists", "op": "eq", "value": "1"}
    ) == ["Eve"]
    assert await found_names(client, ws.auth, {"field": "lists", "op": "eq", "value": "1"}) == [
        "Ann",
        "Bob",
    ]


async def test_a_field_named_lists_takes_precedence(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, Any]
) -> None:
    field = {"key": "lists", "label": "Lists", "type": "text"}
    ok(await client.post(f"{API}/objects/contact/fields", json=field, headers=ws.auth), 201)
    ok(
        await client.patch(
            f"{CONTACTS}/{world['Di']}", json={"fields": {"lists": "x"}}, headers=ws.auth
        )
    )
    assert await found_names(client, ws.auth, {"field": "lists", "op": "eq", "value": "x"}) == [
        "Di"
    ]
    assert await found_names(client, ws.auth, {"field": "lists", "op": "not_empty"}) == ["Di"]


@pytest.mark.parametrize(
    "flt",
    [
        {"field": "lists", "op": "gt", "value": "1"},
        {"field": "lists", "op": "in", "value": []},
        {"field": "lists", "op": "in", "value": "1"},
        {"field": "lists", "op": "in", "value": [1]},
        {"field": "lists", "op": "eq"},
    ],
)
async def test_a_bad_lists_filter_is_422(
    client: httpx.AsyncClient, ws: Workspace, flt: dict[str, Any]
) -> None:
    answer = await client.post(f"{CONTACTS}/search", json={"filter": flt}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["filter.value"]


# --- note numbers ------------------------------------------------------------------------


async def test_notes_are_numbered_per_workspace_and_named_by_number(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    ada, bob = await record(client, ws.auth, "Ada"), await record(client, ws.auth, "Bob")
    eve = await record(client, other_ws.auth, "Eve")

    async def note(headers: dict[str, str], record_id: str, body: str) -> dict[str, Any]:
        answer = await client.post(
            f"{CONTACTS}/{record_id}/notes", json={"body": body}, headers=headers
        )
        return dict(ok(answer, 201))

    first, second = await note(ws.auth, ada, "one"), await note(ws.auth, bob, "two")
    theirs = await note(other_ws.auth, eve, "theirs")
    assert (first["number"], second["number"], theirs["number"]) == (1, 2, 1)
    listed = ok(await client.get(f"{CONTACTS}/{ada}/notes", headers=ws.auth))["data"]
    assert listed == [first]
    # Intake's notes are numbered too, in order.
    answer = await client.post(
        f"{API}/objects/contact/intake",
        json={"email": "cy@x.io", "first_name": "Cy", "notes": ["a", "b"]},
        headers=ws.auth,
    )
    cy = ok(answer, 201)["record"]["id"]
    taken = ok(await client.get(f"{CONTACTS}/{cy}/notes", headers=ws.auth))["data"]
    assert sorted(n["number"] for n in taken) == [3, 4]
    # A note is named by its number on its record, within its workspace.
    changed = await client.patch(f"{CONTACTS}/{ada}/notes/1", json={"body": "uno"}, headers=ws.auth)
    assert ok(changed) == {**first, "body": "uno", "updated_at": ok(changed)["updated_at"]}
    assert_error(
        await client.patch(f"{CONTACTS}/{bob}/notes/1", json={"body": "x"}, headers=ws.auth),
        404,
        "not_found",
    )
    assert_error(
        await client.delete(f"{CONTACTS}/{eve}/notes/1", headers=ws.auth), 404, "not_found"
    )
    ok(await client.delete(f"{CONTACTS}/{ada}/notes/1", headers=ws.auth), 204)
    assert ok(await client.get(f"{CONTACTS}/{ada}/notes", headers=ws.auth))["data"] == []
    [deleted] = await feed(client, ws, "note.deleted")
    assert deleted["data"]["note"] == first["id"]
    assert ok(await client.get(f"{CONTACTS}/{eve}/notes", headers=other_ws.auth))["data"] == [
        theirs
    ]
