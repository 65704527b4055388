"""Duplicate detection on intake: a lead whose email or phone another lead holds."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.leadflip.conftest import (
    API,
    LF,
    Entity,
    count,
    errors_of,
    get_lead,
    make_entity,
    native,
    notes_of,
    ok,
    take_in,
)
from tests.conftest import Workspace, bearer


async def set_rule(client: httpx.AsyncClient, ws: Workspace, policy: str, match: list[str]) -> None:
    answer = await client.patch(
        f"{API}/objects/solar_lead",
        json={"duplicates": {"policy": policy, "match": match}},
        headers=ws.auth,
    )
    assert ok(answer)["duplicates"] == {"policy": policy, "match": match}


async def bulk(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> Any:
    return ok(
        await client.post(
            f"{LF}/leads/bulk", json={"entity": "solar_lead", **body}, headers=ws.auth
        )
    )


FIRST = {
    "entity": "solar_lead",
    "lead_name": "Jane Doe",
    "email": "jane@example.com",
    "phone": "+1 415 555 2671",
    "utm_source": "google",
}


async def test_the_same_email_updates_the_lead(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    first = await take_in(client, ws.auth, FIRST)
    second = await take_in(
        client,
        ws.auth,
        {
            "entity": "solar_lead",
            "Lead Name": "Jane D.",
            "E-mail": "JANE@Example.com",
            "company": "Acme",
            "status:stage": "Qualified",
            "utm_campaign": "spring",
            "note": "Came back through the form",
        },
    )
    assert second == {
        "status": "success",
        "lead_id": first["lead_id"],
        "created_at": first["created_at"],
        "result": "updated",
        "duplicate_of": None,
        "unmapped": ["utm_campaign"],
    }
    found = await get_lead(client, ws.auth, first["lead_id"])
    assert found["fields"] == {
        "lead_name": "Jane D.",
        "email": "jane@example.com",
        "phone": "+14155552671",
        "company": "Acme",
        "stage": "Qualified",
    }
    assert found["unmapped"] == {"utm_source": "google", "utm_campaign": "spring"}
    notes = await notes_of(client, ws, "solar_lead", first["lead_id"])
    assert [n["body"] for n in notes] == ["Came back through the form"]
    assert await count(client, ws, "solar_lead") == 1


async def test_an_update_needs_no_required_field(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    first = await take_in(client, ws.auth, FIRST)
    second = await take_in(
        client, ws.auth, {"entity": "solar_lead", "email": "jane@example.com", "source": "ad"}
    )
    assert (second["result"], second["lead_id"]) == ("updated", first["lead_id"])
    fields = (await get_lead(client, ws.auth, first["lead_id"]))["fields"]
    assert (fields["lead_name"], fields["source"]) == ("Jane Doe", "ad")


async def test_policy_skip_leaves_the_lead_alone(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await set_rule(client, ws, "skip", ["email"])
    first = await take_in(client, ws.auth, FIRST)
    before = await native(client, ws, "solar_lead", first["lead_id"])
    second = await take_in(
        client,
        ws.auth,
        {
            "entity": "solar_lead",
            "lead_name": "Someone Else",
            "email": "jane@example.com",
            "company": "Globex",
            "status:stage": "Qualified",
            "note": "Ignored",
        },
    )
    assert (second["result"], second["lead_id"]) == ("skipped", first["lead_id"])
    assert second["duplicate_of"] is None
    assert await native(client, ws, "solar_lead", first["lead_id"]) == before
    assert await notes_of(client, ws, "solar_lead", first["lead_id"]) == []
    assert await count(client, ws, "solar_lead") == 1


async def test_policy_create_makes_a_new_lead_naming_the_first(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await set_rule(client, ws, "create", ["email"])
    first = await take_in(client, ws.auth, FIRST)
    before = await native(client, ws, "solar_lead", first["lead_id"])
    second = await take_in(
        client,
        ws.auth,
        {"entity": "solar_lead", "lead_name": "Jane Twin", "email": "jane@example.com"},
    )
    assert second["result"] == "created"
    assert second["lead_id"] != first["lead_id"]
    assert second["duplicate_of"] == first["lead_id"]
    twin = await get_lead(client, ws.auth, second["lead_id"])
    assert twin["fields"] == {"lead_name": "Jane Twin", "email": "jane@example.com"}
    assert ("lead_duplicate_event", "Lead looks like a duplicate") in [
        (e["type"], e["message"]) for e in twin["events"]
    ]
    assert await native(client, ws, "solar_lead", first["lead_id"]) == before
    assert await count(client, ws, "solar_lead") == 2


async def test_a_phone_written_differently_matches(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    fields = [
        {"key": "lead_name", "label": "Lead name", "type": "text", "required": True},
        {"key": "phone", "label": "Phone", "type": "phone", "options": {"default_region": "US"}},
        {"key": "mobile", "label": "Mobile", "type": "phone"},
    ]
    await make_entity(client, ws, fields=fields)
    first = await take_in(
        client, ws.auth, {"entity": "solar_lead", "lead_name": "P", "phone": "+1 415 555 2671"}
    )
    for phone in ("(415) 555-2671", "415.555.2671", "+14155552671"):
        again = await take_in(
            client, ws.auth, {"entity": "solar_lead", "lead_name": "P", "phone": phone}
        )
        assert (again["result"], again["lead_id"]) == ("updated", first["lead_id"]), phone
    # Without a default region, E.164 written in different ways.
    second = await take_in(
        client, ws.auth, {"entity": "solar_lead", "lead_name": "M", "mobile": "+44 20 7946 0958"}
    )
    assert second["result"] == "created"
    again = await take_in(
        client, ws.auth, {"entity": "solar_lead", "lead_name": "M2", "mobile": "+442079460958"}
    )
    assert (again["result"], again["lead_id"]) == ("updated", second["lead_id"])
    assert await count(client, ws, "solar_lead") == 2


async def test_duplicates_are_looked_for_in_the_callers_workspace_only(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    await make_entity(client, other_ws)
    theirs = await take_in(client, other_ws.auth, FIRST)
    mine = await take_in(client, ws.auth, {**FIRST, "lead_name": "Mine"})
    assert mine["result"] == "created"
    assert mine["lead_id"] != theirs["lead_id"]
    assert (await get_lead(client, other_ws.auth, theirs["lead_id"]))["fields"]["lead_name"] == (
        "Jane Doe"
    )


async def test_a_deleted_lead_is_no_duplicate(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    first = await take_in(client, ws.auth, FIRST)
    ok(await client.delete(f"{solar.records}/{first['lead_id']}", headers=ws.auth), 204)
    second = await take_in(client, ws.auth, FIRST)
    assert second["result"] == "created"
    assert second["lead_id"] != first["lead_id"]


async def test_in_a_batch_one_email_makes_one_lead(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await bulk(
        client,
        ws,
        batch=[
            {"lead_name": "A", "email": "a@example.com"},
            {"lead_name": "A2", "email": "A@example.com", "company": "Acme"},
            {"lead_name": "B", "email": "b@example.com"},
        ],
    )
    [a, b] = answer["created"]
    assert (a["index"], a["email"], b["index"], b["email"]) == (
        0,
        "a@example.com",
        2,
        "b@example.com",
    )
    assert answer["updated"] == [
        {"index": 1, "lead_id": a["lead_id"], "email": "a@example.com", "unmapped": []}
    ]
    assert (answer["skipped"], answer["failed"]) == ([], [])
    found = await get_lead(client, ws.auth, a["lead_id"])
    assert found["fields"] == {"lead_name": "A2", "email": "a@example.com", "company": "Acme"}
    assert await count(client, ws, "solar_lead") == 2


async def test_a_batch_updates_an_existing_lead(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    first = await take_in(client, ws.auth, FIRST)
    answer = await bulk(client, ws, batch=[{"email": "jane@example.com", "company": "Acme"}])
    assert answer["updated"] == [
        {"index": 0, "lead_id": first["lead_id"], "email": "jane@example.com", "unmapped": []}
    ]
    assert answer["created"] == []
    assert (await get_lead(client, ws.auth, first["lead_id"]))["fields"]["company"] == "Acme"


async def test_in_a_batch_skip_and_create_policies(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    items = [
        {"lead_name": "A", "email": "a@example.com"},
        {"lead_name": "A2", "email": "a@example.com"},
    ]
    await set_rule(client, ws, "skip", ["email"])
    answer = await bulk(client, ws, batch=items)
    [created] = answer["created"]
    assert answer["skipped"] == [
        {"index": 1, "lead_id": created["lead_id"], "email": "a@example.com", "unmapped": []}
    ]
    assert (await get_lead(client, ws.auth, created["lead_id"]))["fields"]["lead_name"] == "A"

    await set_rule(client, ws, "create", ["email"])
    answer = await bulk(client, ws, batch=items)
    assert [c["index"] for c in answer["created"]] == [0, 1]
    assert len({c["lead_id"] for c in answer["created"]} | {created["lead_id"]}) == 3
    assert await count(client, ws, "solar_lead") == 3


async def test_a_batch_note_is_attached_once_to_a_merged_lead(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await bulk(
        client,
        ws,
        batch=[
            {"lead_name": "A", "email": "a@example.com"},
            {"lead_name": "A2", "email": "a@example.com", "note": "Second visit"},
        ],
        note="Batch import",
    )
    lead_id = answer["created"][0]["lead_id"]
    notes = await notes_of(client, ws, "solar_lead", lead_id)
    assert sorted(n["body"] for n in notes) == ["Batch import", "Second visit"]


async def test_a_duplicate_the_caller_may_not_change_is_explained(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await take_in(client, ws.auth, FIRST)
    sam = bearer(await ws.add_key(role="agent", email="sam@acme.com"))
    answer = await client.post(
        f"{LF}/intake",
        json={"entity": "solar_lead", "lead_name": "Sam's", "email": "jane@example.com"},
        headers=sam,
    )
    errors = errors_of(answer)
    assert errors != {}
    assert any("exists" in m for messages in errors.values() for m in messages)
