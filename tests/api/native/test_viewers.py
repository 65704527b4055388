"""Record viewers: sharing a record for reading with users whose role would not show it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"


# --- helpers ------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], fields: dict[str, Any], obj: str = "contact"
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def viewers_url(record_id: str, obj: str = "contact") -> str:
    return f"{API}/objects/{obj}/records/{record_id}/viewers"


async def share(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, *users: str
) -> list[dict[str, Any]]:
    answer = await client.post(viewers_url(record_id), json={"users": list(users)}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def viewers(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str
) -> list[dict[str, Any]]:
    answer = await client.get(viewers_url(record_id), headers=headers)
    assert answer.status_code == 200, answer.text
    assert list(answer.json()) == ["data"]
    return list(answer.json()["data"])


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get(f"{API}/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["user"])


def as_viewer(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "email": user["email"], "name": user["name"], "active": True}


async def listed_ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> set[str]:
    answer = await client.get(CONTACTS, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return {r["id"] for r in answer.json()["data"]}


async def searched_ids(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> set[str]:
    answer = await client.post(f"{CONTACTS}/search", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return {r["id"] for r in answer.json()["data"]}


async def counted(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> int:
    answer = await client.post(f"{CONTACTS}/count", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


async def feed(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/events?after=0&limit=1000", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["data"] if e["type"] == kind]


@pytest.fixture
async def agent(ws: Workspace) -> dict[str, str]:
    """The key of an agent (may see, change and delete only their own records)."""
    return bearer(await ws.add_key(role="agent", email="agent@acme.io"))


# --- sharing ------------------------------------------------------------------------------


async def test_share_list_and_unshare(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada", "email": "ada@x.io"})
    url = f"{CONTACTS}/{record['id']}"
    assert await viewers(client, ws.auth, record["id"]) == []
    assert_error(await client.get(url, headers=agent), 404, "not_found")

    agent_user = await me(client, agent)
    assert await share(client, ws.auth, record["id"], "agent@acme.io") == [as_viewer(agent_user)]
    assert await viewers(client, ws.auth, record["id"]) == [as_viewer(agent_user)]
    seen = await client.get(url, headers=agent)
    assert seen.status_code == 200, seen.text
    assert seen.json() == (await client.get(url, headers=ws.auth)).json()

    answer = await client.delete(
        viewers_url(record["id"]) + f"/{agent_user['id']}", headers=ws.auth
    )
    assert answer.status_code == 204
    assert answer.content == b""
    assert await viewers(client, ws.auth, record["id"]) == []
    assert_error(await client.get(url, headers=agent), 404, "not_found")


async def test_share_by_id_or_email_in_any_case(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    other = bearer(await ws.add_key(role="agent", email="bea@acme.io"))
    admin = bearer(await ws.add_key(role="admin", email="cy@acme.io"))
    record = await create(client, ws.auth, {"first_name": "Ada"})
    agent_user, bea, cy = [await me(client, h) for h in (agent, other, admin)]
    shared = await share(
        client, ws.auth, record["id"], " cy@acme.io ", "AGENT@Acme.io", bea["id"].upper()
    )
    # Sorted by email.
    assert shared == [as_viewer(agent_user), as_viewer(bea), as_viewer(cy)]


async def test_sharing_again_changes_nothing(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    first = await share(client, ws.auth, record["id"], "agent@acme.io")
    again = await share(client, ws.auth, record["id"], "agent@acme.io", "Agent@acme.io")
    assert again == first
    assert await share(client, ws.auth, record["id"]) == first
    assert await viewers(client, ws.auth, record["id"]) == first
    [event] = await feed(client, ws, "record.shared")
    assert event["record_id"] == record["id"]
    assert event["object"] == "contact"
    assert event["data"]["users"] == [first[0]["id"]]
    assert event["actor_id"] == (await me(client, ws.auth))["id"]


async def test_unshare_by_email_and_events(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    [agent_user] = await share(client, ws.auth, record["id"], "agent@acme.io")
    answer = await client.delete(viewers_url(record["id"]) + "/Agent@Acme.io", headers=ws.auth)
    assert answer.status_code == 204
    assert await viewers(client, ws.auth, record["id"]) == []
    [event] = await feed(client, ws, "record.unshared")
    assert event["record_id"] == record["id"]
    assert event["data"]["users"] == [agent_user["id"]]


async def test_sharing_one_record_shows_only_that_one(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    shared = await create(client, ws.auth, {"first_name": "Shared", "city": "Oslo"})
    hidden = await create(client, ws.auth, {"first_name": "Hidden", "city": "Oslo"})
    own = await create(client, agent, {"first_name": "Own", "city": "Oslo"})
    assert await listed_ids(client, agent) == {own["id"]}
    await share(client, ws.auth, shared["id"], "agent@acme.io")

    assert await listed_ids(client, agent) == {own["id"], shared["id"]}
    assert await listed_ids(client, agent, q="shared") == {shared["id"]}
    assert await listed_ids(client, agent, q="hidden") == set()
    oslo = {"filter": {"field": "city", "op": "eq", "value": "Oslo"}}
    assert await searched_ids(client, agent, oslo) == {own["id"], shared["id"]}
    assert await counted(client, agent, oslo) == 2
    assert await counted(client, agent, {}) == 2
    answer = await client.get(CONTACTS, params={"include_total": "true"}, headers=agent)
    assert answer.json()["total"] == 2
    assert_error(await client.get(f"{CONTACTS}/{hidden['id']}", headers=agent), 404, "not_found")
    # The owner still sees everything.
    assert await listed_ids(client, ws.auth) == {own["id"], shared["id"], hidden["id"]}


async def test_a_shared_records_notes_and_timeline_are_readable(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    url = f"{CONTACTS}/{record['id']}"
    note = await client.post(f"{url}/notes", json={"body": "Private?"}, headers=ws.auth)
    assert note.status_code == 201, note.text
    assert_error(await client.get(f"{url}/notes", headers=agent), 404, "not_found")
    assert_error(await client.get(f"{url}/timeline", headers=agent), 404, "not_found")
    assert_error(await client.get(viewers_url(record["id"]), headers=agent), 404, "not_found")

    await share(client, ws.auth, record["id"], "agent@acme.io")
    notes = await client.get(f"{url}/notes", headers=agent)
    assert notes.status_code == 200, notes.text
    assert notes.json()["data"] == [note.json()]
    timeline = await client.get(f"{url}/timeline", headers=agent)
    assert timeline.status_code == 200, timeline.text
    assert "record.created" in [e["type"] for e in timeline.json()["data"]]
    assert [u["email"] for u in await viewers(client, agent, record["id"])] == ["agent@acme.io"]


async def test_a_shared_record_is_not_editable_by_the_viewer(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada", "city": "Paris"})
    url = f"{CONTACTS}/{record['id']}"
    await share(client, ws.auth, record["id"], "agent@acme.io")
    answer = await client.patch(url, json={"fields": {"city": "Nice"}}, headers=agent)
    assert_error(answer, 403, "permission_denied")
    assert_error(await client.delete(url, headers=agent), 403, "permission_denied")
    assert_error(await client.post(f"{url}/archive", headers=agent), 403, "permission_denied")
    current = await client.get(url, headers=ws.auth)
    assert current.json() == record


async def test_an_agent_cannot_share_what_they_may_not_edit(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    await ws.add_key(role="agent", email="bea@acme.io")
    record = await create(client, ws.auth, {"first_name": "Ada"})
    # Not visible at all: 404, as for any record the caller may not see.
    answer = await client.post(
        viewers_url(record["id"]), json={"users": ["bea@acme.io"]}, headers=agent
    )
    assert_error(answer, 404, "not_found")
    # Visible (shared), but not the agent's to change: 403.
    await share(client, ws.auth, record["id"], "agent@acme.io")
    answer = await client.post(
        viewers_url(record["id"]), json={"users": ["bea@acme.io"]}, headers=agent
    )
    assert_error(answer, 403, "permission_denied")
    answer = await client.delete(viewers_url(record["id"]) + "/agent@acme.io", headers=agent)
    assert_error(answer, 403, "permission_denied")
    assert [u["email"] for u in await viewers(client, ws.auth, record["id"])] == ["agent@acme.io"]


async def test_an_agent_shares_their_own_record(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    bea = bearer(await ws.add_key(role="agent", email="bea@acme.io"))
    mine = await create(client, agent, {"first_name": "Mine"})
    assert_error(await client.get(f"{CONTACTS}/{mine['id']}", headers=bea), 404, "not_found")
    await share(client, agent, mine["id"], "bea@acme.io")
    seen = await client.get(f"{CONTACTS}/{mine['id']}", headers=bea)
    assert seen.status_code == 200, seen.text
    answer = await client.delete(viewers_url(mine["id"]) + "/bea@acme.io", headers=agent)
    assert answer.status_code == 204
    assert_error(await client.get(f"{CONTACTS}/{mine['id']}", headers=bea), 404, "not_found")


async def test_sharing_survives_only_while_the_record_lives(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    url = f"{CONTACTS}/{record['id']}"
    await share(client, ws.auth, record["id"], "agent@acme.io")
    assert (await client.delete(url, headers=ws.auth)).status_code == 204
    assert_error(await client.get(url, headers=agent), 404, "not_found")
    assert_error(await client.get(viewers_url(record["id"]), headers=ws.auth), 404, "not_found")
    assert (await client.post(f"{url}/restore", headers=ws.auth)).status_code == 200
    assert (await client.get(url, headers=agent)).status_code == 200


async def test_sharing_works_for_any_object(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")
    url = f"{API}/objects/deal/records/{deal['id']}"
    assert_error(await client.get(url, headers=agent), 404, "not_found")
    answer = await client.post(f"{url}/viewers", json={"users": ["agent@acme.io"]}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert (await client.get(url, headers=agent)).status_code == 200
    # Shared as a deal, not as a contact.
    answer = await client.get(viewers_url(deal["id"], "contact"), headers=ws.auth)
    assert_error(answer, 404, "not_found")


# --- refusals -----------------------------------------------------------------------------


async def test_unknown_user_detail_names_the_users_attribute(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    answer = await client.post(
        viewers_url(record["id"]), json={"users": ["nobody@acme.io"]}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["users"]


@pytest.mark.parametrize(
    "users",
    [["nobody@acme.io"], ["agent@acme.io", "nobody@acme.io"], [str(uuid.uuid4())], ["not an id"]],
)
async def test_sharing_with_an_unknown_user_is_422(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str], users: list[str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    answer = await client.post(viewers_url(record["id"]), json={"users": users}, headers=ws.auth)
    error = assert_error(answer, 422, "validation_failed")
    assert len(error["details"]) == 1
    unknown = next(u for u in users if u != "agent@acme.io")
    assert unknown in error["details"][0]["message"]
    # Nothing is shared, the known user either.
    assert await viewers(client, ws.auth, record["id"]) == []
    assert await feed(client, ws, "record.shared") == []


async def test_sharing_with_another_workspaces_user_is_422(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    stranger = await me(client, bearer(await other_ws.add_key(email="zed@globex.io")))
    owner = await me(client, other_ws.auth)
    for ref in (stranger["id"], stranger["email"], owner["id"]):
        answer = await client.post(
            viewers_url(record["id"]), json={"users": [ref]}, headers=ws.auth
        )
        assert_error(answer, 422, "validation_failed")
    assert await viewers(client, ws.auth, record["id"]) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["users"]),
        ({"users": "agent@acme.io"}, ["users"]),
        ({"users": [5]}, ["users.0"]),
        ({"users": ["agent@acme.io"], "role": "editor"}, ["role"]),
    ],
)
async def test_bad_share_body_is_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    agent: dict[str, str],
    body: dict[str, Any],
    fields: list[str],
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    answer = await client.post(viewers_url(record["id"]), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await viewers(client, ws.auth, record["id"]) == []


async def test_malformed_share_body_is_400(client: httpx.AsyncClient, ws: Workspace) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    answer = await client.post(
        viewers_url(record["id"]),
        content=b'{"users": [nope]}',
        headers={**ws.auth, "Content-Type": "application/json"},
    )
    assert_error(answer, 400, "malformed_request")


async def test_removing_a_user_it_was_not_shared_with_is_404(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    await ws.add_key(role="agent", email="bea@acme.io")
    record = await create(client, ws.auth, {"first_name": "Ada"})
    await share(client, ws.auth, record["id"], "agent@acme.io")
    for user in ("bea@acme.io", "nobody@acme.io", str(uuid.uuid4()), "x"):
        answer = await client.delete(viewers_url(record["id"]) + f"/{user}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
    assert (
        await client.delete(viewers_url(record["id"]) + "/agent@acme.io", headers=ws.auth)
    ).status_code == 204
    answer = await client.delete(viewers_url(record["id"]) + "/agent@acme.io", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert len(await feed(client, ws, "record.unshared")) == 1


async def test_another_workspaces_record_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    await share(client, ws.auth, record["id"], "agent@acme.io")
    url = viewers_url(record["id"])
    stranger = await me(client, other_ws.auth)
    assert_error(await client.get(url, headers=other_ws.auth), 404, "not_found")
    for users in (["agent@acme.io"], [stranger["id"]]):
        answer = await client.post(url, json={"users": users}, headers=other_ws.auth)
        assert_error(answer, 404, "not_found")
    answer = await client.delete(f"{url}/agent@acme.io", headers=other_ws.auth)
    assert_error(answer, 404, "not_found")
    assert [u["email"] for u in await viewers(client, ws.auth, record["id"])] == ["agent@acme.io"]


async def test_unknown_record_or_object_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    for url in (
        viewers_url(str(uuid.uuid4())),
        viewers_url("not-a-record"),
        f"{API}/objects/spaceship/records/{uuid.uuid4()}/viewers",
    ):
        assert_error(await client.get(url, headers=ws.auth), 404, "not_found")
        answer = await client.post(url, json={"users": []}, headers=ws.auth)
        assert_error(answer, 404, "not_found")
        assert_error(await client.delete(f"{url}/x@acme.io", headers=ws.auth), 404, "not_found")


async def test_missing_scope_is_403(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    record = await create(client, ws.auth, {"first_name": "Ada"})
    await share(client, ws.auth, record["id"], "agent@acme.io")
    assert [u["email"] for u in await viewers(client, reader, record["id"])] == ["agent@acme.io"]
    answer = await client.post(
        viewers_url(record["id"]), json={"users": ["agent@acme.io"]}, headers=reader
    )
    assert_error(answer, 403, "permission_denied")
    answer = await client.delete(viewers_url(record["id"]) + "/agent@acme.io", headers=reader)
    assert_error(answer, 403, "permission_denied")
    assert [u["email"] for u in await viewers(client, ws.auth, record["id"])] == ["agent@acme.io"]


async def test_without_a_key_is_401(client: httpx.AsyncClient, ws: Workspace) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    assert_error(await client.get(viewers_url(record["id"])), 401, "unauthenticated")
