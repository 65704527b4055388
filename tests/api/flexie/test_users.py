"""Users: the document's examples as written, lists and their filters, create, read,
update, delete, the caller's own user and permission checks, and every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import DOCUMENT_FILTER, FX, flt, fx_error, key
from tests.conftest import Workspace

NEW_USER = {
    "username": "jdoe",
    "firstName": "John",
    "lastName": "Doe",
    "email": "jdoe@example.com",
    "password": "S3cretPass!",
    "position": "Sales Manager",
    "timezone": "America/New_York",
    "locale": "en_US",
    "role": 3,
    "isPublished": True,
}
USER_UPDATE = {
    "firstName": "John",
    "lastName": "Doe",
    "position": "Senior Sales Manager",
    "role": 3,
    "isPublished": True,
}
PERMISSIONS = {"permissions": ["lead:leads:viewown", "lead:leads:editown"]}
#: Users 2 to 4 beside the owner (1, owner@example.com).
STAFF = [
    {"email": "ann@acme.com", "firstName": "Ann", "lastName": "Able", "position": "Sales"},
    {"email": "bob@globex.com", "firstName": "Bob", "role": 2, "timezone": "Europe/Warsaw"},
    {"email": "cid@acme.com.au", "firstName": "Cid", "lastName": "Cole", "isPublished": False},
]


async def _make(client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]) -> Any:
    answer = await client.post(f"{FX}/users/new", json=body, headers=key(ws))
    assert answer.status_code == 201, answer.text
    return answer.json()["user"]


@pytest.fixture
async def staffed(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    for body in STAFF:
        await _make(client, ws, body)
    return ws


def _emails(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    shown = answer.json()["users"]
    return [u["email"].split("@")[0] for u in shown]


async def test_document_examples(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = await client.get(f"{FX}/roles/3", headers=key(ws))
    assert agent.json()["role"]["name"] == "Agent"
    made = await _make(client, ws, NEW_USER)
    assert made == {
        "id": 2,
        "username": "jdoe",
        "firstName": "John",
        "lastName": "Doe",
        "email": "jdoe@example.com",
        "position": "Sales Manager",
        "timezone": "America/New_York",
        "locale": "en_US",
        "role": {"id": 3, "name": "Agent"},
        "isPublished": True,
        "date_added": made["date_added"],
        "date_modified": made["date_added"],
    }
    assert made["date_added"].endswith("Z")
    got = await client.get(f"{FX}/users/2", headers=key(ws))
    assert got.status_code == 200
    assert got.json() == {"user": made}
    put = await client.put(f"{FX}/users/2", json=USER_UPDATE, headers=key(ws))
    assert put.status_code == 200, put.text
    changed = put.json()["user"]
    assert changed == made | {
        "position": "Senior Sales Manager",
        "date_modified": changed["date_modified"],
    }
    assert changed["date_modified"] > made["date_modified"]
    checked = await client.post(f"{FX}/users/2/permission", json=PERMISSIONS, headers=key(ws))
    assert checked.status_code == 200, checked.text
    assert checked.json() == {"lead:leads:viewown": True, "lead:leads:editown": True}
    me = await client.get(f"{FX}/users/self", headers=key(ws))
    assert (me.json()["user"]["id"], me.json()["user"]["role"]) == (1, {"id": 1, "name": "Owner"})
    await _make(client, ws, {"email": "ann@acme.com", "firstName": "Ann"})
    listed = await client.get(f"{FX}/users?limit=30&search=acme", headers=key(ws))
    assert (_emails(listed), listed.json()["total"]) == (["ann"], 1)
    filtered = await client.post(f"{FX}/users", json=DOCUMENT_FILTER, headers=key(ws))
    assert _emails(filtered) == ["ann"]
    gone = await client.delete(f"{FX}/users/2", headers=key(ws))
    assert (gone.status_code, gone.content) == (204, b"")
    fx_error(await client.get(f"{FX}/users/2", headers=key(ws)), 404)


async def test_a_password_is_never_shown(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _make(client, ws, NEW_USER)
    for answer in (
        await client.get(f"{FX}/users/2", headers=key(ws)),
        await client.get(f"{FX}/users", headers=key(ws)),
    ):
        assert "S3cretPass" not in answer.text
        assert "password" not in answer.text


async def test_query_list(client: httpx.AsyncClient, staffed: Workspace) -> None:
    every = await client.get(f"{FX}/users", headers=key(staffed))
    assert (_emails(every), every.json()["total"]) == (["owner", "ann", "bob", "cid"], 4)
    page = await client.get(
        f"{FX}/users?limit=2&start=1&orderBy=email&orderByDir=DESC", headers=key(staffed)
    )
    assert (_emails(page), page.json()["total"]) == (["cid", "bob"], 4)
    found = await client.get(f"{FX}/users?search=GLOBEX", headers=key(staffed))
    assert _emails(found) == ["bob"]
    by_key = await client.get(f"{FX}/users?apikey={staffed.key}&orderBy=firstName")
    assert _emails(by_key) == ["owner", "ann", "bob", "cid"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (flt("email", "like", "ann@acme.com", strict=True), ["ann"]),
        (flt("email", "like", "C", starts=True), ["cid"]),
        (flt("email", "like", ".au", ends=True), ["cid"]),
        (flt("firstName", "eq", "bob"), ["bob"]),
        (flt("lastName", "neq", "Able"), ["owner", "bob", "cid"]),
        (flt("lastName", "empty"), ["owner", "bob"]),
        (flt("lastName", "notEmpty"), ["ann", "cid"]),
        (flt("position", "!empty"), ["ann"]),
        (flt("timezone", "in", ["Europe/Warsaw", "Asia/Tokyo"]), ["bob"]),
        (flt("username", "=", "cid"), ["cid"]),
        (flt("isPublished", "eq", False), ["cid"]),
        (flt("isPublished", "!=", False), ["owner", "ann", "bob"]),
        (flt("role", "eq", 3), ["ann", "cid"]),
        (flt("role", "in", [1, 2]), ["owner", "bob"]),
        (flt("id", "gt", 2), ["bob", "cid"]),
        (flt("id", "between", [2, 3]), ["ann", "bob"]),
        (flt("id", "lte", 1), ["owner"]),
        (flt("date_added", "gte", "2000-01-01T00:00:00Z"), ["owner", "ann", "bob", "cid"]),
        (flt("date_modified", "lt", "2000-01-01"), []),
        (
            flt("locale", "empty") | {"orderBy": "role", "orderByDir": "DESC"},
            ["ann", "cid", "bob", "owner"],
        ),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, staffed: Workspace, body: dict[str, Any], expected: list[str]
) -> None:
    answer = await client.post(f"{FX}/users", json=body, headers=key(staffed))
    assert _emails(answer) == expected
    assert answer.json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (flt("nickname", "eq", "x"), "nickname"),
        (flt("password", "eq", "x"), "password"),
        (flt("email", "resembles", "x"), "filters[0].value.operator"),
        (flt("isPublished", "like", "x"), "filters[0].value.operator"),
        (flt("date_added", "in", ["2020-01-01"]), "filters[0].value.operator"),
        (flt("id", "between", [1]), "filters[0].value.input"),
        (flt("id", "gt", "2"), "filters[0].value.input"),
        (flt("role", "eq", "agent"), "filters[0].value.input"),
        (flt("isPublished", "eq", "yes"), "filters[0].value.input"),
        (flt("date_added", "gt", "yesterday"), "filters[0].value.input"),
        (flt("email", "in", []), "filters[0].value.input"),
        (flt("email", "like", ""), "filters[0].value.input"),
        (flt("email", "eq", "x" * 1001), "filters[0].value.input"),
        ({"filters": [{"alias": "email", "value": "x"}]}, "filters[0].value"),
        ({"filters": [{"alias": 5, "value": {"operator": "eq"}}]}, "filters[0].alias"),
        ({"filters": ["email"]}, "filters[0]"),
        (
            {"filters": [{"alias": "email", "value": {"operator": "eq", "input": "x"}, "x": 1}]},
            "filters[0].x",
        ),
        ({"filters": "email"}, "filters"),
        ({"filters": [flt("id", "gt", 1)["filters"][0]] * 51}, "filters"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": True}, "limit"),
        ({"start": -1}, "start"),
        ({"start": 10**12}, "start"),
        ({"search": 5}, "search"),
        ({"orderBy": "nickname"}, "nickname"),
        ({"orderBy": "password"}, "password"),
        ({"orderByDir": "sideways"}, "orderByDir"),
        ({"page": 2}, "page"),
    ],
)
async def test_bad_list_requests(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    fx_error(await client.post(f"{FX}/users", json=body, headers=key(ws)), 400, field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=-5", "limit"),
        ("limit=100000", "limit"),
        ("start=-1", "start"),
        ("start=99999999999999", "start"),
        ("orderByDir=up", "orderByDir"),
        ("orderBy=zzz", "zzz"),
        (f"search={'a' * 201}", "search"),
    ],
)
async def test_bad_query(client: httpx.AsyncClient, ws: Workspace, query: str, field: str) -> None:
    fx_error(await client.get(f"{FX}/users?{query}", headers=key(ws)), 400, field)


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'"text"', b"null"], ids=["broken", "array", "string", "null"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/users"),
        ("POST", "/users/new"),
        ("PUT", "/users/1"),
        ("POST", "/users/1/permission"),
    ],
)
async def test_bodies_that_are_no_object(
    client: httpx.AsyncClient, ws: Workspace, body: bytes, method: str, path: str
) -> None:
    headers = {**key(ws), "content-type": "application/json"}
    fx_error(await client.request(method, f"{FX}{path}", content=body, headers=headers), 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nickname": "Jo"}, "nickname"),
        ({"id": 7}, "id"),
        ({"email": "not an email"}, "email"),
        ({"email": 5}, "email"),
        ({"firstName": 5}, "firstName"),
        ({"lastName": "x" * 101}, "lastName"),
        ({"username": "j doe"}, "username"),
        ({"password": "short"}, "password"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"locale": "english"}, "locale"),
        ({"position": ["Boss"]}, "position"),
        ({"isPublished": "yes"}, "isPublished"),
        ({"isPublished": 1}, "isPublished"),
        ({"role": "agent"}, "role"),
        ({"role": "3"}, "role"),
        ({"role": True}, "role"),
        ({"role": 0}, "role"),
        ({"role": 99}, "role"),
        ({"role": {"id": 3}}, "role"),
        ({"role": 10**30}, "role"),
    ],
)
async def test_bad_values_name_the_attribute(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    made = await client.post(
        f"{FX}/users/new",
        json={"email": "new@acme.com", "firstName": "New"} | body,
        headers=key(ws),
    )
    fx_error(made, 400, field)
    fx_error(await client.put(f"{FX}/users/1", json=body, headers=key(ws)), 400, field)
    listed = await client.get(f"{FX}/users", headers=key(ws))
    assert listed.json()["total"] == 1
    assert listed.json()["users"][0]["email"] == "owner@example.com"


async def test_a_new_user_needs_an_email_and_a_name(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(f"{FX}/users/new", json={"firstName": "A"}, headers=key(ws))
    fx_error(answer, 400, "email")
    nameless = await client.post(f"{FX}/users/new", json={"email": "a@acme.com"}, headers=key(ws))
    fx_error(nameless, 400, "firstName")
    last_only = await _make(client, ws, {"email": "a@acme.com", "lastName": "Ames"})
    assert (last_only["username"], last_only["role"]["id"]) == ("a", 3)


async def test_taken_email_or_username_is_a_400_naming_it(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await _make(client, ws, NEW_USER)
    again = await client.post(
        f"{FX}/users/new", json={"email": "JDOE@example.com", "firstName": "J"}, headers=key(ws)
    )
    fx_error(again, 400, "email")
    taken = await client.post(
        f"{FX}/users/new",
        json={"email": "j2@example.com", "username": "JDOE", "firstName": "J"},
        headers=key(ws),
    )
    fx_error(taken, 400, "username")
    fx_error(
        await client.put(f"{FX}/users/1", json={"email": "jdoe@example.com"}, headers=key(ws)),
        400,
        "email",
    )


async def test_update_clears_and_unpublishes(client: httpx.AsyncClient, staffed: Workspace) -> None:
    answer = await client.put(
        f"{FX}/users/2",
        json={"position": None, "lastName": None, "isPublished": False, "role": 2},
        headers=key(staffed),
    )
    assert answer.status_code == 200, answer.text
    shown = answer.json()["user"]
    assert (shown["position"], shown["lastName"], shown["isPublished"]) == (None, None, False)
    assert shown["role"] == {"id": 2, "name": "Administrator"}
    same = await client.put(f"{FX}/users/2", json={}, headers=key(staffed))
    assert same.json()["user"] == shown


async def test_a_change_moves_date_modified_and_its_order(
    client: httpx.AsyncClient, staffed: Workspace
) -> None:
    before = (await client.get(f"{FX}/users/2", headers=key(staffed))).json()["user"]
    assert before["date_modified"] == before["date_added"]
    changed = await client.put(f"{FX}/users/2", json={"position": "Lead"}, headers=key(staffed))
    after = changed.json()["user"]
    assert after["date_modified"] > before["date_modified"]
    assert after["date_added"] == before["date_added"]
    newest = await client.get(
        f"{FX}/users",
        params={"orderBy": "date_modified", "orderByDir": "DESC"},
        headers=key(staffed),
    )
    assert newest.json()["users"][0]["id"] == 2
    unchanged = await client.put(f"{FX}/users/2", json={}, headers=key(staffed))
    assert unchanged.json()["user"]["date_modified"] == after["date_modified"]


async def test_an_unpublished_users_key_is_refused(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = await ws.add_key(role="agent", email="agent@acme.test")
    me = await client.get(f"{FX}/users/self", headers={"apikey": agent})
    assert me.json()["user"]["id"] == 2
    await client.put(f"{FX}/users/2", json={"isPublished": False}, headers=key(ws))
    fx_error(await client.get(f"{FX}/users/self", headers={"apikey": agent}), 401)


async def test_delete_keeps_the_users_records(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = await ws.add_key(role="agent", email="agent@acme.test")
    made = await client.post(
        f"{FX}/contacts/new", json={"first_name": "Kept"}, headers={"apikey": agent}
    )
    assert made.json()["contact"]["owner_id"] == 2
    gone = await client.delete(f"{FX}/users/2", headers=key(ws))
    assert gone.status_code == 204
    fx_error(await client.get(f"{FX}/contacts", headers={"apikey": agent}), 401)
    kept = await client.get(f"{FX}/contacts/1", headers=key(ws))
    assert (kept.json()["contact"]["first_name"], kept.json()["contact"]["owner_id"]) == ("Kept", 2)
    fx_error(await client.delete(f"{FX}/users/2", headers=key(ws)), 404)
    listed = await client.get(f"{FX}/users", headers=key(ws))
    assert [u["id"] for u in listed.json()["users"]] == [1]


async def test_nobody_deletes_themselves(client: httpx.AsyncClient, ws: Workspace) -> None:
    fx_error(await client.delete(f"{FX}/users/1", headers=key(ws)), 400)
    fx_error(await client.put(f"{FX}/users/1", json={"isPublished": False}, headers=key(ws)), 400)
    assert (await client.get(f"{FX}/users/1", headers=key(ws))).status_code == 200


@pytest.mark.parametrize(
    "ref", ["0", "-1", "abc", "owner@example.com", "99999999999999999999999", "1.5", "9"]
)
async def test_ids_that_name_nothing(client: httpx.AsyncClient, ws: Workspace, ref: str) -> None:
    for answer in (
        await client.get(f"{FX}/users/{ref}", headers=key(ws)),
        await client.put(f"{FX}/users/{ref}", json={"position": "X"}, headers=key(ws)),
        await client.delete(f"{FX}/users/{ref}", headers=key(ws)),
        await client.post(f"{FX}/users/{ref}/permission", json=PERMISSIONS, headers=key(ws)),
    ):
        fx_error(answer, 404)


async def test_other_workspaces_users_stay_hidden(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await _make(client, other_ws, {"email": "theirs@globex.com", "firstName": "T"})
    for answer in (
        await client.get(f"{FX}/users/2", headers=key(ws)),
        await client.put(f"{FX}/users/2", json={"position": "X"}, headers=key(ws)),
        await client.delete(f"{FX}/users/2", headers=key(ws)),
        await client.post(f"{FX}/users/2/permission", json=PERMISSIONS, headers=key(ws)),
    ):
        fx_error(answer, 404)
    listed = await client.get(f"{FX}/users?search=globex", headers=key(ws))
    assert listed.json() == {"total": 0, "users": []}
    custom = await client.post(
        "/api/v1/roles",
        json={"key": "theirs", "name": "Theirs", "permissions": []},
        headers=other_ws.auth,
    )
    assert custom.json()["number"] == 4
    fx_error(await client.put(f"{FX}/users/1", json={"role": 4}, headers=key(ws)), 400, "role")


async def test_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _make(client, ws, {"email": "ann@acme.com", "firstName": "Ann"})
    reader = {"apikey": await ws.add_key(scopes=["user:read", "user:list"])}
    assert (await client.get(f"{FX}/users/2", headers=reader)).status_code == 200
    assert (await client.get(f"{FX}/users", headers=reader)).status_code == 200
    assert (
        await client.post(f"{FX}/users/1/permission", json=PERMISSIONS, headers=reader)
    ).status_code == 200
    fx_error(await client.post(f"{FX}/users/new", json=NEW_USER, headers=reader), 403)
    fx_error(await client.put(f"{FX}/users/2", json=USER_UPDATE, headers=reader), 403)
    fx_error(await client.delete(f"{FX}/users/2", headers=reader), 403)
    other = {"apikey": await ws.add_key(scopes=["contact:read"])}
    fx_error(await client.get(f"{FX}/users", headers=other), 403)
    fx_error(await client.post(f"{FX}/users", json={}, headers=other), 403)
    fx_error(await client.get(f"{FX}/users/1", headers=other), 403)
    fx_error(await client.post(f"{FX}/users/1/permission", json=PERMISSIONS, headers=other), 403)
    me = await client.get(f"{FX}/users/self", headers=other)
    assert me.json()["user"]["email"] == "owner@example.com"


@pytest.mark.parametrize("headers", [{}, {"apikey": "ak_nope"}])
async def test_no_key(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    fx_error(await client.get(f"{FX}/users/self", headers=headers), 401)
    fx_error(await client.post(f"{FX}/users/new", json=NEW_USER, headers=headers), 401)


async def test_an_agent_may_not_manage_users(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = {"apikey": await ws.add_key(role="agent", email="agent@acme.test")}
    listed = await client.get(f"{FX}/users", headers=agent)
    assert [u["id"] for u in listed.json()["users"]] == [1, 2]
    fx_error(await client.post(f"{FX}/users/new", json=NEW_USER, headers=agent), 403)
    fx_error(await client.put(f"{FX}/users/1", json=USER_UPDATE, headers=agent), 403)
    fx_error(await client.put(f"{FX}/users/2", json={"role": 1}, headers=agent), 403)
    fx_error(await client.delete(f"{FX}/users/1", headers=agent), 403)
    fx_error(await client.post(f"{FX}/users/1/permission", json=PERMISSIONS, headers=agent), 403)
    assert (await client.get(f"{FX}/users/1", headers=key(ws))).json()["user"]["position"] is None


async def test_an_admin_manages_agents_but_not_owners(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    admin = {"apikey": await ws.add_key(role="admin", email="admin@acme.test")}
    made = await client.post(f"{FX}/users/new", json=NEW_USER, headers=admin)
    assert made.status_code == 201, made.text
    fx_error(await client.put(f"{FX}/users/3", json={"role": 1}, headers=admin), 403)
    fx_error(await client.put(f"{FX}/users/1", json={"position": "X"}, headers=admin), 403)
    fx_error(await client.delete(f"{FX}/users/1", headers=admin), 403)
    assert (await client.delete(f"{FX}/users/3", headers=admin)).status_code == 204


ASKED = [
    "lead:leads:viewown",
    "lead:leads:viewother",
    "account:accounts:viewown",
    "account:accounts:deleteother",
    "contact:contacts:full",
    "admin:users:manage",
]


async def test_permission_answers(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = {"apikey": await ws.add_key(role="agent", email="agent@acme.test")}
    body = {"permissions": ASKED}
    mine = await client.post(f"{FX}/users/2/permission", json=body, headers=agent)
    assert mine.status_code == 200, mine.text
    assert mine.json() == {
        "lead:leads:viewown": True,
        "lead:leads:viewother": False,
        "account:accounts:viewown": True,
        "account:accounts:deleteother": False,
        "contact:contacts:full": False,
        "admin:users:manage": False,
    }
    owner = await client.post(f"{FX}/users/2/permission", json=body, headers=key(ws))
    assert owner.json() == mine.json()
    owners = await client.post(f"{FX}/users/1/permission", json=body, headers=key(ws))
    assert owners.json() == dict.fromkeys(ASKED, True)


async def test_accounts_are_the_cores_companies(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await client.post(
        "/api/v1/roles",
        json={"key": "accounts", "name": "Accounts", "permissions": ["company:*:viewother"]},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    await _make(client, ws, {"email": "acc@acme.com", "firstName": "A", "role": 4})
    asked = {"permissions": ["account:accounts:viewother", "lead:leads:viewother"]}
    answer = await client.post(f"{FX}/users/2/permission", json=asked, headers=key(ws))
    assert answer.json() == {"account:accounts:viewother": True, "lead:leads:viewother": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": ["lead:leads:viewown", "lead:leads:view"]}, "permissions[1]"),
        ({"permissions": ["account:accounts"]}, "permissions[0]"),
        ({"permissions": [5]}, "permissions[0]"),
        ({"permissions": "lead:leads:viewown"}, "permissions"),
        ({"permissions": ["lead:leads:viewown"] * 101}, "permissions"),
        ({}, "permissions"),
        ({"permissions": [], "user": 1}, "user"),
    ],
)
async def test_bad_permission_requests(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(f"{FX}/users/1/permission", json=body, headers=key(ws))
    fx_error(answer, 400, field)
