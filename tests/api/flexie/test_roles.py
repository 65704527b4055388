"""Roles: the document's requests as written, lists and their filters, one role, and every
refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import DOCUMENT_FILTER, FX, flt, fx_error, key
from tests.conftest import Workspace

AGENT = ["*:*:viewown", "*:*:create", "*:*:editown", "*:*:deleteown", "admin:fields:manage"]


async def _custom(
    client: httpx.AsyncClient, ws: Workspace, key_: str, name: str, permissions: list[str]
) -> None:
    made = await client.post(
        "/api/v1/roles",
        json={"key": key_, "name": name, "permissions": permissions, "description": "Ours"},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text


def _names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["name"] for r in answer.json()["roles"]]


async def test_the_system_roles(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{FX}/roles", headers=key(ws))
    assert answer.status_code == 200
    assert answer.json()["total"] == 3
    shown = answer.json()["roles"]
    assert [(r["id"], r["name"], r["isAdmin"]) for r in shown] == [
        (1, "Owner", True),
        (2, "Administrator", True),
        (3, "Agent", False),
    ]
    agent = shown[2]
    assert agent == {
        "id": 3,
        "name": "Agent",
        "description": None,
        "isAdmin": False,
        "permissions": AGENT,
        "date_added": agent["date_added"],
        "date_modified": agent["date_added"],
    }
    assert agent["date_added"].endswith("Z")
    one = await client.get(f"{FX}/roles/3", headers=key(ws))
    assert one.json() == {"role": agent}


async def test_document_requests(client: httpx.AsyncClient, ws: Workspace) -> None:
    none = await client.get(f"{FX}/roles?limit=30&search=acme", headers=key(ws))
    assert none.json() == {"total": 0, "roles": []}
    await _custom(client, ws, "acme_reps", "Acme reps", ["lead:leads:full"])
    found = await client.get(f"{FX}/roles?limit=30&search=acme", headers=key(ws))
    assert (_names(found), found.json()["total"]) == (["Acme reps"], 1)
    # The shared filter body names an email, which roles lack; by name it works.
    verbatim = await client.post(f"{FX}/roles", json=DOCUMENT_FILTER, headers=key(ws))
    fx_error(verbatim, 400, "email")
    by_name = DOCUMENT_FILTER | flt("name", "like", "acme", strict=False, starts=False, ends=False)
    answer = await client.post(f"{FX}/roles", json=by_name, headers=key(ws))
    assert _names(answer) == ["Acme reps"]


async def test_accounts_in_permissions(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _custom(client, ws, "accounts", "Accounts", ["company:companies:viewother", "*:*:full"])
    shown = (await client.get(f"{FX}/roles/4", headers=key(ws))).json()["role"]
    assert shown["permissions"] == ["account:accounts:viewother", "*:*:full"]
    assert (shown["description"], shown["isAdmin"]) == ("Ours", False)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["Owner", "Administrator", "Agent", "Support desk"]),
        (flt("name", "like", "min"), ["Administrator"]),
        (flt("name", "like", "S", starts=True), ["Support desk"]),
        (flt("name", "like", "agent", strict=True), ["Agent"]),
        (flt("id", "gt", 2), ["Agent", "Support desk"]),
        (flt("id", "between", [2, 3]), ["Administrator", "Agent"]),
        (flt("description", "empty"), ["Owner", "Administrator", "Agent"]),
        (flt("description", "notEmpty"), ["Support desk"]),
        (
            flt("date_added", "gt", "2000-01-01T00:00:00Z"),
            ["Owner", "Administrator", "Agent", "Support desk"],
        ),
        (
            {"orderBy": "name", "orderByDir": "DESC"},
            ["Support desk", "Owner", "Agent", "Administrator"],
        ),
        (
            {"orderBy": "id", "orderByDir": "desc", "start": 1, "limit": 2},
            ["Agent", "Administrator"],
        ),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], expected: list[str]
) -> None:
    await _custom(client, ws, "support", "Support desk", [])
    answer = await client.post(f"{FX}/roles", json=body, headers=key(ws))
    assert _names(answer) == expected
    assert answer.json()["total"] == (4 if "start" in body or "orderBy" in body else len(expected))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (flt("nickname", "eq", "x"), "nickname"),
        (flt("permissions", "eq", "x"), "permissions"),
        (flt("name", "resembles", "x"), "filters[0].value.operator"),
        (flt("date_added", "like", "2020"), "filters[0].value.operator"),
        (flt("id", "eq", "one"), "filters[0].value.input"),
        ({"filters": {"alias": "name"}}, "filters"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"start": -1}, "start"),
        ({"start": 10**12}, "start"),
        ({"orderBy": "isAdmin"}, "isAdmin"),
        ({"orderByDir": 1}, "orderByDir"),
        ({"size": 2}, "size"),
    ],
)
async def test_bad_list_requests(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    fx_error(await client.post(f"{FX}/roles", json=body, headers=key(ws)), 400, field)


@pytest.mark.parametrize("query", ["limit=-5", "start=-1", "limit=1000", "orderBy=zzz"])
async def test_bad_query(client: httpx.AsyncClient, ws: Workspace, query: str) -> None:
    fx_error(await client.get(f"{FX}/roles?{query}", headers=key(ws)), 400)


@pytest.mark.parametrize("body", [b"{", b"[]", b"null"], ids=["broken", "array", "null"])
async def test_bodies_that_are_no_object(
    client: httpx.AsyncClient, ws: Workspace, body: bytes
) -> None:
    headers = {**key(ws), "content-type": "application/json"}
    fx_error(await client.post(f"{FX}/roles", content=body, headers=headers), 400)


@pytest.mark.parametrize("ref", ["0", "-1", "agent", "99999999999999999999999", "4"])
async def test_ids_that_name_nothing(client: httpx.AsyncClient, ws: Workspace, ref: str) -> None:
    fx_error(await client.get(f"{FX}/roles/{ref}", headers=key(ws)), 404)


async def test_other_workspaces_roles_stay_hidden(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await _custom(client, other_ws, "theirs", "Theirs", [])
    fx_error(await client.get(f"{FX}/roles/4", headers=key(ws)), 404)
    listed = await client.get(f"{FX}/roles?search=theirs", headers=key(ws))
    assert listed.json() == {"total": 0, "roles": []}


async def test_scopes_and_roles(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = {"apikey": await ws.add_key(role="agent", email="agent@acme.test")}
    assert _names(await client.get(f"{FX}/roles", headers=agent))[0] == "Owner"
    assert (await client.get(f"{FX}/roles/1", headers=agent)).status_code == 200
    users_only = {"apikey": await ws.add_key(scopes=["user:list", "user:read"])}
    fx_error(await client.get(f"{FX}/roles", headers=users_only), 403)
    fx_error(await client.post(f"{FX}/roles", json={}, headers=users_only), 403)
    fx_error(await client.get(f"{FX}/roles/1", headers=users_only), 403)
    fx_error(await client.get(f"{FX}/roles"), 401)
