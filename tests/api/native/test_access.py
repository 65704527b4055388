"""Who may call what: keys (401), scopes and role permissions (403), and per-caller matrices.

Callers are named: ``owner`` (the workspace's owner key), ``admin`` and ``agent`` (keys of
users with those roles), ``reader`` (an owner's key limited to ``read:crm``) and ``foreign``
(the owner key of another workspace).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer

API = "/api/v1"
CALLERS = ("owner", "admin", "agent", "reader", "foreign")
#: What the users' routes show of a user.
USER_ATTRIBUTES = (
    "id",
    "number",
    "username",
    "email",
    "name",
    "first_name",
    "last_name",
    "position",
    "timezone",
    "locale",
    "role",
    "active",
    "created_at",
    "updated_at",
)


# --- helpers ------------------------------------------------------------------------------


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


async def caller_headers(name: str, ws: Workspace, other_ws: Workspace) -> dict[str, str]:
    if name == "owner":
        return ws.auth
    if name == "admin":
        return bearer(await ws.add_key(role="admin", email="admin@x.io"))
    if name == "agent":
        return bearer(await ws.add_key(role="agent", email="agent@x.io"))
    if name == "reader":
        return bearer(await ws.add_key(scopes=["read:crm"]))
    assert name == "foreign"
    return other_ws.auth


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], obj: str, fields: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=headers
    )
    return dict(ok(answer, 201))


async def owner_view(client: httpx.AsyncClient, ws: Workspace, record_id: str) -> httpx.Response:
    return await client.get(f"{API}/objects/contact/records/{record_id}", headers=ws.auth)


# --- 401 ----------------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/me", None),
    ("GET", "/objects", None),
    ("GET", "/objects/contact/records", None),
    ("POST", "/objects/contact/records", {"fields": {"first_name": "Ada"}}),
    ("POST", "/objects/contact/records/search", {}),
    ("GET", "/events", None),
    ("GET", "/users", None),
    ("POST", "/api-keys", {"scopes": ["*"]}),
]

BAD_HEADERS = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer    "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Token ak_abcdefghijklmnopqrstuvwxyz0123456789ABCD"},
    {"Authorization": "ak_abcdefghijklmnopqrstuvwxyz0123456789ABCD"},
    {"Authorization": "Bearer ak_abcdefghijklmnopqrstuvwxyz0123456789ABCD"},
    {"Authorization": "Bearer not-a-key"},
    {"X-Api-Key": "ak_abcdefghijklmnopqrstuvwxyz0123456789ABCD"},
]


@pytest.mark.parametrize("headers", BAD_HEADERS)
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_missing_malformed_or_unknown_key_is_401(
    client: httpx.AsyncClient,
    ws: Workspace,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    answer = await client.request(method, API + path, json=body, headers=headers)
    assert_error(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"
    # Nothing was written on the way.
    count = ok(await client.post(f"{API}/objects/contact/records/count", json={}, headers=ws.auth))
    assert count == {"count": 0}


async def test_a_workspace_key_with_its_scheme_in_any_case_works(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for scheme in ("Bearer", "bearer", "BEARER"):
        answer = await client.get(f"{API}/me", headers={"Authorization": f"{scheme} {ws.key}"})
        assert answer.status_code == 200, scheme
    # A key with one character changed is another, unknown key.
    tampered = ws.key[:-1] + ("A" if ws.key[-1] != "A" else "B")
    assert_error(await client.get(f"{API}/me", headers=bearer(tampered)), 401, "unauthenticated")


async def test_a_revoked_key_is_401_at_once(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = ok(
        await client.post(
            f"{API}/api-keys", json={"name": "temp", "scopes": ["*"]}, headers=ws.auth
        ),
        201,
    )
    key = bearer(made["api_key"])
    assert ok(await client.get(f"{API}/me", headers=key))["scopes"] == ["*"]
    ok(await client.delete(f"{API}/api-keys/{made['id']}", headers=ws.auth), 204)
    for method, path, body in ENDPOINTS:
        assert_error(
            await client.request(method, API + path, json=body, headers=key), 401, "unauthenticated"
        )
    # Revoking again, or something that is no key, is 404; the owner key still works.
    assert_error(
        await client.delete(f"{API}/api-keys/{made['id']}", headers=ws.auth), 404, "not_found"
    )
    assert_error(
        await client.delete(f"{API}/api-keys/not-a-uuid", headers=ws.auth), 404, "not_found"
    )
    assert (await client.get(f"{API}/me", headers=ws.auth)).status_code == 200


async def test_a_key_can_revoke_itself(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = ok(await client.post(f"{API}/api-keys", json={"scopes": ["*"]}, headers=ws.auth), 201)
    key = bearer(made["api_key"])
    ok(await client.delete(f"{API}/api-keys/{made['id']}", headers=key), 204)
    assert_error(await client.get(f"{API}/me", headers=key), 401, "unauthenticated")


# --- scopes -------------------------------------------------------------------------------


async def test_read_crm_key_reads_but_cannot_write(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    record = await create(client, ws.auth, "contact", {"first_name": "Ada", "email": "a@x.io"})
    rid = record["id"]
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    base = f"{API}/objects/contact/records"
    listed = ok(await client.get(base, headers=reader))
    assert [r["id"] for r in listed["data"]] == [rid]
    assert ok(await client.get(f"{base}/{rid}", headers=reader))["fields"]["first_name"] == "Ada"
    found = ok(await client.post(f"{base}/search", json={"q": "a@x.io"}, headers=reader))
    assert [r["id"] for r in found["data"]] == [rid]
    assert ok(await client.post(f"{base}/count", json={}, headers=reader)) == {"count": 1}
    assert ok(await client.get(f"{base}/{rid}/notes", headers=reader)) == {
        "data": [],
        "next_cursor": None,
    }
    assert ok(await client.get(f"{API}/objects", headers=reader))["data"]
    assert ok(await client.get(f"{API}/pipelines", headers=reader))["data"]
    refused = [
        ("POST", base, {"fields": {"first_name": "Eve"}}),
        ("PATCH", f"{base}/{rid}", {"fields": {"first_name": "Eve"}}),
        ("DELETE", f"{base}/{rid}", None),
        ("POST", f"{base}/{rid}/archive", None),
        ("POST", f"{base}/bulk", {"records": [{"fields": {"first_name": "Eve"}}]}),
        ("POST", f"{base}/{rid}/notes", {"body": "hello"}),
        ("POST", f"{API}/objects", {"key": "thing", "label": "Thing"}),
        ("POST", f"{API}/objects/contact/fields", {"key": "x", "label": "X", "type": "text"}),
        ("POST", f"{API}/users", {"email": "new@x.io", "name": "New"}),
        ("POST", f"{API}/api-keys", {"scopes": ["*"]}),
    ]
    for method, url, body in refused:
        error = assert_error(
            await client.request(method, url, json=body, headers=reader), 403, "permission_denied"
        )
        assert "scope" in error["message"], (method, url)
    after = ok(await owner_view(client, ws, rid))
    assert after["fields"]["first_name"] == "Ada"
    assert after["archived_at"] is None
    assert ok(await client.post(f"{base}/count", json={}, headers=ws.auth)) == {"count": 1}


async def test_contact_read_key_reaches_contacts_only(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    contact = await create(client, ws.auth, "contact", {"first_name": "Ada"})
    deal = await create(client, ws.auth, "deal", {"name": "Big deal"})
    key = bearer(await ws.add_key(scopes=["contact:read", "contact:list"]))
    contacts = f"{API}/objects/contact/records"
    assert [r["id"] for r in ok(await client.get(contacts, headers=key))["data"]] == [contact["id"]]
    assert ok(await client.get(f"{contacts}/{contact['id']}", headers=key))["id"] == contact["id"]
    assert ok(await client.post(f"{contacts}/count", json={}, headers=key)) == {"count": 1}
    refused = [
        ("GET", f"{API}/objects/deal/records", None),
        ("GET", f"{API}/objects/deal/records/{deal['id']}", None),
        ("POST", f"{API}/objects/deal/records/search", {}),
        ("POST", f"{API}/objects/deal/records", {"fields": {"name": "Other"}}),
        ("GET", f"{API}/objects/company/records", None),
        ("POST", contacts, {"fields": {"first_name": "Eve"}}),
        ("PATCH", f"{contacts}/{contact['id']}", {"fields": {"first_name": "Eve"}}),
        ("DELETE", f"{contacts}/{contact['id']}", None),
        ("PUT", f"{contacts}/upsert", {"match": "email", "fields": {"email": "e@x.io"}}),
    ]
    for method, url, body in refused:
        assert_error(
            await client.request(method, url, json=body, headers=key), 403, "permission_denied"
        )
    assert ok(await owner_view(client, ws, contact["id"]))["fields"]["first_name"] == "Ada"
    deals = ok(await client.post(f"{API}/objects/deal/records/count", json={}, headers=ws.auth))
    assert deals == {"count": 1}


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["contact:*", "custom_field:create"], 403),
        (["read:crm"], 403),
        (["object:read", "object:list"], 403),
        (["object:create"], 201),
        (["object:*"], 201),
        (["write:crm"], 201),
    ],
)
async def test_creating_objects_needs_object_create(
    client: httpx.AsyncClient, ws: Workspace, scopes: list[str], status: int
) -> None:
    key = bearer(await ws.add_key(scopes=scopes))
    answer = await client.post(
        f"{API}/objects", json={"key": "thing", "label": "Thing"}, headers=key
    )
    assert answer.status_code == status, answer.text
    keys = [o["key"] for o in ok(await client.get(f"{API}/objects", headers=ws.auth))["data"]]
    assert ("thing" in keys) == (status == 201)


async def test_adding_fields_needs_custom_field_create(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    spec = {"key": "region", "label": "Region", "type": "text"}
    without = bearer(await ws.add_key(scopes=["object:create", "contact:*"]))
    assert_error(
        await client.post(f"{API}/objects/contact/fields", json=spec, headers=without),
        403,
        "permission_denied",
    )
    with_scope = bearer(await ws.add_key(scopes=["custom_field:create"]))
    ok(await client.post(f"{API}/objects/contact/fields", json=spec, headers=with_scope), 201)


async def test_a_scope_alone_does_not_lift_a_role_limit(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    """An agent's key with every scope still cannot manage the workspace."""
    agent = bearer(await ws.add_key(role="agent", scopes=["*"], email="agent@x.io"))
    assert_error(
        await client.post(f"{API}/objects", json={"key": "thing", "label": "Thing"}, headers=agent),
        403,
        "permission_denied",
    )


# --- roles --------------------------------------------------------------------------------


async def test_agent_sees_and_changes_only_its_own_records(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    theirs = await create(
        client, ws.auth, "contact", {"first_name": "Owned", "email": "owned@x.io"}
    )
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    me = ok(await client.get(f"{API}/me", headers=agent))
    mine = await create(client, agent, "contact", {"first_name": "Mine", "email": "mine@x.io"})
    assert mine["owner_id"] == me["user"]["id"]
    base = f"{API}/objects/contact/records"

    listed = ok(await client.get(base, params={"include_total": "true"}, headers=agent))
    assert [r["id"] for r in listed["data"]] == [mine["id"]]
    assert listed["total"] == 1
    assert ok(await client.post(f"{base}/count", json={}, headers=agent)) == {"count": 1}
    for q in ("owned@x.io", "Owned"):
        found = ok(await client.post(f"{base}/search", json={"q": q}, headers=agent))
        assert found["data"] == [], q
    for method, url, body in [
        ("GET", f"{base}/{theirs['id']}", None),
        ("PATCH", f"{base}/{theirs['id']}", {"fields": {"first_name": "Taken"}}),
        ("DELETE", f"{base}/{theirs['id']}", None),
        ("POST", f"{base}/{theirs['id']}/archive", None),
        ("GET", f"{base}/{theirs['id']}/notes", None),
        ("POST", f"{base}/{theirs['id']}/notes", {"body": "hi"}),
        ("GET", f"{base}/{theirs['id']}/timeline", None),
    ]:
        answer = await client.request(method, url, json=body, headers=agent)
        assert_error(answer, 404, "not_found")
        assert "owned@x.io" not in answer.text

    changed = ok(
        await client.patch(
            f"{base}/{mine['id']}", json={"fields": {"city": "Austin"}}, headers=agent
        )
    )
    assert changed["fields"]["city"] == "Austin"
    ok(await client.post(f"{base}/{mine['id']}/notes", json={"body": "mine"}, headers=agent), 201)
    ok(await client.post(f"{base}/{mine['id']}/archive", headers=agent))
    ok(await client.delete(f"{base}/{mine['id']}", headers=agent), 204)
    ok(await client.post(f"{base}/{mine['id']}/restore", headers=agent))

    untouched = ok(await owner_view(client, ws, theirs["id"]))
    assert untouched["fields"]["first_name"] == "Owned"
    assert untouched["archived_at"] is None
    owner_sees = ok(await client.get(base, params={"archived": "include"}, headers=ws.auth))
    assert {r["id"] for r in owner_sees["data"]} == {theirs["id"], mine["id"]}


async def test_agent_event_feed_leaves_out_records_it_cannot_see(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    theirs = await create(client, ws.auth, "contact", {"first_name": "Hidden"})
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    feed = ok(await client.get(f"{API}/events", params={"limit": 1000}, headers=agent))
    assert theirs["id"] not in {e["record_id"] for e in feed["data"]}
    assert "Hidden" not in str(feed)
    owner_feed = ok(await client.get(f"{API}/events", params={"limit": 1000}, headers=ws.auth))
    assert theirs["id"] in {e["record_id"] for e in owner_feed["data"]}


#: What each caller gets on the owner's record, per operation.
RECORD_MATRIX: dict[str, dict[str, int]] = {
    # statuses per caller: owner, admin, agent, reader, foreign
    "get": dict(zip(CALLERS, (200, 200, 404, 200, 404), strict=True)),
    "patch": dict(zip(CALLERS, (200, 200, 404, 403, 404), strict=True)),
    "delete": dict(zip(CALLERS, (204, 204, 404, 403, 404), strict=True)),
    "archive": dict(zip(CALLERS, (200, 200, 404, 403, 404), strict=True)),
    "list_notes": dict(zip(CALLERS, (200, 200, 404, 200, 404), strict=True)),
    "add_note": dict(zip(CALLERS, (201, 201, 404, 403, 404), strict=True)),
    "timeline": dict(zip(CALLERS, (200, 200, 404, 200, 404), strict=True)),
}


def record_call(op: str, rid: str) -> tuple[str, str, dict[str, Any] | None]:
    base = f"{API}/objects/contact/records/{rid}"
    return {
        "get": ("GET", base, None),
        "patch": ("PATCH", base, {"fields": {"first_name": "Changed"}}),
        "delete": ("DELETE", base, None),
        "archive": ("POST", f"{base}/archive", None),
        "list_notes": ("GET", f"{base}/notes", None),
        "add_note": ("POST", f"{base}/notes", {"body": "a note"}),
        "timeline": ("GET", f"{base}/timeline", None),
    }[op]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("op", list(RECORD_MATRIX))
async def test_record_operations_per_caller(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, caller: str, op: str
) -> None:
    record = await create(client, ws.auth, "contact", {"first_name": "Ada", "email": "a@x.io"})
    headers = await caller_headers(caller, ws, other_ws)
    method, url, body = record_call(op, record["id"])
    answer = await client.request(method, url, json=body, headers=headers)
    expected = RECORD_MATRIX[op][caller]
    assert answer.status_code == expected, answer.text
    if expected >= 400:
        code = {403: "permission_denied", 404: "not_found"}[expected]
        assert_error(answer, expected, code)
        assert "a@x.io" not in answer.text
        after = ok(await owner_view(client, ws, record["id"]))
        assert after["fields"]["first_name"] == "Ada"
        assert after["archived_at"] is None
        notes = ok(
            await client.get(f"{API}/objects/contact/records/{record['id']}/notes", headers=ws.auth)
        )
        assert notes["data"] == []


@pytest.mark.parametrize("caller", CALLERS)
async def test_listing_per_caller(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, caller: str
) -> None:
    record = await create(client, ws.auth, "contact", {"first_name": "Ada", "email": "a@x.io"})
    headers = await caller_headers(caller, ws, other_ws)
    sees = caller in ("owner", "admin", "reader")
    base = f"{API}/objects/contact/records"
    listed = ok(await client.get(base, headers=headers))
    assert ([r["id"] for r in listed["data"]] == [record["id"]]) == sees
    assert (record["id"] in str(listed)) == sees
    counted = ok(await client.post(f"{base}/count", json={}, headers=headers))
    assert counted == {"count": 1 if sees else 0}
    found = ok(
        await client.post(
            f"{base}/search",
            json={"filter": {"field": "email", "value": "a@x.io"}},
            headers=headers,
        )
    )
    assert len(found["data"]) == (1 if sees else 0)


#: Managing the workspace: who may, with the status a success answers.
MANAGE_MATRIX: dict[str, dict[str, int]] = {
    # statuses per caller: owner, admin, agent, reader
    "create_object": dict(zip(CALLERS[:4], (201, 201, 403, 403), strict=True)),
    "patch_object": dict(zip(CALLERS[:4], (200, 200, 403, 403), strict=True)),
    "delete_object": dict(zip(CALLERS[:4], (204, 204, 403, 403), strict=True)),
    # Agents manage field definitions (admin:fields:manage), not object types.
    "create_field": dict(zip(CALLERS[:4], (201, 201, 201, 403), strict=True)),
    "patch_field": dict(zip(CALLERS[:4], (200, 200, 200, 403), strict=True)),
    "delete_field": dict(zip(CALLERS[:4], (204, 204, 204, 403), strict=True)),
    "create_pipeline": dict(zip(CALLERS[:4], (201, 201, 403, 403), strict=True)),
    "create_user": dict(zip(CALLERS[:4], (201, 201, 403, 403), strict=True)),
    "create_api_key": dict(zip(CALLERS[:4], (201, 201, 403, 403), strict=True)),
    "revoke_api_key": dict(zip(CALLERS[:4], (204, 204, 403, 403), strict=True)),
}


async def manage_call(
    client: httpx.AsyncClient, ws: Workspace, op: str
) -> tuple[str, str, dict[str, Any] | None]:
    """The request for ``op``, after the owner prepared what it acts on."""
    if op in ("patch_object", "delete_object"):
        ok(
            await client.post(
                f"{API}/objects", json={"key": "gadget", "label": "Gadget"}, headers=ws.auth
            ),
            201,
        )
    if op in ("patch_field", "delete_field"):
        ok(
            await client.post(
                f"{API}/objects/contact/fields",
                json={"key": "region", "label": "Region", "type": "text"},
                headers=ws.auth,
            ),
            201,
        )
    if op == "revoke_api_key":
        made = ok(
            await client.post(f"{API}/api-keys", json={"scopes": ["*"]}, headers=ws.auth), 201
        )
        return "DELETE", f"{API}/api-keys/{made['id']}", None
    return {
        "create_object": ("POST", f"{API}/objects", {"key": "gizmo", "label": "Gizmo"}),
        "patch_object": ("PATCH", f"{API}/objects/gadget", {"label": "Widget"}),
        "delete_object": ("DELETE", f"{API}/objects/gadget", None),
        "create_field": (
            "POST",
            f"{API}/objects/contact/fields",
            {"key": "tier", "label": "Tier", "type": "text"},
        ),
        "patch_field": ("PATCH", f"{API}/objects/contact/fields/region", {"label": "Area"}),
        "delete_field": ("DELETE", f"{API}/objects/contact/fields/region", None),
        "create_pipeline": (
            "POST",
            f"{API}/pipelines",
            {"key": "funnel", "label": "Funnel", "object": "lead", "stages": [{"name": "New"}]},
        ),
        "create_user": ("POST", f"{API}/users", {"email": "new@x.io", "name": "New"}),
        "create_api_key": ("POST", f"{API}/api-keys", {"scopes": ["read:crm"]}),
    }[op]


async def metadata_snapshot(client: httpx.AsyncClient, ws: Workspace) -> str:
    objects = ok(await client.get(f"{API}/objects", headers=ws.auth))
    users = ok(await client.get(f"{API}/users", headers=ws.auth))
    pipelines = ok(await client.get(f"{API}/pipelines", headers=ws.auth))
    return str((objects, users, pipelines))


@pytest.mark.parametrize("caller", CALLERS[:4])
@pytest.mark.parametrize("op", list(MANAGE_MATRIX))
async def test_managing_the_workspace_per_caller(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, caller: str, op: str
) -> None:
    headers = await caller_headers(caller, ws, other_ws)
    method, url, body = await manage_call(client, ws, op)
    before = await metadata_snapshot(client, ws)
    answer = await client.request(method, url, json=body, headers=headers)
    expected = MANAGE_MATRIX[op][caller]
    assert answer.status_code == expected, answer.text
    after = await metadata_snapshot(client, ws)
    if expected == 403:
        assert_error(answer, 403, "permission_denied")
        assert after == before
    elif op != "revoke_api_key" and op != "create_api_key":
        assert after != before


async def test_admin_and_agent_keys_made_through_the_api(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    admin = bearer(await ws.add_key(role="admin", email="admin@x.io"))
    made = ok(
        await client.post(
            f"{API}/api-keys", json={"scopes": ["contact:read"], "role": "agent"}, headers=admin
        ),
        201,
    )
    assert (made["scopes"], made["role"]) == (["contact:read"], "agent")
    me = ok(await client.get(f"{API}/me", headers=bearer(made["api_key"])))
    assert (me["role"], me["scopes"]) == ("agent", ["contact:read"])


# --- /me, /users, /api-keys ---------------------------------------------------------------


async def test_me_per_caller(client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace) -> None:
    owner = ok(await client.get(f"{API}/me", headers=ws.auth))
    assert owner["workspace_id"] == str(ws.uuid)
    assert owner["role"] == "owner"
    assert owner["scopes"] == ["*"]
    assert owner["user"]["email"] == "owner@example.com"
    assert set(owner) == {"workspace_id", "user", "role", "permissions", "scopes"}
    assert set(owner["user"]) == {"id", "email", "name"}

    agent = ok(await client.get(f"{API}/me", headers=await caller_headers("agent", ws, other_ws)))
    assert agent["workspace_id"] == str(ws.uuid)
    assert (agent["role"], agent["user"]["email"]) == ("agent", "agent@x.io")
    assert agent["user"]["id"] != owner["user"]["id"]
    assert "*:*:viewown" in agent["permissions"]
    assert [p for p in agent["permissions"] if p.startswith("admin:")] == ["admin:fields:manage"]

    reader = ok(await client.get(f"{API}/me", headers=await caller_headers("reader", ws, other_ws)))
    assert (reader["role"], reader["scopes"]) == ("owner", ["read:crm"])
    assert reader["user"]["id"] == owner["user"]["id"]

    foreign = ok(await client.get(f"{API}/me", headers=other_ws.auth))
    assert foreign["workspace_id"] == str(other_ws.uuid)
    assert foreign["user"]["id"] != owner["user"]["id"]


async def test_users_list_and_create(client: httpx.AsyncClient, ws: Workspace) -> None:
    users = ok(await client.get(f"{API}/users", headers=ws.auth))["data"]
    assert [u["email"] for u in users] == ["owner@example.com"]
    assert set(users[0]) == set(USER_ATTRIBUTES)
    made = ok(
        await client.post(
            f"{API}/users",
            json={"email": "Grace@Example.com", "name": "Grace", "role": "admin"},
            headers=ws.auth,
        ),
        201,
    )
    assert set(made) == set(USER_ATTRIBUTES)
    assert (made["email"], made["name"], made["role"]) == ("grace@example.com", "Grace", "admin")
    listed = ok(await client.get(f"{API}/users", headers=ws.auth))["data"]
    assert [(u["id"], u["email"], u["active"]) for u in listed][1:] == [
        (made["id"], "grace@example.com", True)
    ]
    # The new user can own records.
    owned = await client.post(
        f"{API}/objects/contact/records",
        json={"fields": {"first_name": "Ada"}, "owner_id": made["id"]},
        headers=ws.auth,
    )
    assert ok(owned, 201)["owner_id"] == made["id"]
    plain = ok(
        await client.post(f"{API}/users", json={"email": "a@x.io", "name": "A"}, headers=ws.auth),
        201,
    )
    assert plain["role"] == "agent"


@pytest.mark.parametrize("email", ["grace@example.com", "GRACE@example.com", " grace@example.com"])
async def test_duplicate_user_email_is_409(
    client: httpx.AsyncClient, ws: Workspace, email: str
) -> None:
    ok(
        await client.post(
            f"{API}/users", json={"email": "grace@example.com", "name": "Grace"}, headers=ws.auth
        ),
        201,
    )
    assert_error(
        await client.post(f"{API}/users", json={"email": email, "name": "Other"}, headers=ws.auth),
        409,
        "conflict",
    )
    users = ok(await client.get(f"{API}/users", headers=ws.auth))["data"]
    assert len(users) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "a@", "name": "X"}, "email"),
        ({"email": "@x.io", "name": "X"}, "email"),
        ({"email": "", "name": "X"}, "email"),
        ({"email": "a b@x.io", "name": "X"}, "email"),
        ({"email": 5, "name": "X"}, "email"),
        ({"email": "a@x.io", "name": "   "}, "name"),
        ({"email": "a@x.io", "name": "X", "role": "emperor"}, "role"),
        ({"email": "a@x.io"}, "name"),
        ({"email": "a@x.io", "name": "X", "admin": True}, "admin"),
    ],
)
async def test_bad_user_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    error = assert_error(
        await client.post(f"{API}/users", json=body, headers=ws.auth), 422, "validation_failed"
    )
    assert field in [d["field"] for d in error["details"]]
    users = ok(await client.get(f"{API}/users", headers=ws.auth))["data"]
    assert len(users) == 1


async def test_api_key_create_answers_a_working_key(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = ok(
        await client.post(
            f"{API}/api-keys",
            json={"name": "Zapier", "scopes": ["contact:read", "contact:list"]},
            headers=ws.auth,
        ),
        201,
    )
    assert set(made) == {"id", "api_key", "scopes", "role", "name"}
    assert made["api_key"].startswith("ak_")
    assert (made["name"], made["scopes"], made["role"]) == (
        "Zapier",
        ["contact:read", "contact:list"],
        "owner",
    )
    key = bearer(made["api_key"])
    assert ok(await client.get(f"{API}/objects/contact/records", headers=key)) == {
        "data": [],
        "next_cursor": None,
    }
    assert_error(
        await client.get(f"{API}/objects/deal/records", headers=key), 403, "permission_denied"
    )
    default = ok(await client.post(f"{API}/api-keys", json={}, headers=ws.auth), 201)
    assert sorted(default["scopes"]) == ["read:crm", "write:crm"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["contact:fly"]}, "scopes"),
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": ["read:crm", "Contact:read"]}, "scopes"),
        ({"scopes": ["contact:read "]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": "read:crm"}, "scopes"),
        ({"scopes": [None]}, "scopes.0"),
        ({"scopes": ["*"], "role": "emperor"}, "role"),
        ({"scopes": ["*"], "expires": "never"}, "expires"),
    ],
)
async def test_bad_api_key_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(f"{API}/api-keys", json=body, headers=ws.auth)
    error = assert_error(answer, 422, "validation_failed")
    assert field in [d["field"] for d in error["details"]]
    assert "ak_" not in answer.text


async def test_a_key_cannot_issue_a_key_with_more_scopes(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    narrow = bearer(await ws.add_key(scopes=["apikey:create"]))
    answer = await client.post(f"{API}/api-keys", json={"scopes": ["*"]}, headers=narrow)
    assert answer.status_code == 403, answer.text


@pytest.mark.parametrize(
    ("held", "asked", "status"),
    [
        (["apikey:create"], ["*"], 403),
        (["apikey:create", "read:crm"], ["write:crm"], 403),
        (["apikey:create", "read:crm"], ["contact:read"], 201),
        (["apikey:create", "write:crm"], ["read:crm", "deal:delete"], 201),
        (["apikey:create", "contact:*"], ["contact:*", "contact:update"], 201),
        (["apikey:create", "contact:read"], ["contact:*"], 403),
    ],
)
async def test_a_key_grants_only_scopes_it_holds(
    client: httpx.AsyncClient, ws: Workspace, held: list[str], asked: list[str], status: int
) -> None:
    issuer = bearer(await ws.add_key(scopes=held))
    answer = await client.post(f"{API}/api-keys", json={"scopes": asked}, headers=issuer)
    assert answer.status_code == status, answer.text


async def test_an_admin_cannot_make_owners(client: httpx.AsyncClient, ws: Workspace) -> None:
    admin = bearer(await ws.add_key(role="admin", email="admin@example.com"))
    owner_key = await client.post(
        f"{API}/api-keys", json={"role": "owner", "scopes": ["read:crm"]}, headers=admin
    )
    assert owner_key.status_code == 403
    owner_user = await client.post(
        f"{API}/users",
        json={"email": "boss@example.com", "name": "Boss", "role": "owner"},
        headers=admin,
    )
    assert owner_user.status_code == 403
    agent_user = await client.post(
        f"{API}/users",
        json={"email": "rep@example.com", "name": "Rep", "role": "agent"},
        headers=admin,
    )
    assert agent_user.status_code == 201
