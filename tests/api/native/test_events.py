"""The event log through the native API: every change, a record's timeline, the feed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import Workspace

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"
DEALS = f"{API}/objects/deal/records"


# --- helpers ------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, ws: Workspace, url: str = CONTACTS, **values: Any
) -> dict[str, Any]:
    answer = await client.post(url, json={"fields": values}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def patch(client: httpx.AsyncClient, ws: Workspace, url: str, **body: Any) -> dict[str, Any]:
    answer = await client.patch(url, json=body, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def timeline(client: httpx.AsyncClient, ws: Workspace, url: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{url}/timeline", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def feed(
    client: httpx.AsyncClient, ws: Workspace, after: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {} if after is None else {"after": after}
    if limit is not None:
        params["limit"] = limit
    answer = await client.get(f"{API}/events", params=params, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def feed_end(client: httpx.AsyncClient, ws: Workspace) -> str | None:
    """The id of the workspace's latest event, to read only what follows."""
    after = None
    while True:
        page = await feed(client, ws, after, limit=1000)
        if not page["data"]:
            return after
        after = page["next_after"]


async def me(client: httpx.AsyncClient, ws: Workspace) -> str:
    answer = await client.get(f"{API}/me", headers=ws.auth)
    return str(answer.json()["user"]["id"])


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


# --- every change is an event -------------------------------------------------------------


async def test_create_is_an_event_with_every_value(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    start = await feed_end(client, ws)
    made = await create(client, ws, first_name="Ada", email="ADA@Example.com", status="qualified")
    events = (await feed(client, ws, start))["data"]
    assert len(events) == 1
    event = events[0]
    assert event["type"] == "record.created"
    assert (event["record_id"], event["object"]) == (made["id"], "contact")
    assert event["actor_id"] == await me(client, ws)
    assert event["changes"] == {
        "email": [None, "ada@example.com"],
        "first_name": [None, "Ada"],
        "status": [None, "Qualified"],
    }
    assert event["data"]["name"] == "Ada"
    assert str(uuid.UUID(event["id"])) == event["id"]
    assert event["created_at"].endswith("Z")


async def test_update_event_carries_before_and_after(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Ada", title="Countess", city="London")
    url = f"{CONTACTS}/{made['id']}"
    start = await feed_end(client, ws)
    await patch(
        client,
        ws,
        url,
        fields={"city": "Paris", "title": None, "last_name": "King", "first_name": "Ada"},
    )
    events = (await feed(client, ws, start))["data"]
    assert types(events) == ["record.updated"]
    assert events[0]["record_id"] == made["id"]
    # Only what changed, each as [before, after]; a cleared value's after is null.
    assert events[0]["changes"] == {
        "city": ["London", "Paris"],
        "last_name": [None, "King"],
        "title": ["Countess", None],
    }
    assert events[0]["data"]["name"] == "Ada King"

    # A patch that changes nothing appends nothing.
    await patch(client, ws, url, fields={"city": "Paris"})
    await patch(client, ws, url, fields={})
    assert (await feed(client, ws, events[0]["id"]))["data"] == []


async def test_owner_change_is_in_the_changes(client: httpx.AsyncClient, ws: Workspace) -> None:
    owner = await me(client, ws)
    key = await ws.add_key(role="admin", email="sam@example.com")
    sam_answer = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {key}"})
    sam = sam_answer.json()["user"]["id"]
    made = await create(client, ws, first_name="Ada")
    start = await feed_end(client, ws)
    await patch(client, ws, f"{CONTACTS}/{made['id']}", owner_id="sam@example.com")
    events = (await feed(client, ws, start))["data"]
    assert types(events) == ["record.updated"]
    assert events[0]["changes"] == {"owner_id": [owner, sam]}


async def test_delete_restore_archive_unarchive_are_events(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Ada")
    url = f"{CONTACTS}/{made['id']}"
    start = await feed_end(client, ws)
    assert (await client.delete(url, headers=ws.auth)).status_code == 204
    assert (await client.post(f"{url}/restore", headers=ws.auth)).status_code == 200
    assert (await client.post(f"{url}/archive", headers=ws.auth)).status_code == 200
    assert (await client.post(f"{url}/unarchive", headers=ws.auth)).status_code == 200
    # Refused changes leave no trace.
    assert (await client.post(f"{url}/unarchive", headers=ws.auth)).status_code == 409
    assert (await client.post(f"{url}/restore", headers=ws.auth)).status_code == 404
    bad = await client.patch(url, json={"fields": {"email": "nope"}}, headers=ws.auth)
    assert bad.status_code == 422
    events = (await feed(client, ws, start))["data"]
    assert types(events) == [
        "record.deleted",
        "record.restored",
        "record.archived",
        "record.unarchived",
    ]
    actor = await me(client, ws)
    for event in events:
        assert (event["record_id"], event["object"], event["actor_id"]) == (
            made["id"],
            "contact",
            actor,
        )
        assert event["data"]["name"] == "Ada"


async def test_bulk_creates_one_event_per_stored_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    start = await feed_end(client, ws)
    answer = await client.post(
        f"{CONTACTS}/bulk",
        json={
            "records": [
                {"fields": {"first_name": "Ada"}},
                {"fields": {"email": "broken"}},
                {"fields": {"first_name": "Bob", "city": "Rome"}},
            ]
        },
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    stored = [d["record"]["id"] for d in answer.json()["data"] if d["status"] == "created"]
    events = (await feed(client, ws, start))["data"]
    assert types(events) == ["record.created", "record.created"]
    assert [e["record_id"] for e in events] == stored
    assert [e["changes"] for e in events] == [
        {"first_name": [None, "Ada"]},
        {"city": [None, "Rome"], "first_name": [None, "Bob"]},
    ]
    assert {e["actor_id"] for e in events} == {await me(client, ws)}


async def test_stage_change_on_a_deal(client: httpx.AsyncClient, ws: Workspace) -> None:
    listed = await client.get(f"{API}/pipelines", headers=ws.auth)
    assert listed.status_code == 200, listed.text
    (pipeline,) = [p for p in listed.json()["data"] if p["object"] == "deal"]
    stage_ids = {s["name"]: s["id"] for s in pipeline["stages"]}

    deal = await create(client, ws, DEALS, name="Big one", stage="Qualification")
    url = f"{DEALS}/{deal['id']}"
    created = await timeline(client, ws, url)
    assert types(created) == ["record.stage_changed", "record.created"]
    assert created[0]["data"]["from"] is None
    assert created[0]["data"]["to"] == {"id": stage_ids["Qualification"], "name": "Qualification"}

    start = await feed_end(client, ws)
    moved = await patch(client, ws, url, fields={"stage": "Proposal"})
    assert moved["fields"]["stage"] == "Proposal"
    events = (await feed(client, ws, start))["data"]
    assert types(events) == ["record.updated", "record.stage_changed"]
    updated, stage = events
    assert stage["record_id"] == updated["record_id"] == deal["id"]
    assert stage["object"] == "deal"
    assert stage["data"]["pipeline"] == pipeline["key"]
    assert stage["data"]["pipeline_id"] == pipeline["id"]
    assert stage["data"]["from"] == {"id": stage_ids["Qualification"], "name": "Qualification"}
    assert stage["data"]["to"] == {"id": stage_ids["Proposal"], "name": "Proposal"}
    # The update's changes name the stages by id (stable across renames).
    assert updated["changes"] == {"stage": [stage_ids["Qualification"], stage_ids["Proposal"]]}

    # Other changes of the deal are no stage change.
    start = stage["id"]
    await patch(client, ws, url, fields={"amount": 1200})
    await patch(client, ws, url, fields={"stage": "proposal"})
    assert types((await feed(client, ws, start))["data"]) == ["record.updated"]


# --- timeline -----------------------------------------------------------------------------


async def test_timeline_lists_a_records_events_newest_first(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Ada")
    other = await create(client, ws, first_name="Bob")
    url = f"{CONTACTS}/{made['id']}"
    await patch(client, ws, url, fields={"city": "Paris"})
    await patch(client, ws, f"{CONTACTS}/{other['id']}", fields={"city": "Rome"})
    assert (await client.post(f"{url}/archive", headers=ws.auth)).status_code == 200
    note = await client.post(f"{url}/notes", json={"body": "Called her"}, headers=ws.auth)
    assert note.status_code == 201, note.text
    assert (await client.post(f"{url}/unarchive", headers=ws.auth)).status_code == 200
    assert (await client.delete(url, headers=ws.auth)).status_code == 204
    assert (await client.post(f"{url}/restore", headers=ws.auth)).status_code == 200

    events = await timeline(client, ws, url)
    assert types(events) == [
        "record.restored",
        "record.deleted",
        "record.unarchived",
        "note.created",
        "record.archived",
        "record.updated",
        "record.created",
    ]
    assert {e["record_id"] for e in events} == {made["id"]}
    assert len({e["id"] for e in events}) == len(events)
    assert events[-2]["changes"] == {"city": [None, "Paris"]}
    assert events[3]["data"]["note"] == note.json()["id"]

    # The timeline pages with limit and before.
    answer = await client.get(f"{url}/timeline", params={"limit": 3}, headers=ws.auth)
    first = answer.json()["data"]
    answer = await client.get(
        f"{url}/timeline", params={"limit": 10, "before": first[-1]["id"]}, headers=ws.auth
    )
    assert first + answer.json()["data"] == events

    assert types(await timeline(client, ws, f"{CONTACTS}/{other['id']}")) == [
        "record.updated",
        "record.created",
    ]


async def test_timeline_of_a_hidden_record_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Ada")
    url = f"{CONTACTS}/{made['id']}"
    answer = await client.get(f"{url}/timeline", headers=other_ws.auth)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert (await client.delete(url, headers=ws.auth)).status_code == 204
    assert (await client.get(f"{url}/timeline", headers=ws.auth)).status_code == 404


# --- the feed -----------------------------------------------------------------------------


async def test_feed_pages_oldest_first_with_after(client: httpx.AsyncClient, ws: Workspace) -> None:
    start = await feed_end(client, ws)
    made = [await create(client, ws, first_name=f"P{i}") for i in range(5)]
    await patch(client, ws, f"{CONTACTS}/{made[0]['id']}", fields={"city": "Oslo"})

    whole = await feed(client, ws, start)
    assert types(whole["data"]) == ["record.created"] * 5 + ["record.updated"]
    assert [e["record_id"] for e in whole["data"]] == [r["id"] for r in made] + [made[0]["id"]]
    event_ids = [e["id"] for e in whole["data"]]
    assert whole["next_after"] == event_ids[-1]

    seen: list[str] = []
    after = start
    for _ in range(10):
        page = await feed(client, ws, after, limit=2)
        assert len(page["data"]) <= 2
        seen += [e["id"] for e in page["data"]]
        if not page["data"]:
            assert page["next_after"] == after
            break
        after = page["next_after"]
    assert seen == event_ids

    # Nothing new: an empty page that keeps the cursor; a new change shows up after it.
    assert await feed(client, ws, after) == {"data": [], "next_after": after}
    await patch(client, ws, f"{CONTACTS}/{made[1]['id']}", fields={"city": "Rome"})
    later = await feed(client, ws, after)
    assert types(later["data"]) == ["record.updated"]
    assert later["data"][0]["changes"] == {"city": [None, "Rome"]}


async def test_feed_shows_only_the_callers_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    start = await feed_end(client, other_ws)
    mine = await create(client, ws, first_name="Ada")
    theirs = await create(client, other_ws, first_name="Zed")
    events = (await feed(client, other_ws, start))["data"]
    assert [e["record_id"] for e in events] == [theirs["id"]]
    all_mine = (await feed(client, ws, limit=1000))["data"]
    assert mine["id"] in {e["record_id"] for e in all_mine}
    assert theirs["id"] not in {e["record_id"] for e in all_mine}


async def test_event_ids_reveal_nothing_of_other_workspaces(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    start = await feed_end(client, ws)
    await create(client, ws, first_name="Ada")
    for i in range(3):
        await create(client, other_ws, first_name=f"Z{i}")
    await create(client, ws, first_name="Bob")
    first, second = (await feed(client, ws, start))["data"]
    # Ids are UUIDs, not counts of every workspace's events in between.
    assert {type(first["id"]), type(second["id"])} == {str}
    assert (await feed(client, ws, first["id"]))["data"] == [second]
    # Another workspace's event is no cursor here, and "0" still means the beginning.
    theirs = (await feed(client, other_ws))["data"][-1]["id"]
    answer = await client.get(f"{API}/events", params={"after": theirs}, headers=ws.auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "after"
    assert (await feed(client, ws, "0"))["data"] == (await feed(client, ws))["data"]


async def test_feed_refuses_bad_parameters(client: httpx.AsyncClient, ws: Workspace) -> None:
    for params in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 1001}):
        answer = await client.get(f"{API}/events", params=params, headers=ws.auth)
        assert answer.status_code == 422, params
        assert answer.json()["error"]["code"] == "validation_failed"
    assert (await client.get(f"{API}/events")).status_code == 401
