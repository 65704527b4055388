"""Per-object duplicate rules: what intake does with a record another record already matches."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"


# --- helpers ------------------------------------------------------------------------------


async def describe(client: httpx.AsyncClient, ws: Workspace, obj: str) -> dict[str, Any]:
    answer = await client.get(f"{API}/objects/{obj}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def rule(client: httpx.AsyncClient, ws: Workspace, obj: str) -> dict[str, Any]:
    return dict((await describe(client, ws, obj))["duplicates"])


async def set_rule(
    client: httpx.AsyncClient, ws: Workspace, obj: str, duplicates: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.patch(
        f"{API}/objects/{obj}", json={"duplicates": duplicates}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == await describe(client, ws, obj)
    return dict(answer.json()["duplicates"])


async def add_field(
    client: httpx.AsyncClient, ws: Workspace, obj: str, spec: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(f"{API}/objects/{obj}/fields", json=spec, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def take_in(
    client: httpx.AsyncClient, ws: Workspace, obj: str, payload: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(f"{API}/objects/{obj}/intake", json=payload, headers=ws.auth)
    assert answer.status_code in (200, 201), answer.text
    assert answer.status_code == (201 if answer.json()["status"] == "created" else 200)
    return dict(answer.json())


# --- defaults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ("contact", ["email", "phone", "mobile"]),
        ("lead", ["email", "phone", "mobile"]),
        ("company", ["email", "phone"]),
        ("deal", []),
        ("case", []),
        ("task", []),
    ],
)
async def test_default_rule_updates_on_email_and_phone(
    client: httpx.AsyncClient, ws: Workspace, obj: str, match: list[str]
) -> None:
    assert await rule(client, ws, obj) == {"policy": "update", "match": match}


async def test_objects_list_renders_the_rule(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{API}/objects", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    listed = answer.json()["data"]
    assert {o["key"]: o["duplicates"] for o in listed}["contact"] == {
        "policy": "update",
        "match": ["email", "phone", "mobile"],
    }


async def test_new_email_and_phone_fields_are_indexed_and_matched(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    work = await add_field(
        client, ws, "contact", {"key": "work_email", "label": "Work email", "type": "email"}
    )
    fax = await add_field(client, ws, "contact", {"key": "fax", "label": "Fax", "type": "phone"})
    note = await add_field(client, ws, "contact", {"key": "nick", "label": "Nick", "type": "text"})
    assert (work["indexed"], fax["indexed"], note["indexed"]) == (True, True, False)
    # With no rule set, the default follows the fields, in their order.
    assert await rule(client, ws, "contact") == {
        "policy": "update",
        "match": ["email", "phone", "mobile", "work_email", "fax"],
    }


async def test_an_email_field_may_be_created_unindexed(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await add_field(
        client,
        ws,
        "contact",
        {"key": "old_email", "label": "Old email", "type": "email", "indexed": False},
    )
    assert made["indexed"] is False
    # Still matched by default: being indexed is about speed, not about the rule.
    assert "old_email" in (await rule(client, ws, "contact"))["match"]


@pytest.mark.parametrize("obj", ["contact", "lead", "company"])
async def test_standard_email_and_phone_fields_are_indexed(
    client: httpx.AsyncClient, ws: Workspace, obj: str
) -> None:
    described = await describe(client, ws, obj)
    kinds = {f["key"]: f["indexed"] for f in described["fields"] if f["type"] in ("email", "phone")}
    assert kinds
    assert all(kinds.values()), kinds


async def test_new_object_default_rule(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects",
        json={
            "key": "member",
            "label": "Member",
            "fields": [
                {"key": "name", "label": "Name", "type": "text"},
                {"key": "cell", "label": "Cell", "type": "phone"},
                {"key": "mail", "label": "Mail", "type": "email"},
            ],
        },
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["duplicates"] == {"policy": "update", "match": ["cell", "mail"]}
    plain = await client.post(
        f"{API}/objects", json={"key": "thing", "label": "Thing"}, headers=ws.auth
    )
    assert plain.json()["duplicates"] == {"policy": "update", "match": []}


# --- setting a rule -----------------------------------------------------------------------


async def test_set_policy_and_match(client: httpx.AsyncClient, ws: Workspace) -> None:
    assert await set_rule(client, ws, "contact", {"policy": "skip"}) == {
        "policy": "skip",
        "match": ["email", "phone", "mobile"],
    }
    assert await set_rule(client, ws, "contact", {"match": ["mobile", "email"]}) == {
        "policy": "skip",
        "match": ["mobile", "email"],
    }
    assert await set_rule(client, ws, "contact", {"policy": "create", "match": []}) == {
        "policy": "create",
        "match": [],
    }
    assert await set_rule(client, ws, "contact", {"match": ["email", "email", "city"]}) == {
        "policy": "create",
        "match": ["email", "city"],
    }
    # Other objects keep their own rule.
    assert await rule(client, ws, "lead") == {
        "policy": "update",
        "match": ["email", "phone", "mobile"],
    }


async def test_rule_is_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await set_rule(client, ws, "contact", {"policy": "skip", "match": ["email"]})
    assert await rule(client, other_ws, "contact") == {
        "policy": "update",
        "match": ["email", "phone", "mobile"],
    }


async def test_patch_without_duplicates_keeps_the_rule(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_rule(client, ws, "contact", {"policy": "skip", "match": ["email"]})
    answer = await client.patch(f"{API}/objects/contact", json={"label": "Person"}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["duplicates"] == {"policy": "skip", "match": ["email"]}


async def test_a_set_rule_does_not_grow_with_new_fields(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_rule(client, ws, "contact", {"match": ["email"]})
    await add_field(client, ws, "contact", {"key": "work_email", "label": "Work", "type": "email"})
    assert await rule(client, ws, "contact") == {"policy": "update", "match": ["email"]}


async def test_create_an_object_with_a_rule(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects",
        json={
            "key": "parcel",
            "label": "Parcel",
            "fields": [
                {"key": "ref", "label": "Reference", "type": "text"},
                {"key": "lot", "label": "Lot", "type": "number"},
                {"key": "mail", "label": "Mail", "type": "email"},
            ],
            "duplicates": {"policy": "skip", "match": ["ref", "lot"]},
        },
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["duplicates"] == {"policy": "skip", "match": ["ref", "lot"]}
    assert await rule(client, ws, "parcel") == {"policy": "skip", "match": ["ref", "lot"]}
    first = await take_in(client, ws, "parcel", {"Reference": "P-1", "mail": "a@x.io"})
    # The same email is no duplicate under this rule; the same lot number is, in any form.
    other = await take_in(client, ws, "parcel", {"ref": "P-2", "mail": "a@x.io", "lot": "42"})
    assert other["status"] == "created"
    again = await take_in(client, ws, "parcel", {"ref": "p-1", "lot": 7})
    assert again["status"] == "created"  # text matches exactly: "p-1" is not "P-1"
    same_ref = await take_in(client, ws, "parcel", {"ref": "P-1", "mail": "b@x.io"})
    assert same_ref["status"] == "skipped"
    assert same_ref["record"] == first["record"]
    same_lot = await take_in(client, ws, "parcel", {"lot": 42.0})
    assert same_lot["status"] == "skipped"
    assert same_lot["record"]["id"] == other["record"]["id"]


async def test_rule_with_no_match_fields_never_finds_duplicates(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_rule(client, ws, "contact", {"match": []})
    first = await take_in(client, ws, "contact", {"email": "a@x.io"})
    second = await take_in(client, ws, "contact", {"email": "a@x.io"})
    assert second["status"] == "created"
    assert second["duplicate_of"] is None
    assert second["record"]["id"] != first["record"]["id"]


async def test_match_on_a_select_field(client: httpx.AsyncClient, ws: Workspace) -> None:
    await set_rule(client, ws, "contact", {"policy": "update", "match": ["status"]})
    first = await take_in(client, ws, "contact", {"status": "Customer", "first_name": "A"})
    second = await take_in(client, ws, "contact", {"status": "customer", "city": "Rome"})
    assert second["status"] == "updated"
    assert second["record"]["id"] == first["record"]["id"]
    assert second["record"]["fields"]["first_name"] == "A"


async def test_only_the_rule_fields_are_matched(client: httpx.AsyncClient, ws: Workspace) -> None:
    await set_rule(client, ws, "contact", {"policy": "update", "match": ["phone"]})
    first = await take_in(client, ws, "contact", {"email": "a@x.io", "phone": "+1 555 222 3333"})
    by_email = await take_in(client, ws, "contact", {"email": "a@x.io"})
    assert by_email["status"] == "created"
    by_phone = await take_in(client, ws, "contact", {"phone": "+15552223333", "city": "Oslo"})
    assert by_phone["status"] == "updated"
    assert by_phone["record"]["id"] == first["record"]["id"]


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duplicates", "fields"),
    [
        ({"policy": "merge"}, ["duplicates.policy"]),
        ({"policy": None}, ["duplicates.policy"]),
        ({"match": ["nope"]}, ["duplicates.match"]),
        ({"match": ["email", "nope"]}, ["duplicates.match"]),
        ({"match": ["description"]}, ["duplicates.match"]),
        ({"match": ["tags"]}, ["duplicates.match"]),
        ({"match": ["companies"]}, ["duplicates.match"]),
        ({"match": "email"}, ["duplicates.match"]),
        ({"match": [5]}, ["duplicates.match.0"]),
        ({"policy": "skip", "fields": ["email"]}, ["duplicates.fields"]),
        ("skip", ["duplicates"]),
    ],
)
async def test_bad_rule_is_422(
    client: httpx.AsyncClient, ws: Workspace, duplicates: Any, fields: list[str]
) -> None:
    await add_field(
        client,
        ws,
        "contact",
        {"key": "tags", "label": "Tags", "type": "multi_select", "options": {"choices": ["a"]}},
    )
    await add_field(
        client,
        ws,
        "contact",
        {
            "key": "companies",
            "label": "Companies",
            "type": "relation",
            "options": {"object": "company", "multiple": True},
        },
    )
    before = await describe(client, ws, "contact")
    answer = await client.patch(
        f"{API}/objects/contact", json={"duplicates": duplicates}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await describe(client, ws, "contact") == before


async def test_bad_rule_on_a_new_object_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects",
        json={
            "key": "memo",
            "label": "Memo",
            "fields": [{"key": "text", "label": "Text", "type": "long_text"}],
            "duplicates": {"match": ["text"]},
        },
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["duplicates.match"]
    assert_error(await client.get(f"{API}/objects/memo", headers=ws.auth), 404, "not_found")


async def test_changing_the_rule_needs_permission(client: httpx.AsyncClient, ws: Workspace) -> None:
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    for headers in (agent, reader):
        answer = await client.patch(
            f"{API}/objects/contact", json={"duplicates": {"policy": "skip"}}, headers=headers
        )
        assert_error(answer, 403, "permission_denied")
    assert await rule(client, ws, "contact") == {
        "policy": "update",
        "match": ["email", "phone", "mobile"],
    }


# --- fields of a rule renamed or deleted --------------------------------------------------


async def test_renaming_a_matched_field_keeps_the_rule_on_it(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await add_field(client, ws, "contact", {"key": "alt_email", "label": "Alt", "type": "email"})
    await set_rule(client, ws, "contact", {"policy": "update", "match": ["alt_email", "email"]})
    answer = await client.patch(
        f"{API}/objects/contact/fields/alt_email", json={"key": "work_email"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert await rule(client, ws, "contact") == {
        "policy": "update",
        "match": ["work_email", "email"],
    }
    first = await take_in(client, ws, "contact", {"work_email": "w@x.io"})
    again = await take_in(client, ws, "contact", {"Work Email": "W@x.io", "city": "Oslo"})
    assert again["status"] == "updated"
    assert again["record"]["id"] == first["record"]["id"]


async def test_renaming_a_field_of_the_default_rule(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await add_field(client, ws, "contact", {"key": "alt_email", "label": "Alt", "type": "email"})
    answer = await client.patch(
        f"{API}/objects/contact/fields/alt_email", json={"key": "work_email"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert await rule(client, ws, "contact") == {
        "policy": "update",
        "match": ["email", "phone", "mobile", "work_email"],
    }


async def test_deleting_a_matched_field_drops_it_from_the_rule(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await add_field(client, ws, "contact", {"key": "alt_email", "label": "Alt", "type": "email"})
    await set_rule(client, ws, "contact", {"policy": "skip", "match": ["alt_email", "email"]})
    answer = await client.delete(f"{API}/objects/contact/fields/alt_email", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    assert await rule(client, ws, "contact") == {"policy": "skip", "match": ["email"]}
    # Intake still works, on what is left of the rule.
    first = await take_in(client, ws, "contact", {"email": "a@x.io"})
    again = await take_in(client, ws, "contact", {"email": "a@x.io", "alt_email": "b@x.io"})
    assert again["status"] == "skipped"
    assert again["record"]["id"] == first["record"]["id"]
    assert again["unmapped"] == {"alt_email": "b@x.io"}


async def test_a_new_field_with_a_deleted_match_fields_key_is_not_matched(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await add_field(client, ws, "contact", {"key": "alt_email", "label": "Alt", "type": "email"})
    await set_rule(client, ws, "contact", {"policy": "skip", "match": ["alt_email", "email"]})
    answer = await client.delete(f"{API}/objects/contact/fields/alt_email", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    await add_field(client, ws, "contact", {"key": "alt_email", "label": "Alt", "type": "text"})
    assert await rule(client, ws, "contact") == {"policy": "skip", "match": ["email"]}


async def test_a_match_field_becomes_indexed(client: httpx.AsyncClient, ws: Workspace) -> None:
    """Intake looks records up by the rule's fields, so naming one in the rule indexes it."""
    before = await client.get(f"{API}/objects/lead/fields/title", headers=ws.auth)
    assert before.json()["indexed"] is False
    answer = await client.patch(
        f"{API}/objects/lead",
        json={"duplicates": {"policy": "update", "match": ["email", "title"]}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    after = await client.get(f"{API}/objects/lead/fields/title", headers=ws.auth)
    assert after.json()["indexed"] is True
