"""The native API's webhook subscriptions: made, shown, changed and deleted by the
workspace's managers with the webhook scope; the secret shown once; URLs, event types
and objects checked; other workspaces' subscriptions out of sight."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.core.webhooks.subscriptions import MAX_SUBSCRIPTIONS
from tests.conftest import Workspace, assert_error, bearer, detail_fields
from tests.worker.webhook_support import hook_settings

HOOKS = "/api/v1/webhooks"
URL = "http://127.0.0.1:9/hook"


@pytest.fixture(scope="module")
def hook_app(engine: AsyncEngine, database_url: str) -> Any:
    """The server, allowing webhooks to loopback (the suite's own app allows none)."""
    return create_app(hook_settings(database_url), engine=engine)


@pytest.fixture
async def api(hook_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _make(api: httpx.AsyncClient, ws: Workspace, **spec: Any) -> dict[str, Any]:
    answer = await api.post(HOOKS, json={"url": URL, **spec}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_subscription_is_made_listed_changed_and_deleted(
    api: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await _make(api, ws, events=["record.created", "note.created"], objects=["contact"])
    assert made["secret"].startswith("whsec_")
    assert made["url"] == URL
    assert made["events"] == ["note.created", "record.created"]
    assert made["objects"] == ["contact"]
    assert (made["active"], made["status"], made["failure"]) == (True, "active", None)
    shown = (await api.get(f"{HOOKS}/{made['id']}", headers=ws.auth)).json()
    assert "secret" not in shown
    assert shown == {k: v for k, v in made.items() if k != "secret"}
    everything = await _make(api, ws)
    assert (everything["events"], everything["objects"]) == (["*"], ["*"])
    listed = (await api.get(HOOKS, headers=ws.auth)).json()["data"]
    assert [s["id"] for s in listed] == [made["id"], everything["id"]]
    assert all("secret" not in s for s in listed)

    changed = await api.patch(
        f"{HOOKS}/{made['id']}",
        json={"url": "http://127.0.0.1:10/other", "events": ["*"], "active": False},
        headers=ws.auth,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["url"], body["events"], body["objects"], body["active"]) == (
        "http://127.0.0.1:10/other",
        ["*"],
        ["contact"],
        False,
    )
    assert "secret" not in body
    assert (await api.delete(f"{HOOKS}/{made['id']}", headers=ws.auth)).status_code == 204
    assert_error(await api.get(f"{HOOKS}/{made['id']}", headers=ws.auth), 404, "not_found")
    assert_error(await api.delete(f"{HOOKS}/{made['id']}", headers=ws.auth), 404, "not_found")
    assert [s["id"] for s in (await api.get(HOOKS, headers=ws.auth)).json()["data"]] == [
        everything["id"]
    ]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://10.0.0.7/hook", "10.0.0.7 is a private address"),
        ("http://localhost:8000/hook", "is a loopback address"),
        ("http://169.254.169.254/latest", "link-local"),
        ("ftp://example.com/", "http or https"),
        ("http://nothing.invalid/", "does not resolve"),
    ],
)
async def test_a_url_webhooks_may_not_call_is_refused_on_url_saying_why(
    client: httpx.AsyncClient, ws: Workspace, url: str, says: str
) -> None:
    error = assert_error(
        await client.post(HOOKS, json={"url": url}, headers=ws.auth), 422, "validation_failed"
    )
    assert [d["field"] for d in error["details"]] == ["url"]
    assert says in error["details"][0]["message"]


async def test_a_changed_url_is_checked_as_a_new_one(
    client: httpx.AsyncClient, api: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await _make(api, ws)
    refused = await client.patch(
        f"{HOOKS}/{made['id']}", json={"url": "http://127.0.0.1/x"}, headers=ws.auth
    )
    assert refused.status_code == 422
    assert detail_fields(refused) == ["url"]


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({"events": ["record created"]}, ["events[0]"]),
        ({"events": []}, ["events"]),
        ({"events": ["record.created", "Bad"]}, ["events[1]"]),
        ({"objects": ["contact", "spaceship"]}, ["objects[1]"]),
        ({"objects": []}, ["objects"]),
        ({"url": None}, ["url"]),
    ],
)
async def test_what_a_subscription_asks_for_is_checked(
    api: httpx.AsyncClient, ws: Workspace, spec: dict[str, Any], fields: list[str]
) -> None:
    refused = await api.post(HOOKS, json={"url": URL, **spec}, headers=ws.auth)
    assert refused.status_code == 422, refused.text
    assert detail_fields(refused) == fields


@pytest.mark.parametrize("name", ["url", "events", "objects", "active"])
async def test_a_change_may_not_set_an_attribute_to_null(
    api: httpx.AsyncClient, ws: Workspace, name: str
) -> None:
    made = await _make(api, ws)
    refused = await api.patch(f"{HOOKS}/{made['id']}", json={name: None}, headers=ws.auth)
    assert refused.status_code == 422
    assert detail_fields(refused) == [name]


async def test_a_workspace_has_a_bounded_number_of_subscriptions(
    api: httpx.AsyncClient, ws: Workspace
) -> None:
    for _ in range(MAX_SUBSCRIPTIONS):
        await _make(api, ws)
    assert_error(await api.post(HOOKS, json={"url": URL}, headers=ws.auth), 409, "conflict")


async def test_managing_webhooks_takes_the_webhook_scope_and_a_managing_role(
    api: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await _make(api, ws)
    one = f"{HOOKS}/{made['id']}"
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    assert (await api.get(HOOKS, headers=reader)).status_code == 200
    assert (await api.get(f"{one}/deliveries", headers=reader)).status_code == 200
    for answer in (
        await api.post(HOOKS, json={"url": URL}, headers=reader),
        await api.patch(one, json={"active": False}, headers=reader),
        await api.post(f"{one}/rotate", headers=reader),
        await api.delete(one, headers=reader),
    ):
        assert_error(answer, 403, "permission_denied")
    contacts_only = bearer(await ws.add_key(scopes=["contact:*"]))
    assert_error(await api.get(HOOKS, headers=contacts_only), 403, "permission_denied")
    hooks_only = bearer(await ws.add_key(scopes=["webhook:*"]))
    assert (await api.post(HOOKS, json={"url": URL}, headers=hooks_only)).status_code == 201
    agent = bearer(await ws.add_key(role="agent", email="agent@example.com"))
    assert_error(await api.get(HOOKS, headers=agent), 403, "permission_denied")
    assert_error(await api.post(HOOKS, json={"url": URL}, headers=agent), 403, "permission_denied")
    admin = bearer(await ws.add_key(role="admin", email="admin@example.com"))
    assert (await api.get(one, headers=admin)).status_code == 200
    assert (await api.post(HOOKS, json={"url": URL}, headers=admin)).status_code == 201


async def test_a_refused_caller_learns_nothing_of_the_url(
    api: httpx.AsyncClient, ws: Workspace
) -> None:
    """The role is checked before the URL: no 422 about a host to a caller who may not
    manage webhooks."""
    agent = bearer(await ws.add_key(role="agent", email="agent@example.com"))
    answer = await api.post(HOOKS, json={"url": "http://10.0.0.1/"}, headers=agent)
    assert_error(answer, 403, "permission_denied")


async def test_another_workspace_sees_none_of_the_subscriptions(
    api: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    made = await _make(api, ws)
    one = f"{HOOKS}/{made['id']}"
    assert (await api.get(HOOKS, headers=other_ws.auth)).json()["data"] == []
    for answer in (
        await api.get(one, headers=other_ws.auth),
        await api.patch(one, json={"active": False}, headers=other_ws.auth),
        await api.post(f"{one}/rotate", headers=other_ws.auth),
        await api.get(f"{one}/deliveries", headers=other_ws.auth),
        await api.post(f"{one}/replay", json={"event_id": made["id"]}, headers=other_ws.auth),
        await api.delete(one, headers=other_ws.auth),
    ):
        assert_error(answer, 404, "not_found")
    assert (await api.get(one, headers=ws.auth)).json()["active"] is True


async def test_a_rotation_grace_is_bounded(api: httpx.AsyncClient, ws: Workspace) -> None:
    made = await _make(api, ws)
    refused = await api.post(
        f"{HOOKS}/{made['id']}/rotate?grace_seconds=999999999", headers=ws.auth
    )
    assert refused.status_code == 422
