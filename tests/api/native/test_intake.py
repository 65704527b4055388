"""Intake through the native API: loosely keyed payloads, directives and duplicate rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"


# --- helpers ------------------------------------------------------------------------------


def intake_url(obj: str = "contact") -> str:
    return f"{API}/objects/{obj}/intake"


def records_url(obj: str = "contact") -> str:
    return f"{API}/objects/{obj}/records"


async def take_in(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    payload: Any,
    obj: str = "contact",
    status: int = 201,
) -> dict[str, Any]:
    answer = await client.post(intake_url(obj), json=payload, headers=headers)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


async def take_in_bulk(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    items: list[Any],
    obj: str = "contact",
    shared: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"items": items}
    if shared is not None:
        body["shared"] = shared
    answer = await client.post(f"{intake_url(obj)}/bulk", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert list(answer.json()) == ["results"]
    results = list(answer.json()["results"])
    assert [r["index"] for r in results] == list(range(len(items)))
    return results


async def fetch(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> dict[str, Any]:
    answer = await client.get(f"{records_url(obj)}/{record_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def count(client: httpx.AsyncClient, ws: Workspace, obj: str = "contact") -> int:
    answer = await client.post(f"{records_url(obj)}/count", json={}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], fields: dict[str, Any], obj: str = "contact"
) -> dict[str, Any]:
    answer = await client.post(records_url(obj), json={"fields": fields}, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def notes_of(
    client: httpx.AsyncClient, ws: Workspace, record_id: str, obj: str = "contact"
) -> list[dict[str, Any]]:
    answer = await client.get(f"{records_url(obj)}/{record_id}/notes", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def events(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/events?after=0&limit=1000", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["data"] if e["type"] == kind]


async def set_policy(
    client: httpx.AsyncClient, ws: Workspace, policy: str, obj: str = "contact"
) -> None:
    answer = await client.patch(
        f"{API}/objects/{obj}", json={"duplicates": {"policy": policy}}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["duplicates"]["policy"] == policy


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    answer = await client.get(f"{API}/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["user"]["id"])


def without_times(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "updated_at"}


# --- taking in one record -----------------------------------------------------------------


async def test_loose_keys_become_fields_and_the_rest_stays_unmapped(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    payload = {
        "First Name": "Ada",
        "LAST-NAME": "Lovelace",
        "e_mail": "ADA@Example.com",
        "Phone": "+1 555 222 3333",
        "postal code": "10115",
        "STATUS": "qualified",
        "utm_source": "spring",
        "Landing Page": {"path": "/offer", "ab": [1, 2]},
    }
    out = await take_in(client, ws.auth, payload)
    assert list(out) == ["index", "status", "record", "duplicate_of", "matched", "unmapped"]
    assert (out["index"], out["status"], out["duplicate_of"]) == (0, "created", None)
    assert out["matched"] == {
        "First Name": "first_name",
        "LAST-NAME": "last_name",
        "e_mail": "email",
        "Phone": "phone",
        "postal code": "zip",
        "STATUS": "status",
    }
    unmapped = {"utm_source": "spring", "Landing Page": {"path": "/offer", "ab": [1, 2]}}
    assert out["unmapped"] == unmapped
    record = out["record"]
    assert uuid.UUID(record["id"])
    assert record["object"] == "contact"
    assert record["display_name"] == "Ada Lovelace"
    assert record["owner_id"] == await user_id(client, ws.auth)
    assert record["unmapped"] == unmapped
    assert {k: v for k, v in record["fields"].items() if v is not None} == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+15552223333",
        "zip": "10115",
        "status": "Qualified",
    }
    assert await fetch(client, ws.auth, record["id"]) == record


async def test_plain_records_render_an_empty_unmapped_bag(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await create(client, ws.auth, {"first_name": "Plain"})
    assert made["unmapped"] == {}
    assert (await fetch(client, ws.auth, made["id"]))["unmapped"] == {}
    out = await take_in(client, ws.auth, {"first_name": "Mapped"})
    assert out["unmapped"] == {} == out["record"]["unmapped"]


async def test_the_first_value_for_a_field_wins(client: httpx.AsyncClient, ws: Workspace) -> None:
    # "Email" (the label) and "email" (the key) name the same field: the first non-empty
    # value is taken, an empty one does not hide a later one.
    out = await take_in(
        client, ws.auth, {"E-Mail": "", "email": "first@x.io", "EMAIL ": "second@x.io"}
    )
    assert out["record"]["fields"]["email"] == "first@x.io"
    assert out["matched"]["email"] == "email"
    assert out["unmapped"] == {}


async def test_phone_numbers_shaped_like_the_plan_are_kept(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    out = await take_in(client, ws.auth, {"phone": "+1 555 222 3333", "mobile": "+44 20 7946 0958"})
    assert out["record"]["fields"]["phone"] == "+15552223333"
    assert out["record"]["fields"]["mobile"] == "+442079460958"


async def test_notes_directive(client: httpx.AsyncClient, ws: Workspace) -> None:
    out = await take_in(
        client,
        ws.auth,
        {
            "email": "n@x.io",
            "Notes": ["Asked for a demo", {"text": "From the spring form", "tag": "form"}, ""],
        },
    )
    assert "Notes" not in out["unmapped"]
    assert "Notes" not in out["matched"]
    listed = await notes_of(client, ws, out["record"]["id"])
    assert sorted((n["body"], n["tag"], n["kind"]) for n in listed) == [
        ("Asked for a demo", None, "note"),
        ("From the spring form", "form", "note"),
    ]
    assert {n["record_id"] for n in listed} == {out["record"]["id"]}
    assert {n["author_id"] for n in listed} == {await user_id(client, ws.auth)}

    single = await take_in(client, ws.auth, {"email": "m@x.io", "note": {"text": "Hi", "tag": "x"}})
    [note] = await notes_of(client, ws, single["record"]["id"])
    assert (note["body"], note["tag"]) == ("Hi", "x")


async def test_status_directive_sets_a_stage(client: httpx.AsyncClient, ws: Workspace) -> None:
    by_label = await take_in(
        client, ws.auth, {"email": "a@x.io", "status:Lead pipeline": "qualified"}, obj="lead"
    )
    assert by_label["record"]["fields"]["stage"] == "Qualified"
    assert by_label["matched"] == {"email": "email", "status:Lead pipeline": "stage"}
    by_key = await take_in(client, ws.auth, {"email": "b@x.io", "STATUS: stage": "New"}, obj="lead")
    assert by_key["record"]["fields"]["stage"] == "New"
    deal = await take_in(client, ws.auth, {"Name": "Big one", "status:stage": "won"}, obj="deal")
    assert deal["record"]["fields"]["stage"] == "Won"
    assert deal["record"]["fields"]["name"] == "Big one"


async def test_assignee_directive_sets_the_owner(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = bearer(await ws.add_key(role="agent", email="sam@acme.io"))
    agent_id = await user_id(client, agent)
    out = await take_in(client, ws.auth, {"email": "a@x.io", "Assignee": "SAM@acme.io"})
    assert out["record"]["owner_id"] == agent_id
    # The new owner sees it; by id too.
    assert (await fetch(client, agent, out["record"]["id"]))["owner_id"] == agent_id
    again = await take_in(client, ws.auth, {"email": "b@x.io", "assignee": agent_id})
    assert again["record"]["owner_id"] == agent_id


async def test_viewers_directive_shares_the_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = bearer(await ws.add_key(role="agent", email="viewer@acme.io"))
    out = await take_in(client, ws.auth, {"email": "v@x.io", "viewers": ["viewer@acme.io"]})
    record_id = out["record"]["id"]
    assert (await fetch(client, agent, record_id))["id"] == record_id
    answer = await client.get(f"{records_url()}/{record_id}/viewers", headers=ws.auth)
    assert [u["email"] for u in answer.json()["data"]] == ["viewer@acme.io"]


async def test_viewers_directive_appends_a_shared_event(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = bearer(await ws.add_key(role="agent", email="viewer@acme.io"))
    out = await take_in(client, ws.auth, {"email": "v@x.io", "viewers": "viewer@acme.io"})
    [shared] = await events(client, ws, "record.shared")
    assert shared["record_id"] == out["record"]["id"]
    assert shared["data"]["users"] == [await user_id(client, agent)]


async def test_object_named_loosely_or_by_id(client: httpx.AsyncClient, ws: Workspace) -> None:
    described = (await client.get(f"{API}/objects/contact", headers=ws.auth)).json()
    for ref in ("Contacts", "CONTACT", described["id"]):
        out = await take_in(client, ws.auth, {"email": f"{len(ref)}@x.io"}, obj=ref)
        assert out["record"]["object"] == "contact"
    assert await count(client, ws) == 3


async def test_custom_object_intake(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await client.post(
        f"{API}/objects",
        json={
            "key": "property",
            "label": "Property",
            "fields": [
                {"key": "address", "label": "Street address", "type": "text", "required": True},
                {"key": "beds", "label": "Bedrooms", "type": "number"},
                {"key": "owner_email", "label": "Owner email", "type": "email"},
            ],
        },
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    out = await take_in(
        client,
        ws.auth,
        {"street address": "1 Main St", "BEDROOMS": "3", "owner-email": "O@x.io", "pool": True},
        obj="properties",
    )
    assert out["record"]["object"] == "property"
    assert out["record"]["fields"] == {
        "address": "1 Main St",
        "beds": 3,
        "owner_email": "o@x.io",
    }
    assert out["unmapped"] == {"pool": True}
    again = await take_in(
        client, ws.auth, {"Owner Email": "o@x.io", "beds": 4}, obj="property", status=200
    )
    assert again["status"] == "updated"
    assert again["record"]["id"] == out["record"]["id"]
    assert again["record"]["fields"]["beds"] == 4


# --- duplicate policies -------------------------------------------------------------------


async def test_update_merges_into_the_existing_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    first = await take_in(
        client,
        ws.auth,
        {
            "first_name": "Ada",
            "email": "ada@x.io",
            "phone": "+1 555 222 3333",
            "city": "Paris",
            "utm": "a",
            "campaign": "spring",
        },
    )
    record_id = first["record"]["id"]
    second = await take_in(
        client,
        ws.auth,
        {
            "E-mail": "ADA@x.io",
            "City": "Berlin",
            "phone": "",
            "first_name": None,
            "company": "Analytical Engines",
            "utm": "b",
            "ref": "partner",
            "note": "Came back",
        },
        status=200,
    )
    assert second["status"] == "updated"
    assert second["duplicate_of"] is None
    assert second["unmapped"] == {"utm": "b", "ref": "partner"}
    record = second["record"]
    assert record["id"] == record_id
    assert record["created_at"] == first["record"]["created_at"]
    assert {k: v for k, v in record["fields"].items() if v is not None} == {
        "first_name": "Ada",
        "email": "ada@x.io",
        "phone": "+15552223333",
        "city": "Berlin",
        "company": "Analytical Engines",
    }
    assert record["unmapped"] == {"utm": "b", "campaign": "spring", "ref": "partner"}
    assert await fetch(client, ws.auth, record_id) == record
    assert await count(client, ws) == 1
    assert [n["body"] for n in await notes_of(client, ws, record_id)] == ["Came back"]
    [updated] = await events(client, ws, "record.updated")
    assert updated["record_id"] == record_id
    assert updated["changes"] == {
        "city": ["Paris", "Berlin"],
        "company": [None, "Analytical Engines"],
    }
    assert await events(client, ws, "record.duplicate_found") == []


async def test_update_needs_no_required_values_the_record_has(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    company = await create(client, ws.auth, {"name": "Acme", "email": "hq@acme.io"}, obj="company")
    out = await take_in(
        client, ws.auth, {"email": "HQ@acme.io", "Industry": "Rockets"}, obj="company", status=200
    )
    assert out["status"] == "updated"
    assert out["record"]["id"] == company["id"]
    assert (out["record"]["fields"]["name"], out["record"]["fields"]["industry"]) == (
        "Acme",
        "Rockets",
    )


async def test_update_matches_on_phone(client: httpx.AsyncClient, ws: Workspace) -> None:
    existing = await create(client, ws.auth, {"first_name": "Pat", "phone": "+1 555 222 3333"})
    out = await take_in(client, ws.auth, {"Phone": "+1-555-222-3333", "city": "Lyon"}, status=200)
    assert out["status"] == "updated"
    assert out["record"]["id"] == existing["id"]
    assert out["record"]["fields"]["city"] == "Lyon"
    assert out["record"]["fields"]["first_name"] == "Pat"
    mobile = await create(client, ws.auth, {"first_name": "Mo", "mobile": "+44 20 7946 0958"})
    out = await take_in(client, ws.auth, {"mobile": "+442079460958", "title": "CTO"}, status=200)
    assert out["record"]["id"] == mobile["id"]
    assert out["record"]["fields"]["title"] == "CTO"
    assert await count(client, ws) == 2


async def test_any_matched_field_is_enough(client: httpx.AsyncClient, ws: Workspace) -> None:
    existing = await create(client, ws.auth, {"email": "e@x.io", "phone": "+1 555 222 3333"})
    out = await take_in(client, ws.auth, {"email": "new@x.io", "phone": "+15552223333"}, status=200)
    assert out["record"]["id"] == existing["id"]
    # Update writes the new email over the old one: matching on the phone found the record.
    assert out["record"]["fields"]["email"] == "new@x.io"


async def test_the_oldest_of_several_holders_is_updated(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    oldest = await create(client, ws.auth, {"first_name": "One", "email": "twin@x.io"})
    newer = await create(client, ws.auth, {"first_name": "Two", "email": "twin@x.io"})
    out = await take_in(client, ws.auth, {"email": "twin@x.io", "city": "Rome"}, status=200)
    assert out["record"]["id"] == oldest["id"]
    assert (await fetch(client, ws.auth, newer["id"]))["fields"]["city"] is None


async def test_skip_changes_nothing(client: httpx.AsyncClient, ws: Workspace) -> None:
    await set_policy(client, ws, "skip")
    first = await take_in(client, ws.auth, {"email": "s@x.io", "city": "Paris", "utm": "a"})
    record = first["record"]
    second = await take_in(
        client,
        ws.auth,
        {"email": "S@x.io", "city": "Berlin", "company": "X", "utm": "b", "note": "ignored"},
        status=200,
    )
    assert second["status"] == "skipped"
    assert second["record"] == record
    assert second["duplicate_of"] is None
    assert second["matched"] == {"email": "email", "city": "city", "company": "company"}
    assert second["unmapped"] == {"utm": "b"}
    assert await fetch(client, ws.auth, record["id"]) == record
    assert await notes_of(client, ws, record["id"]) == []
    assert await events(client, ws, "record.updated") == []
    assert await count(client, ws) == 1


async def test_create_makes_a_new_record_naming_the_first(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_policy(client, ws, "create")
    first = await take_in(client, ws.auth, {"email": "c@x.io", "city": "Paris"})
    second = await take_in(client, ws.auth, {"email": "C@x.io", "city": "Berlin", "k": 1})
    assert second["status"] == "created"
    assert second["duplicate_of"] == first["record"]["id"]
    assert second["record"]["id"] != first["record"]["id"]
    assert second["record"]["fields"]["city"] == "Berlin"
    assert second["record"]["unmapped"] == {"k": 1}
    assert (await fetch(client, ws.auth, first["record"]["id"]))["fields"]["city"] == "Paris"
    assert await count(client, ws) == 2
    [found] = await events(client, ws, "record.duplicate_found")
    assert found["record_id"] == second["record"]["id"]
    assert found["object"] == "contact"
    assert found["data"] == {
        "record": second["record"]["id"],
        "object": "contact",
        "duplicate_of": first["record"]["id"],
    }
    assert found["actor_id"] == await user_id(client, ws.auth)
    timeline = await client.get(
        f"{records_url()}/{second['record']['id']}/timeline", headers=ws.auth
    )
    assert "record.duplicate_found" in [e["type"] for e in timeline.json()["data"]]


async def test_a_record_without_match_values_is_never_a_duplicate(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await take_in(client, ws.auth, {"first_name": "Nomail"})
    again = await take_in(client, ws.auth, {"first_name": "Nomail"})
    assert again["status"] == "created"
    assert again["duplicate_of"] is None
    assert await count(client, ws) == 2


async def test_duplicates_only_within_the_same_object(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    contact = await create(client, ws.auth, {"email": "same@x.io"})
    lead = await take_in(client, ws.auth, {"email": "same@x.io"}, obj="lead")
    assert lead["status"] == "created"
    assert lead["duplicate_of"] is None
    assert lead["record"]["object"] == "lead"
    assert (await fetch(client, ws.auth, contact["id"]))["object"] == "contact"
    assert await count(client, ws, "contact") == 1


async def test_duplicates_only_within_the_same_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await create(client, other_ws.auth, {"email": "shared@x.io", "city": "Oslo"})
    ours = await take_in(client, ws.auth, {"email": "shared@x.io", "city": "Rome"})
    assert ours["status"] == "created"
    assert ours["record"]["id"] != theirs["id"]
    assert await fetch(client, other_ws.auth, theirs["id"]) == theirs
    await set_policy(client, ws, "create")
    again = await take_in(client, ws.auth, {"email": "shared@x.io"})
    assert again["duplicate_of"] == ours["record"]["id"]


async def test_deleted_records_are_not_duplicates(client: httpx.AsyncClient, ws: Workspace) -> None:
    gone = await create(client, ws.auth, {"email": "gone@x.io"})
    answer = await client.delete(f"{records_url()}/{gone['id']}", headers=ws.auth)
    assert answer.status_code == 204
    out = await take_in(client, ws.auth, {"email": "gone@x.io"})
    assert out["status"] == "created"
    assert out["record"]["id"] != gone["id"]


# --- agents and duplicates they may not change --------------------------------------------


@pytest.mark.parametrize("policy", ["update", "skip"])
async def test_agent_duplicate_of_another_users_record_is_a_conflict(
    client: httpx.AsyncClient, ws: Workspace, policy: str
) -> None:
    await set_policy(client, ws, policy)
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    theirs = await create(client, ws.auth, {"email": "boss@x.io", "city": "Paris"})
    answer = await client.post(
        intake_url(), json={"email": "boss@x.io", "city": "Nice"}, headers=agent
    )
    error = assert_error(answer, 409, "conflict")
    assert "boss@x.io" not in error["message"]
    assert [(d["field"], d["code"]) for d in error["details"]] == [("email", "duplicate_record")]
    assert await fetch(client, ws.auth, theirs["id"]) == theirs
    [result] = await take_in_bulk(client, agent, [{"email": "boss@x.io", "city": "Nice"}])
    assert result["status"] == "failed"
    assert list(result) == ["index", "status", "error"]
    assert result["error"]["code"] == "conflict"
    assert result["error"]["http_status"] == 409
    assert [d["field"] for d in result["error"]["details"]] == ["email"]
    assert await fetch(client, ws.auth, theirs["id"]) == theirs
    assert await count(client, ws) == 1


async def test_agent_duplicate_of_a_record_shared_with_them_is_a_conflict(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    theirs = await create(client, ws.auth, {"email": "boss@x.io", "city": "Paris"})
    shared = await client.post(
        f"{records_url()}/{theirs['id']}/viewers",
        json={"users": ["agent@acme.io"]},
        headers=ws.auth,
    )
    assert shared.status_code == 200, shared.text
    answer = await client.post(
        intake_url(), json={"email": "boss@x.io", "city": "Nice"}, headers=agent
    )
    assert_error(answer, 409, "conflict")
    assert await fetch(client, ws.auth, theirs["id"]) == theirs


async def test_agent_updates_their_own_duplicate(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    mine = await take_in(client, agent, {"email": "mine@x.io"})
    again = await take_in(client, agent, {"email": "mine@x.io", "city": "Nice"}, status=200)
    assert again["record"]["id"] == mine["record"]["id"]
    assert again["record"]["fields"]["city"] == "Nice"


async def test_agent_create_policy_still_creates(client: httpx.AsyncClient, ws: Workspace) -> None:
    await set_policy(client, ws, "create")
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    await create(client, ws.auth, {"email": "boss@x.io"})
    out = await take_in(client, agent, {"email": "boss@x.io"})
    assert out["status"] == "created"
    assert out["record"]["owner_id"] == await user_id(client, agent)
    # The record it duplicates is not the agent's to see, so it is not named.
    assert out["duplicate_of"] is None
    assert await count(client, ws) == 2


# --- batches ------------------------------------------------------------------------------


async def test_bulk_reports_each_item(client: httpx.AsyncClient, ws: Workspace) -> None:
    existing = await create(client, ws.auth, {"email": "known@x.io", "city": "Paris"})
    results = await take_in_bulk(
        client,
        ws.auth,
        [
            {"email": "new@x.io", "first name": "New"},
            {"email": "known@x.io", "city": "Rome"},
            {"email": "not an email"},
            {"nothing": "here"},
            {"first_name": "Also new", "source": "Referral"},
        ],
        shared={"source": "Website", "note": "Imported from the fair"},
    )
    assert [r["status"] for r in results] == ["created", "updated", "failed", "failed", "created"]
    assert results[1]["record"]["id"] == existing["id"]
    assert results[1]["record"]["fields"]["city"] == "Rome"
    bad_email = results[2]
    assert list(bad_email) == ["index", "status", "error"]
    assert bad_email["error"]["code"] == "validation_failed"
    assert bad_email["error"]["http_status"] == 422
    assert isinstance(bad_email["error"]["message"], str)
    assert bad_email["error"]["message"]
    assert [d["field"] for d in bad_email["error"]["details"]] == ["email"]
    assert [d["field"] for d in results[3]["error"]["details"]] == ["fields"]
    # The shared source fills in where an item gives none; its own wins.
    assert results[0]["record"]["fields"]["source"] == "Website"
    assert results[0]["matched"] == {
        "email": "email",
        "first name": "first_name",
        "source": "source",
    }
    assert results[4]["record"]["fields"]["source"] == "Referral"
    # The existing record had no source: the update fills it in too.
    assert results[1]["record"]["fields"]["source"] == "Website"
    for r in (results[0], results[1], results[4]):
        listed = await notes_of(client, ws, r["record"]["id"])
        assert [n["body"] for n in listed] == ["Imported from the fair"]
    assert await count(client, ws) == 3


async def test_bulk_shared_value_a_field_refuses_is_kept_unmapped(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    [out] = await take_in_bulk(
        client, ws.auth, [{"email": "a@x.io"}], shared={"source": "Spring newsletter"}
    )
    assert out["status"] == "created"
    assert out["record"]["fields"]["source"] is None
    assert out["unmapped"] == {"source": "Spring newsletter"}
    assert out["record"]["unmapped"] == {"source": "Spring newsletter"}


async def test_bulk_update_merges_duplicates_within_the_batch(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    results = await take_in_bulk(
        client,
        ws.auth,
        [
            {"email": "b@x.io", "first_name": "Bo", "city": "A", "k1": 1, "note": "one"},
            {"email": "other@x.io"},
            {"Email": "B@x.io", "city": "C", "country": "France", "k2": 2, "note": "two"},
        ],
    )
    assert [r["status"] for r in results] == ["created", "created", "updated"]
    first, _, later = results
    assert later["record"]["id"] == first["record"]["id"]
    record = await fetch(client, ws.auth, first["record"]["id"])
    assert {k: v for k, v in record["fields"].items() if v is not None} == {
        "first_name": "Bo",
        "email": "b@x.io",
        "city": "C",
        "country": "France",
    }
    assert record["unmapped"] == {"k1": 1, "k2": 2}
    assert later["unmapped"] == {"k2": 2}
    assert sorted(n["body"] for n in await notes_of(client, ws, record["id"])) == ["one", "two"]
    assert await count(client, ws) == 2


async def test_one_by_one_update_follows_values_merged_in_before(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    first = await take_in(client, ws.auth, {"email": "a@x.io", "first_name": "A"})
    await take_in(client, ws.auth, {"email": "a@x.io", "phone": "+1 555 222 3333"}, status=200)
    last = await take_in(client, ws.auth, {"phone": "+1 555 222 3333", "city": "Oslo"}, status=200)
    assert last["record"]["id"] == first["record"]["id"]
    assert await count(client, ws) == 1


@pytest.mark.parametrize("existing", [False, True], ids=["new-record", "existing-record"])
async def test_bulk_update_follows_values_an_earlier_item_merged_in(
    client: httpx.AsyncClient, ws: Workspace, existing: bool
) -> None:
    items = [
        {"email": "a@x.io", "first_name": "A"},
        {"email": "a@x.io", "phone": "+1 555 222 3333"},
        {"phone": "+1 555 222 3333", "city": "Oslo"},
    ]
    if existing:
        await create(client, ws.auth, items.pop(0))
    results = await take_in_bulk(client, ws.auth, items)
    assert len({r["record"]["id"] for r in results}) == 1
    assert await count(client, ws) == 1
    [record] = (await client.get(records_url(), headers=ws.auth)).json()["data"]
    assert (
        record["fields"]["first_name"],
        record["fields"]["phone"],
        record["fields"]["city"],
    ) == (
        "A",
        "+15552223333",
        "Oslo",
    )


async def test_bulk_shared_note_is_added_once_per_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    existing = await create(client, ws.auth, {"email": "old@x.io"})
    results = await take_in_bulk(
        client,
        ws.auth,
        [
            {"email": "new@x.io"},
            {"email": "new@x.io", "city": "A"},
            {"email": "old@x.io"},
            {"email": "old@x.io", "city": "B", "note": "own"},
        ],
        shared={"note": "From the fair"},
    )
    assert [r["status"] for r in results] == ["created", "updated", "updated", "updated"]
    new_id = results[0]["record"]["id"]
    assert [n["body"] for n in await notes_of(client, ws, new_id)] == ["From the fair"]
    bodies = sorted(n["body"] for n in await notes_of(client, ws, existing["id"]))
    assert bodies == ["From the fair", "own"]


async def test_bulk_create_keeps_duplicates_within_the_batch(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_policy(client, ws, "create")
    results = await take_in_bulk(
        client, ws.auth, [{"email": "b@x.io", "city": "A"}, {"email": "b@x.io", "city": "C"}]
    )
    assert [r["status"] for r in results] == ["created", "created"]
    first, second = results
    assert first["duplicate_of"] is None
    assert second["duplicate_of"] == first["record"]["id"]
    assert first["record"]["id"] != second["record"]["id"]
    assert (await fetch(client, ws.auth, first["record"]["id"]))["fields"]["city"] == "A"
    assert (await fetch(client, ws.auth, second["record"]["id"]))["fields"]["city"] == "C"
    [found] = await events(client, ws, "record.duplicate_found")
    assert found["data"]["record"] == second["record"]["id"]
    assert found["data"]["duplicate_of"] == first["record"]["id"]
    assert await count(client, ws) == 2


async def test_bulk_skip_within_the_batch(client: httpx.AsyncClient, ws: Workspace) -> None:
    await set_policy(client, ws, "skip")
    results = await take_in_bulk(
        client, ws.auth, [{"email": "b@x.io", "city": "A"}, {"email": "b@x.io", "city": "C"}]
    )
    assert [r["status"] for r in results] == ["created", "skipped"]
    assert results[1]["record"]["id"] == results[0]["record"]["id"]
    assert (await fetch(client, ws.auth, results[0]["record"]["id"]))["fields"]["city"] == "A"
    assert await count(client, ws) == 1


async def test_bulk_many_items_updating_one_existing_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    existing = await create(client, ws.auth, {"email": "hub@x.io"})
    results = await take_in_bulk(
        client,
        ws.auth,
        [{"email": "hub@x.io", "city": "A"}, {"email": "hub@x.io", "country": "B"}],
    )
    assert [r["status"] for r in results] == ["updated", "updated"]
    assert {r["record"]["id"] for r in results} == {existing["id"]}
    record = await fetch(client, ws.auth, existing["id"])
    assert (record["fields"]["city"], record["fields"]["country"]) == ("A", "B")
    assert await count(client, ws) == 1


async def test_bulk_item_duplicating_a_failed_item_stands_alone(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    # Company names are required: the first item cannot be stored, so the second (its
    # duplicate) has nothing to merge into and is created on its own.
    results = await take_in_bulk(
        client,
        ws.auth,
        [{"email": "c@x.io"}, {"email": "c@x.io", "name": "Acme"}],
        obj="company",
    )
    assert [r["status"] for r in results] == ["failed", "created"]
    assert [d["field"] for d in results[0]["error"]["details"]] == ["name"]
    assert results[1]["duplicate_of"] is None
    assert results[1]["record"]["fields"]["name"] == "Acme"
    assert await count(client, ws, "company") == 1


# --- refusals -----------------------------------------------------------------------------


async def test_unknown_object_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(intake_url("spaceship"), json={"email": "a@x.io"}, headers=ws.auth)
    assert_error(answer, 404, "not_found")
    answer = await client.post(
        f"{intake_url('spaceship')}/bulk", json={"items": [{"email": "a@x.io"}]}, headers=ws.auth
    )
    assert_error(answer, 404, "not_found")
    answer = await client.post(intake_url(str(uuid.uuid4())), json={"email": "a"}, headers=ws.auth)
    assert_error(answer, 404, "not_found")


async def test_another_workspaces_object_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    made = await client.post(
        f"{API}/objects",
        json={
            "key": "vessel",
            "label": "Vessel",
            "fields": [{"key": "name", "label": "Name", "type": "text"}],
        },
        headers=other_ws.auth,
    )
    assert made.status_code == 201, made.text
    for ref in ("vessel", made.json()["id"]):
        answer = await client.post(intake_url(ref), json={"name": "Boat"}, headers=ws.auth)
        assert_error(answer, 404, "not_found")


@pytest.mark.parametrize(
    ("obj", "payload", "fields"),
    [
        ("contact", {}, ["fields"]),
        ("contact", {"favourite colour": "blue", "utm": "x"}, ["fields"]),
        ("contact", {"email": "not an email"}, ["email"]),
        ("contact", {"phone": "+1 000 000 0000"}, ["phone"]),
        ("contact", {"email": "a@x.io", "status": "Unheard of"}, ["status"]),
        (
            "contact",
            {"email": "a@x.io", "first_name": ["x"], "zip": {"a": 1}},
            ["first_name", "zip"],
        ),
        ("company", {"email": "a@x.io"}, ["name"]),
        ("company", {"name": ""}, ["name"]),
        ("lead", {"email": "a@x.io", "status:Sales pipeline": "Won"}, ["status:Sales pipeline"]),
        ("lead", {"email": "a@x.io", "status:nope": "New"}, ["status:nope"]),
        ("lead", {"email": "a@x.io", "Status:Stage": "Shipped"}, ["Status:Stage"]),
        ("lead", {"email": "a@x.io", "status:stage": 3}, ["status:stage"]),
        ("contact", {"email": "a@x.io", "assignee": "nobody@x.io"}, ["assignee"]),
        ("contact", {"email": "a@x.io", "viewers": ["nobody@x.io"]}, ["viewers"]),
        ("contact", {"email": "a@x.io", "viewers": 5}, ["viewers"]),
        ("contact", {"email": "a@x.io", "note": 5}, ["note"]),
        ("contact", {"email": "a@x.io", "note": {"text": "", "tag": "x"}}, ["note.text"]),
        ("contact", {"email": "a@x.io", "notes": ["ok", {"body": "x"}]}, ["notes[1]"]),
    ],
)
async def test_bad_payload_is_422(
    client: httpx.AsyncClient, ws: Workspace, obj: str, payload: dict[str, Any], fields: list[str]
) -> None:
    answer = await client.post(intake_url(obj), json=payload, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert sorted(detail_fields(answer)) == sorted(fields)
    assert await count(client, ws, obj) == 0
    [result] = await take_in_bulk(client, ws.auth, [payload], obj=obj)
    assert result["status"] == "failed"
    assert result["error"]["http_status"] == 422
    assert sorted(d["field"] for d in result["error"]["details"]) == sorted(fields)
    assert await count(client, ws, obj) == 0


async def test_unknown_pipeline_message_names_the_stages(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        intake_url("lead"), json={"email": "a@x.io", "status:stage": "Shipped"}, headers=ws.auth
    )
    [detail] = answer.json()["error"]["details"]
    assert "New" in detail["message"]
    assert "Converted" in detail["message"]


async def test_another_workspaces_user_is_not_an_assignee(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    stranger = await user_id(client, other_ws.auth)
    for directive in ("assignee", "viewers"):
        answer = await client.post(
            intake_url(), json={"email": "a@x.io", directive: stranger}, headers=ws.auth
        )
        assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == [directive]
    assert await count(client, ws) == 0


@pytest.mark.parametrize("assignee", [7, ["sam@acme.io"], {"email": "sam@acme.io"}])
async def test_assignee_that_is_not_text_is_422(
    client: httpx.AsyncClient, ws: Workspace, assignee: Any
) -> None:
    await ws.add_key(role="agent", email="sam@acme.io")
    payload = {"email": "a@x.io", "assignee": assignee}
    answer = await client.post(intake_url(), json=payload, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["assignee"]
    answer = await client.post(f"{intake_url()}/bulk", json={"items": [payload]}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    assert (result["status"], result["error"]["http_status"]) == ("failed", 422)
    assert await count(client, ws) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email": "a@x.io", "first_name": "a\\u0000b"}',
        b'{"email": "a@x.io", "utm": "a\\u0000b"}',
        b'{"email": "a@x.io", "ut\\u0000m": 1}',
    ],
)
async def test_unstorable_text_is_422(client: httpx.AsyncClient, ws: Workspace, raw: bytes) -> None:
    answer = await client.post(
        intake_url(), content=raw, headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 422, "validation_failed")
    assert await count(client, ws) == 0


async def test_body_declared_as_not_json_is_415(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        intake_url(),
        content=b'{"email": "a@x.io"}',
        headers={**ws.auth, "Content-Type": "text/plain"},
    )
    assert_error(answer, 415, "unsupported_media_type")
    assert await count(client, ws) == 0


async def test_bulk_body_declared_as_not_json_is_415(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{intake_url()}/bulk",
        content=b'{"items": [{"email": "a@x.io"}]}',
        headers={**ws.auth, "Content-Type": "text/plain"},
    )
    assert_error(answer, 415, "unsupported_media_type")


@pytest.mark.parametrize("raw", [b'[{"email": "a@x.io"}]', b'"a@x.io"', b"5", b"null", b"true"])
async def test_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, ws: Workspace, raw: bytes
) -> None:
    answer = await client.post(
        intake_url(), content=raw, headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["body"]
    assert await count(client, ws) == 0


@pytest.mark.parametrize("bulk", [False, True])
@pytest.mark.parametrize("raw", [b'{"email": nope', b"", b"   ", b'{"email": "a@x.io",}'])
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, ws: Workspace, bulk: bool, raw: bytes
) -> None:
    url = f"{intake_url()}/bulk" if bulk else intake_url()
    answer = await client.post(
        url, content=raw, headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 400, "malformed_request")
    assert await count(client, ws) == 0


async def test_missing_scope_is_403(client: httpx.AsyncClient, ws: Workspace) -> None:
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    answer = await client.post(intake_url(), json={"email": "a@x.io"}, headers=reader)
    assert_error(answer, 403, "permission_denied")
    answer = await client.post(
        f"{intake_url()}/bulk", json={"items": [{"email": "a@x.io"}]}, headers=reader
    )
    assert_error(answer, 403, "permission_denied")
    leads_only = bearer(await ws.add_key(scopes=["lead:create", "lead:update"]))
    answer = await client.post(intake_url(), json={"email": "a@x.io"}, headers=leads_only)
    assert_error(answer, 403, "permission_denied")
    assert await count(client, ws) == 0


async def test_without_a_key_is_401(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(intake_url(), json={"email": "a@x.io"})
    assert_error(answer, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["items"]),
        ({"items": []}, ["batch"]),
        ({"items": {"email": "a@x.io"}}, ["items"]),
        ({"items": [{"email": "a@x.io"}, 5]}, ["items.1"]),
        ({"items": [{"email": "a@x.io"}], "shared": "Website"}, ["shared"]),
        ({"items": [{"email": "a@x.io"}], "source": "Website"}, ["source"]),
    ],
)
async def test_bad_batch_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    answer = await client.post(f"{intake_url()}/bulk", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await count(client, ws) == 0


async def test_batch_of_more_than_10000_items_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{intake_url()}/bulk", json={"items": [{}] * 10_001}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["batch"]
    assert await count(client, ws) == 0
