"""Roles through the native API: the system roles, custom ones made, changed and deleted,
and nobody granting more than they hold."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.core.auth.roles import SYSTEM_ROLES
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
ROLES = f"{API}/roles"
SALES = {
    "key": "sales_lead",
    "name": "Sales lead",
    "description": "Leads the sales team",
    "permissions": ["*:*:viewother", "lead:leads:full", "*:*:viewother"],
}


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


async def keys(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    return [r["key"] for r in ok(await client.get(ROLES, headers=headers))["data"]]


async def events_of(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    feed = ok(await client.get(f"{API}/events", params={"limit": 1000}, headers=ws.auth))
    return [e for e in feed["data"] if e["type"] == kind]


async def test_the_system_roles_by_number_key_or_number(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    listed = ok(await client.get(ROLES, headers=ws.auth))["data"]
    assert [(r["number"], r["key"], r["system"]) for r in listed] == [
        (1, "owner", True),
        (2, "admin", True),
        (3, "agent", True),
    ]
    for role in listed:
        spec = SYSTEM_ROLES[role["key"]]
        assert role == {
            "key": role["key"],
            "number": role["number"],
            "name": spec.name,
            "description": None,
            "permissions": list(spec.permissions),
            "system": True,
            "created_at": role["created_at"],
            "updated_at": role["created_at"],
        }
    assert ok(await client.get(f"{ROLES}/admin", headers=ws.auth)) == listed[1]
    assert ok(await client.get(f"{ROLES}/2", headers=ws.auth)) == listed[1]
    for ref in ("nope", "9", "0", "Owner", "-1", "a%00"):
        assert_error(await client.get(f"{ROLES}/{ref}", headers=ws.auth), 404, "not_found")
    # Any role may read them with the scopes; a key without them may not.
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    assert await keys(client, agent) == ["owner", "admin", "agent"]
    narrow = bearer(await ws.add_key(scopes=["contact:read"]))
    assert_error(await client.get(ROLES, headers=narrow), 403, "permission_denied")
    assert_error(await client.get(f"{ROLES}/owner", headers=narrow), 403, "permission_denied")


async def test_the_list_pages_and_finds_roles(client: httpx.AsyncClient, ws: Workspace) -> None:
    ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)
    every = ok(await client.get(ROLES, headers=ws.auth))
    assert (len(every["data"]), every["total"]) == (4, 4)
    page = ok(await client.get(ROLES, params={"limit": 2, "offset": 1}, headers=ws.auth))
    assert ([r["key"] for r in page["data"]], page["total"]) == (["admin", "agent"], 4)
    found = ok(await client.get(ROLES, params={"q": "SALES"}, headers=ws.auth))
    assert ([r["key"] for r in found["data"]], found["total"]) == (["sales_lead"], 1)
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"q": "x" * 201}):
        assert_error(
            await client.get(ROLES, params=params, headers=ws.auth), 422, "validation_failed"
        )


async def test_a_custom_role_is_made_held_changed_and_deleted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)
    assert made == {
        "key": "sales_lead",
        "number": 4,
        "name": "Sales lead",
        "description": "Leads the sales team",
        "permissions": ["*:*:viewother", "lead:leads:full"],
        "system": False,
        "created_at": made["created_at"],
        "updated_at": made["created_at"],
    }
    assert ok(await client.get(f"{ROLES}/4", headers=ws.auth)) == made
    key = bearer(await ws.add_key(role="sales_lead", email="seller@x.io"))
    me = ok(await client.get(f"{API}/me", headers=key))
    assert (me["role"], me["permissions"]) == ("sales_lead", ["*:*:viewother", "lead:leads:full"])

    changed = ok(
        await client.patch(
            f"{ROLES}/sales_lead",
            json={"name": "Seller", "description": None, "permissions": ["*:*:viewown"]},
            headers=ws.auth,
        )
    )
    assert changed == {
        **made,
        "name": "Seller",
        "description": None,
        "permissions": ["*:*:viewown"],
        "updated_at": changed["updated_at"],
    }
    assert changed["updated_at"] > made["updated_at"]
    # Its holders' keys do what it grants from the next request.
    assert ok(await client.get(f"{API}/me", headers=key))["permissions"] == ["*:*:viewown"]
    answer = await client.post(
        f"{API}/objects/contact/records", json={"fields": {"first_name": "X"}}, headers=key
    )
    assert_error(answer, 403, "permission_denied")

    # Held by a user, it stays; once the user is deleted it may go.
    assert_error(await client.delete(f"{ROLES}/sales_lead", headers=ws.auth), 409, "conflict")
    ok(await client.delete(f"{API}/users/seller@x.io", headers=ws.auth), 204)
    ok(await client.delete(f"{ROLES}/sales_lead", headers=ws.auth), 204)
    assert_error(await client.get(f"{ROLES}/sales_lead", headers=ws.auth), 404, "not_found")
    assert await keys(client, ws.auth) == ["owner", "admin", "agent"]
    assert_error(await client.delete(f"{ROLES}/sales_lead", headers=ws.auth), 404, "not_found")
    # Its key may be used again; numbers are max + 1, so the last one's is taken again.
    assert ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)["number"] == 4

    [created, _] = await events_of(client, ws, "role.created")
    assert created["data"] == {"role": "sales_lead", "permissions": made["permissions"]}
    [updated] = await events_of(client, ws, "role.updated")
    assert updated["changes"] == {
        "name": ["Sales lead", "Seller"],
        "description": ["Leads the sales team", None],
        "permissions": [made["permissions"], ["*:*:viewown"]],
    }
    [deleted] = await events_of(client, ws, "role.deleted")
    assert deleted["data"] == {"role": "sales_lead"}


async def test_a_role_a_live_key_holds_stays_until_the_key_is_revoked(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)
    issued = ok(
        await client.post(f"{API}/api-keys", json={"role": "sales_lead"}, headers=ws.auth), 201
    )
    assert_error(await client.delete(f"{ROLES}/sales_lead", headers=ws.auth), 409, "conflict")
    ok(await client.delete(f"{API}/api-keys/{issued['id']}", headers=ws.auth), 204)
    ok(await client.delete(f"{ROLES}/sales_lead", headers=ws.auth), 204)


@pytest.mark.parametrize(
    ("method", "ref", "body"),
    [
        ("PATCH", "owner", {"name": "Boss"}),
        ("PATCH", "agent", {"permissions": ["*:*:viewown"]}),
        ("DELETE", "agent", None),
        ("DELETE", "1", None),
    ],
)
async def test_system_roles_never_change(
    client: httpx.AsyncClient, ws: Workspace, method: str, ref: str, body: Any
) -> None:
    before = ok(await client.get(ROLES, headers=ws.auth))
    answer = await client.request(method, f"{ROLES}/{ref}", json=body, headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert ok(await client.get(ROLES, headers=ws.auth)) == before


async def test_a_taken_key_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)
    for key in ("admin", "sales_lead"):
        answer = await client.post(ROLES, json={**SALES, "key": key}, headers=ws.auth)
        assert_error(answer, 409, "conflict")
    assert await keys(client, ws.auth) == ["owner", "admin", "agent", "sales_lead"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**SALES, "key": "Sales"}, ["key"]),
        ({**SALES, "key": "1st"}, ["key"]),
        ({**SALES, "key": ""}, ["key"]),
        ({"name": "X", "permissions": []}, ["key"]),
        ({**SALES, "name": "  "}, ["name"]),
        ({"key": "x", "permissions": []}, ["name"]),
        ({**SALES, "permissions": ["lead:leads:viewown", "bad"]}, ["permissions[1]"]),
        ({**SALES, "permissions": [7, "lead"]}, ["permissions[0]", "permissions[1]"]),
        ({**SALES, "permissions": "lead:leads:full"}, ["permissions"]),
        ({**SALES, "permissions": ["a:b:viewown"] * 101}, ["permissions"]),
        ({"key": "x", "name": "X"}, ["permissions"]),
        ({**SALES, "description": "x" * 1001}, ["description"]),
        ({**SALES, "system": True}, ["system"]),
    ],
)
async def test_a_bad_role_is_422_and_makes_none(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    answer = await client.post(ROLES, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await keys(client, ws.auth) == ["owner", "admin", "agent"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"permissions": ["lead:leads:own"]}, ["permissions[0]"]),
        ({"permissions": None}, ["permissions"]),
        ({"name": None}, ["name"]),
        ({"name": ""}, ["name"]),
        ({"key": "renamed"}, ["key"]),
        ({"description": 5}, ["description"]),
    ],
)
async def test_a_bad_change_of_a_role_is_422_and_changes_nothing(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    made = ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)
    answer = await client.patch(f"{ROLES}/sales_lead", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert ok(await client.get(f"{ROLES}/sales_lead", headers=ws.auth)) == made


async def test_nobody_grants_more_than_they_hold(client: httpx.AsyncClient, ws: Workspace) -> None:
    admin = bearer(await ws.add_key(role="admin", email="admin@x.io"))
    for permissions in (
        ["admin:*:manage"],
        ["admin:workspace:manage"],
        ["*:*:viewown", "admin:*:manage"],
    ):
        answer = await client.post(ROLES, json={**SALES, "permissions": permissions}, headers=admin)
        assert_error(answer, 403, "permission_denied")
    # Within what it holds, an admin makes and changes roles ...
    ok(await client.post(ROLES, json=SALES, headers=admin), 201)
    answer = await client.patch(
        f"{ROLES}/sales_lead", json={"permissions": ["admin:*:manage"]}, headers=admin
    )
    assert_error(answer, 403, "permission_denied")
    ok(await client.patch(f"{ROLES}/sales_lead", json={"name": "Seller"}, headers=admin))
    # ... but not a role above it, made by the owner.
    above = {"key": "deputy", "name": "Deputy", "permissions": ["admin:*:manage"]}
    ok(await client.post(ROLES, json=above, headers=ws.auth), 201)
    for method, body in [("PATCH", {"name": "Mine"}), ("DELETE", None)]:
        answer = await client.request(method, f"{ROLES}/deputy", json=body, headers=admin)
        assert_error(answer, 403, "permission_denied")
    # Nor may it make a user or a key of that role.
    answer = await client.post(
        f"{API}/users", json={"email": "d@x.io", "name": "D", "role": "deputy"}, headers=admin
    )
    assert_error(answer, 403, "permission_denied")
    answer = await client.post(f"{API}/api-keys", json={"role": "deputy"}, headers=admin)
    assert_error(answer, 403, "permission_denied")
    assert ok(await client.get(f"{ROLES}/deputy", headers=ws.auth))["name"] == "Deputy"


async def test_managing_roles_needs_the_role_and_the_scopes(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ok(await client.post(ROLES, json=SALES, headers=ws.auth), 201)
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    writes = [
        ("POST", ROLES, {**SALES, "key": "other"}),
        ("PATCH", f"{ROLES}/sales_lead", {"name": "Changed"}),
        ("DELETE", f"{ROLES}/sales_lead", None),
    ]
    for headers in (agent, reader):
        for method, url, body in writes:
            answer = await client.request(method, url, json=body, headers=headers)
            assert_error(answer, 403, "permission_denied")
    assert ok(await client.get(f"{ROLES}/sales_lead", headers=reader))["name"] == "Sales lead"
    for scope, (method, url, body) in zip(
        ("role:create", "role:update", "role:delete"), writes, strict=True
    ):
        key = bearer(await ws.add_key(scopes=[scope]))
        answer = await client.request(method, url, json=body, headers=key)
        assert answer.status_code in (200, 201, 204), answer.text
    assert await keys(client, ws.auth) == ["owner", "admin", "agent", "other"]


async def test_another_workspaces_roles_are_not_found(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    ok(await client.post(ROLES, json=SALES, headers=other_ws.auth), 201)
    for ref in ("sales_lead", "4"):
        for method, body in [("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)]:
            answer = await client.request(method, f"{ROLES}/{ref}", json=body, headers=ws.auth)
            assert_error(answer, 404, "not_found")
    answer = await client.post(
        f"{API}/users", json={"email": "x@x.io", "name": "X", "role": "sales_lead"}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["role"]
    assert (
        ok(await client.get(f"{ROLES}/sales_lead", headers=other_ws.auth))["name"] == "Sales lead"
    )
