"""A key's revocation, its role's new permissions and its user's deactivation count from the
very next request, in this server process and in every other, however they were made."""

from __future__ import annotations

import http.client
import json
from typing import Any

import httpx
import sqlalchemy as sa

from crm.core.auth.credentials import key_digest
from crm.db.engine import transaction
from tests.api.served_support import served
from tests.conftest import Workspace, assert_error, bearer

API = "/api/v1"


async def _sql(ws: Workspace, sql: str, key: str, **params: Any) -> None:
    """Run ``sql`` as an operator would, outside the server, naming ``key``'s digest ``:h``."""
    async with transaction(ws.engine, write=True) as conn:
        await conn.execute(sa.text(sql), {"h": key_digest(key), **params})


async def _revoke(ws: Workspace, key: str) -> None:
    await _sql(ws, "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE key_hash = :h", key)


async def _set_permissions(ws: Workspace, key: str, permissions: list[str]) -> None:
    await _sql(
        ws,
        "UPDATE roles SET permissions = :p WHERE id = "
        "(SELECT role_id FROM api_keys WHERE key_hash = :h)",
        key,
        p=json.dumps(permissions),
    )


async def _deactivate(ws: Workspace, key: str) -> None:
    await _sql(
        ws,
        "UPDATE users SET active = false WHERE id = "
        "(SELECT user_id FROM api_keys WHERE key_hash = :h)",
        key,
    )


async def test_a_key_revoked_in_sql_is_401_on_the_next_request(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    raw = await ws.add_key()
    assert (await client.get(f"{API}/me", headers=bearer(raw))).status_code == 200
    await _revoke(ws, raw)
    assert_error(await client.get(f"{API}/me", headers=bearer(raw)), 401, "unauthenticated")
    assert (await client.get(f"{API}/me", headers=ws.auth)).status_code == 200


async def test_a_roles_permissions_changed_in_sql_apply_on_the_next_request(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    raw = await ws.add_key(role="agent", email="agent@x.io")
    contact = {"fields": {"first_name": "Ada"}}
    made = await client.post(f"{API}/objects/contact/records", json=contact, headers=bearer(raw))
    assert made.status_code == 201
    await _set_permissions(ws, raw, ["*:*:viewown"])
    me = (await client.get(f"{API}/me", headers=bearer(raw))).json()
    assert (me["role"], me["permissions"]) == ("agent", ["*:*:viewown"])
    answer = await client.post(f"{API}/objects/contact/records", json=contact, headers=bearer(raw))
    assert_error(answer, 403, "permission_denied")
    # Given back, at once too.
    await _set_permissions(ws, raw, ["*:*:viewown", "*:*:create"])
    answer = await client.post(f"{API}/objects/contact/records", json=contact, headers=bearer(raw))
    assert answer.status_code == 201


async def test_a_user_deactivated_in_sql_is_401_on_the_next_request(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    raw = await ws.add_key(role="admin", email="admin@x.io")
    assert (await client.get(f"{API}/objects", headers=bearer(raw))).status_code == 200
    await _deactivate(ws, raw)
    assert_error(await client.get(f"{API}/objects", headers=bearer(raw)), 401, "unauthenticated")
    assert (await client.get(f"{API}/objects", headers=ws.auth)).status_code == 200


def _ask(port: int, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    """One request to a served process: its status and JSON body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        conn.request(method, API + path, body=json.dumps(body) if body else None, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, json.loads(data) if data else None
    finally:
        conn.close()


def _statuses(ports: tuple[int, ...], key: str) -> list[int]:
    return [_ask(port, "GET", "/me", key)[0] for port in ports]


async def test_changes_count_at_once_in_every_server_process(
    database_url: str, ws: Workspace
) -> None:
    with served([], {}, database_url) as first, served([], {}, database_url) as second:
        ports = (first, second)
        status, revoked = _ask(first, "POST", "/api-keys", ws.key, {"scopes": ["*"]})
        assert status == 201
        agent = await ws.add_key(role="agent", email="a@x.io")
        admin = await ws.add_key(role="admin", email="b@x.io")
        for key in (revoked["api_key"], agent, admin):
            assert _statuses(ports, key) == [200, 200]  # known to both processes
        # Revoked through one process: the other refuses it on its next request.
        assert _ask(first, "DELETE", f"/api-keys/{revoked['id']}", ws.key)[0] == 204
        assert _statuses((second, first), revoked["api_key"]) == [401, 401]
        # A role changed and a user deactivated in SQL: both processes see it at once.
        await _set_permissions(ws, agent, ["*:*:viewown"])
        assert [_ask(p, "GET", "/me", agent)[1]["permissions"] for p in ports] == [
            ["*:*:viewown"]
        ] * 2
        await _deactivate(ws, admin)
        assert _statuses(ports, admin) == [401, 401]
        assert _statuses(ports, ws.key) == [200, 200]
