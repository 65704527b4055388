"""Intake directives read where no field of the object has the key: a channel's name gives
the record identities, ``tags`` tags it by name, ``name``/``Full Name`` fills first and last
name. Identities find the record a payload belongs to before the duplicate rule does.

Through the native intake (one and bulk) and the Leadflip face, which share the core.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
LF = "/leadflip/api"
NOT_E164 = "must be a phone number in E.164 form, such as +14155550123"


# --- helpers ------------------------------------------------------------------------------


def records_url(obj: str = "contact") -> str:
    return f"{API}/objects/{obj}/records"


async def get_ok(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> Any:
    """The body of a 200 answer to a GET of ``url``."""
    answer = await client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def create_object(
    client: httpx.AsyncClient, ws: Workspace, key: str, label: str, fields: dict[str, str]
) -> None:
    """Make an object type whose fields, given as ``{key: label}``, are all text."""
    answer = await client.post(
        f"{API}/objects",
        json={
            "key": key,
            "label": label,
            "fields": [{"key": k, "label": v, "type": "text"} for k, v in fields.items()],
        },
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text


async def post_intake(
    client: httpx.AsyncClient, headers: dict[str, str], payload: Any, obj: str
) -> httpx.Response:
    return await client.post(f"{API}/objects/{obj}/intake", json=payload, headers=headers)


async def take_in(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    payload: Any,
    obj: str = "contact",
    status: int = 201,
) -> dict[str, Any]:
    answer = await post_intake(client, headers, payload, obj)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


async def refused(
    client: httpx.AsyncClient, headers: dict[str, str], payload: Any, obj: str = "contact"
) -> httpx.Response:
    """The answer to a single intake that is expected to be refused."""
    answer = await post_intake(client, headers, payload, obj)
    assert answer.status_code >= 400, answer.text
    return answer


async def take_in_bulk(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[Any], obj: str = "contact"
) -> list[dict[str, Any]]:
    answer = await client.post(
        f"{API}/objects/{obj}/intake/bulk", json={"items": items}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    results = list(answer.json()["results"])
    assert [r["index"] for r in results] == list(range(len(items)))
    return results


async def identities(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> list[tuple[str, str]]:
    """A record's identities as ``(channel, address)``, oldest first."""
    found = (await get_ok(client, headers, f"{records_url(obj)}/{record_id}/identities"))["data"]
    for i in found:
        key = {"whatsapp": "phoneNumber", "sms": "phoneNumber", "webchat": "visitorId"}
        assert i["metadata"] == {key.get(i["channel"], "userId"): i["address"]}
    return [(i["channel"], i["address"]) for i in found]


async def tag_names(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> list[str]:
    found = await get_ok(client, headers, f"{records_url(obj)}/{record_id}/tags")
    return [t["name"] for t in found["data"]]


async def all_tags(client: httpx.AsyncClient, ws: Workspace) -> list[str]:
    return [t["name"] for t in (await get_ok(client, ws.auth, f"{API}/tags"))["data"]]


async def fetch(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> dict[str, Any]:
    return dict(await get_ok(client, headers, f"{records_url(obj)}/{record_id}"))


async def count(client: httpx.AsyncClient, ws: Workspace, obj: str = "contact") -> int:
    answer = await client.post(f"{records_url(obj)}/count", json={}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


async def events(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    found = await get_ok(client, ws.auth, f"{API}/events?after=0&limit=1000")
    return [e for e in found["data"] if e["type"] == kind]


async def timeline(
    client: httpx.AsyncClient, ws: Workspace, record_id: str, obj: str = "contact"
) -> list[str]:
    found = await get_ok(client, ws.auth, f"{records_url(obj)}/{record_id}/timeline")
    return [e["type"] for e in found["data"]]


async def set_policy(client: httpx.AsyncClient, ws: Workspace, policy: str) -> None:
    answer = await client.patch(
        f"{API}/objects/contact", json={"duplicates": {"policy": policy}}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text


def names(record: dict[str, Any]) -> tuple[Any, Any]:
    return record["fields"]["first_name"], record["fields"]["last_name"]


async def leadflip_intake(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    """A Leadflip intake (of ``json`` or of form ``data``) that is taken; its answer."""
    answer = await client.post(f"{LF}/intake", headers=ws.auth, **body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def conflict_on(answer: httpx.Response, channel: str) -> None:
    """A 409 whose detail names ``channel``."""
    error = assert_error(answer, 409, "conflict")
    assert channel in error["message"]
    assert detail_fields(answer) == [channel]


# --- channels -----------------------------------------------------------------------------


async def test_channel_keys_give_the_record_identities(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    out = await take_in(
        client,
        ws.auth,
        {
            "first_name": "Ada",
            "WhatsApp": "+48 123 456 789; +48 (600) 000-001",
            "telegram": ["@ada", " ada_2 "],
            "SMS": "+48123456789",
            "instagram": "ada.insta",
            "messenger": "100042",
            "webchat": "visitor-7",
        },
    )
    # Directives are neither fields nor unmapped values.
    assert (out["matched"], out["unmapped"]) == ({"first_name": "first_name"}, {})
    record_id = out["record"]["id"]
    assert await identities(client, ws.auth, record_id) == [
        ("whatsapp", "+48123456789"),
        ("whatsapp", "+48600000001"),
        ("telegram", "@ada"),
        ("telegram", "ada_2"),
        ("sms", "+48123456789"),
        ("instagram", "ada.insta"),
        ("messenger", "100042"),
        ("webchat", "visitor-7"),
    ]
    added = await events(client, ws, "record.identity_added")
    assert len(added) == 8
    assert {e["record_id"] for e in added} == {record_id}
    assert {(e["data"]["channel"], e["data"]["address"]) for e in added} == set(
        await identities(client, ws.auth, record_id)
    )
    assert "record.identity_added" in await timeline(client, ws, record_id)


async def test_the_same_address_twice_is_one_identity(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    out = await take_in(
        client, ws.auth, {"first_name": "Bo", "whatsapp": "+48 111 222 333, +48111222333"}
    )
    assert await identities(client, ws.auth, out["record"]["id"]) == [("whatsapp", "+48111222333")]
    assert len(await events(client, ws, "record.identity_added")) == 1


async def test_email_is_a_field_not_a_channel(client: httpx.AsyncClient, ws: Workspace) -> None:
    out = await take_in(client, ws.auth, {"first_name": "Em", "email": "Em@Example.com"})
    assert out["record"]["fields"]["email"] == "em@example.com"
    assert await identities(client, ws.auth, out["record"]["id"]) == []
    # On an object without an email field, "email" is kept unmapped.
    await create_object(client, ws, "ticket", "Ticket", {"subject": "Subject"})
    ticket = await take_in(
        client, ws.auth, {"subject": "Help", "email": "em@example.com"}, obj="ticket"
    )
    assert ticket["unmapped"] == {"email": "em@example.com"}
    assert await identities(client, ws.auth, ticket["record"]["id"], "ticket") == []


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"WhatsApp": "not a phone"}, ["WhatsApp"]),
        ({"sms": ["+48123456789", "12"]}, ["sms"]),
        ({"whatsapp": 48123456789}, ["whatsapp"]),
        ({"telegram": {"id": 7}}, ["telegram"]),
        ({"instagram": "x" * 321}, ["instagram"]),
        ({"whatsapp": "nope", "telegram": ["ok", {"id": 7}]}, ["whatsapp", "telegram"]),
    ],
)
async def test_an_address_that_is_not_valid_is_422_naming_the_key(
    client: httpx.AsyncClient, ws: Workspace, payload: dict[str, Any], fields: list[str]
) -> None:
    answer = await refused(client, ws.auth, {"first_name": "Ada", **payload})
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    [result] = await take_in_bulk(client, ws.auth, [{"first_name": "Ada", **payload}])
    assert (result["status"], result["error"]["http_status"]) == ("failed", 422)
    assert [d["field"] for d in result["error"]["details"]] == fields
    assert await count(client, ws) == 0
    assert await events(client, ws, "record.identity_added") == []


async def test_invalid_phone_message(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await refused(client, ws.auth, {"first_name": "Ada", "whatsapp": "call me"})
    [detail] = answer.json()["error"]["details"]
    assert (detail["field"], detail["message"]) == ("whatsapp", NOT_E164)


async def test_a_field_with_the_key_wins_over_the_directive(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await create_object(
        client,
        ws,
        "member",
        "Member",
        {
            "first_name": "First name",
            "last_name": "Last name",
            "telegram": "Telegram handle",
            "labels": "Tags",
            "name": "Nickname",
        },
    )
    out = await take_in(
        client,
        ws.auth,
        {"Telegram": "@ada", "tags": "a, b", "Name": "Ada Lovelace", "whatsapp": "+48123456789"},
        obj="member",
    )
    assert out["matched"] == {"Telegram": "telegram", "tags": "labels", "Name": "name"}
    fields = out["record"]["fields"]
    assert (fields["telegram"], fields["labels"], fields["name"]) == (
        "@ada",
        "a, b",
        "Ada Lovelace",
    )
    assert (fields["first_name"], fields["last_name"]) == (None, None)
    record_id = out["record"]["id"]
    assert await identities(client, ws.auth, record_id, "member") == [("whatsapp", "+48123456789")]
    assert await tag_names(client, ws.auth, record_id, "member") == []
    assert await all_tags(client, ws) == []


# --- tags ---------------------------------------------------------------------------------


async def test_tags_are_found_or_made_by_name(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(f"{API}/tags", json={"name": "VIP"}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    vip = answer.json()["id"]
    out = await take_in(
        client, ws.auth, {"first_name": "Ada", "Tags": "vip, Spring  Fair; vip", "city": "Oslo"}
    )
    assert "Tags" not in out["unmapped"]
    record_id = out["record"]["id"]
    assert await tag_names(client, ws.auth, record_id) == ["Spring Fair", "VIP"]
    assert await all_tags(client, ws) == ["Spring Fair", "VIP"]
    tagged = await events(client, ws, "record.tagged")
    assert sorted(e["data"]["name"] for e in tagged) == ["Spring Fair", "VIP"]
    assert {e["record_id"] for e in tagged} == {record_id}
    assert vip in {e["data"]["tag"] for e in tagged}
    [made] = (await events(client, ws, "tag.created"))[1:]  # the first is VIP's, made above
    assert made["data"]["name"] == "Spring Fair"
    assert "record.tagged" in await timeline(client, ws, record_id)

    # A list works too, and a tag the record has already is no new event.
    again = await take_in(
        client, ws.auth, {"first_name": "Bo", "tags": ["VIP", "Spring fair"]}, status=201
    )
    assert await tag_names(client, ws.auth, again["record"]["id"]) == ["Spring Fair", "VIP"]
    assert await all_tags(client, ws) == ["Spring Fair", "VIP"]


async def test_a_key_that_may_not_create_tags_uses_only_existing_ones(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(f"{API}/tags", json={"name": "Known"}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    key = bearer(await ws.add_key(scopes=["contact:create", "contact:read", "contact:list"]))
    ok = await take_in(client, key, {"first_name": "Ok", "tags": "KNOWN"})
    assert await tag_names(client, ws.auth, ok["record"]["id"]) == ["Known"]

    answer = await refused(client, key, {"first_name": "No", "Tags": "Known, Brand New"})
    assert_error(answer, 422, "validation_failed")
    [detail] = answer.json()["error"]["details"]
    assert detail["field"] == "tags"
    assert detail["message"] == "no tag named 'Brand New', and this key may not create tags"

    results = await take_in_bulk(
        client, key, [{"first_name": "A", "tags": "known"}, {"first_name": "B", "tags": "Nope"}]
    )
    assert [r["status"] for r in results] == ["created", "failed"]
    assert [d["field"] for d in results[1]["error"]["details"]] == ["tags"]
    assert await all_tags(client, ws) == ["Known"]
    assert await count(client, ws) == 2


@pytest.mark.parametrize("value", [["x" * 101], [["VIP"]], [7]])
async def test_a_tag_name_that_is_not_fit_is_422(
    client: httpx.AsyncClient, ws: Workspace, value: list[Any]
) -> None:
    answer = await refused(client, ws.auth, {"first_name": "Ada", "tags": ["ok", *value]})
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["tags"]
    assert await all_tags(client, ws) == []


async def test_a_batch_makes_a_tag_as_its_first_item_spells_it(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    results = await take_in_bulk(
        client, ws.auth, [{"first_name": "A", "tags": "VIP"}, {"first_name": "B", "tags": "vip"}]
    )
    assert [r["status"] for r in results] == ["created", "created"]
    assert await all_tags(client, ws) == ["VIP"]


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", ["contact", "lead"])
async def test_a_full_name_fills_first_and_last_name(
    client: httpx.AsyncClient, ws: Workspace, obj: str
) -> None:
    out = await take_in(client, ws.auth, {"Full Name": "  Ada  King   Lovelace "}, obj=obj)
    assert names(out["record"]) == ("Ada King", "Lovelace")
    assert out["record"]["display_name"] == "Ada King Lovelace"
    assert out["matched"] == {"Full Name": "first_name"}
    single = await take_in(client, ws.auth, {"name": "Cher", "email": "cher@x.io"}, obj=obj)
    assert names(single["record"]) == ("Cher", None)
    # The first value for a field wins: a first name given before the name stays.
    both = await take_in(client, ws.auth, {"first_name": "Augusta", "name": "Ada Byron"}, obj=obj)
    assert names(both["record"]) == ("Augusta", "Byron")
    answer = await refused(client, ws.auth, {"name": ["Ada"], "email": "a@x.io"}, obj=obj)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["name"]


async def test_an_object_without_first_and_last_name_keeps_its_own_name(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    out = await take_in(client, ws.auth, {"Name": "Acme Rockets Ltd"}, obj="company")
    assert out["record"]["fields"]["name"] == "Acme Rockets Ltd"
    assert out["matched"] == {"Name": "name"}
    await create_object(client, ws, "pet", "Pet", {"first_name": "First name"})
    pet = await take_in(client, ws.auth, {"first_name": "Rex", "name": "Rex Dog"}, obj="pet")
    assert pet["record"]["fields"] == {"first_name": "Rex"}
    assert pet["unmapped"] == {"name": "Rex Dog"}


# --- identities and duplicates ------------------------------------------------------------


async def test_an_identity_finds_its_record_before_the_email_does(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    holder = await take_in(client, ws.auth, {"first_name": "Holder", "telegram": "@ada"})
    by_mail = await take_in(client, ws.auth, {"first_name": "Mail", "email": "ada@x.io"})
    out = await take_in(
        client,
        ws.auth,
        {"telegram": "@ada", "email": "ada@x.io", "city": "Paris", "whatsapp": "+48 123 456 789"},
        status=200,
    )
    assert out["status"] == "updated"
    assert out["record"]["id"] == holder["record"]["id"]
    assert (out["record"]["fields"]["city"], out["record"]["fields"]["email"]) == (
        "Paris",
        "ada@x.io",
    )
    assert await count(client, ws) == 2
    # The update brought a new identity with it; the record found by email is untouched.
    assert await identities(client, ws.auth, holder["record"]["id"]) == [
        ("telegram", "@ada"),
        ("whatsapp", "+48123456789"),
    ]
    assert (await fetch(client, ws.auth, by_mail["record"]["id"]))["fields"]["city"] is None
    # A phone written otherwise is the same identity.
    again = await take_in(
        client, ws.auth, {"WhatsApp": "+48-123-456-789", "title": "CTO"}, status=200
    )
    assert again["record"]["id"] == holder["record"]["id"]
    assert again["record"]["fields"]["title"] == "CTO"


async def test_a_record_found_by_email_gets_the_payloads_identities(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await take_in(client, ws.auth, {"first_name": "Ada", "email": "ada@x.io"})
    out = await take_in(
        client, ws.auth, {"email": "ADA@x.io", "sms": "+1 555 222 3333", "tags": "Met"}, status=200
    )
    assert out["record"]["id"] == made["record"]["id"]
    assert await identities(client, ws.auth, made["record"]["id"]) == [("sms", "+15552223333")]
    assert await tag_names(client, ws.auth, made["record"]["id"]) == ["Met"]


async def test_identities_of_two_records_are_a_conflict(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await take_in(client, ws.auth, {"first_name": "Ada", "whatsapp": "+48123456789"})
    bob = await take_in(
        client, ws.auth, {"first_name": "Bob", "whatsapp": "+48600000001", "telegram": "@bob"}
    )
    answer = await refused(
        client, ws.auth, {"first_name": "Both", "whatsapp": "+48123456789, +48 600 000 001"}
    )
    conflict_on(answer, "whatsapp")
    answer = await refused(
        client, ws.auth, {"first_name": "X", "whatsapp": "+48123456789", "telegram": "@bob"}
    )
    error = assert_error(answer, 409, "conflict")
    [channel] = detail_fields(answer)
    assert channel in ("whatsapp", "telegram")
    assert channel in error["message"]
    [result] = await take_in_bulk(
        client, ws.auth, [{"first_name": "Both", "whatsapp": "+48123456789", "telegram": "@bob"}]
    )
    assert (result["status"], result["error"]["http_status"]) == ("failed", 409)
    assert await count(client, ws) == 2
    assert await identities(client, ws.auth, ada["record"]["id"]) == [("whatsapp", "+48123456789")]
    assert await identities(client, ws.auth, bob["record"]["id"]) == [
        ("whatsapp", "+48600000001"),
        ("telegram", "@bob"),
    ]
    assert (await fetch(client, ws.auth, ada["record"]["id"]))["fields"]["first_name"] == "Ada"


async def test_an_identity_of_another_object_type_is_a_conflict(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    lead = await take_in(
        client, ws.auth, {"name": "Lead Person", "whatsapp": "+1 555 222 3333"}, obj="lead"
    )
    contact = await take_in(client, ws.auth, {"first_name": "Contact", "telegram": "@c"})
    conflict_on(
        await refused(client, ws.auth, {"whatsapp": "+15552223333", "city": "X"}), "whatsapp"
    )
    conflict_on(
        await refused(client, ws.auth, {"telegram": "@c", "first_name": "L"}, obj="lead"),
        "telegram",
    )
    [result] = await take_in_bulk(
        client, ws.auth, [{"first_name": "C", "whatsapp": "+15552223333"}]
    )
    assert (result["status"], result["error"]["http_status"]) == ("failed", 409)
    assert [d["field"] for d in result["error"]["details"]] == ["whatsapp"]
    assert (await count(client, ws), await count(client, ws, "lead")) == (1, 1)
    assert await identities(client, ws.auth, lead["record"]["id"], "lead") == [
        ("whatsapp", "+15552223333")
    ]
    assert await identities(client, ws.auth, contact["record"]["id"]) == [("telegram", "@c")]


async def test_under_the_create_policy_an_identity_match_is_a_conflict(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_policy(client, ws, "create")
    first = await take_in(
        client, ws.auth, {"first_name": "Ada", "email": "ada@x.io", "telegram": "@ada"}
    )
    conflict_on(
        await refused(client, ws.auth, {"first_name": "Twin", "telegram": "@ada"}), "telegram"
    )
    # A twin by email alone is still made, naming the first.
    twin = await take_in(client, ws.auth, {"first_name": "Twin", "email": "ada@x.io"})
    assert twin["duplicate_of"] == first["record"]["id"]
    results = await take_in_bulk(
        client,
        ws.auth,
        [{"first_name": "P", "telegram": "@p"}, {"first_name": "Q", "telegram": "@p"}],
    )
    assert [r["status"] for r in results] == ["created", "failed"]
    assert results[1]["error"]["http_status"] == 409
    assert [d["field"] for d in results[1]["error"]["details"]] == ["telegram"]
    assert await count(client, ws) == 3
    assert await identities(client, ws.auth, results[0]["record"]["id"]) == [("telegram", "@p")]


async def test_under_the_skip_policy_an_identity_match_changes_nothing(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await set_policy(client, ws, "skip")
    first = await take_in(client, ws.auth, {"first_name": "Ada", "telegram": "@ada"})
    out = await take_in(
        client,
        ws.auth,
        {"first_name": "Other", "telegram": "@ada", "sms": "+48123456789", "tags": "New"},
        status=200,
    )
    assert out["status"] == "skipped"
    assert out["record"] == first["record"]
    assert await identities(client, ws.auth, first["record"]["id"]) == [("telegram", "@ada")]
    assert await tag_names(client, ws.auth, first["record"]["id"]) == []
    assert await count(client, ws) == 1


async def test_a_deleted_record_lets_go_of_its_identities(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    gone = await take_in(client, ws.auth, {"first_name": "Gone", "whatsapp": "+48123456789"})
    answer = await client.delete(f"{records_url()}/{gone['record']['id']}", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    out = await take_in(client, ws.auth, {"first_name": "New", "whatsapp": "+48 123 456 789"})
    assert out["status"] == "created"
    assert await identities(client, ws.auth, out["record"]["id"]) == [("whatsapp", "+48123456789")]
    assert await count(client, ws) == 1


async def test_an_agent_updates_its_own_record_found_by_identity(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    sam = bearer(await ws.add_key(role="agent", email="sam@acme.io"))
    mine = await take_in(client, sam, {"first_name": "Mine", "telegram": "@mine"})
    out = await take_in(client, sam, {"telegram": "@mine", "city": "Rome"}, status=200)
    assert out["record"]["id"] == mine["record"]["id"]
    assert out["record"]["fields"]["city"] == "Rome"


async def test_an_identity_of_a_record_the_caller_may_not_change_is_a_conflict_on_it(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    sam = bearer(await ws.add_key(role="agent", email="sam@acme.io"))
    hidden = await take_in(client, ws.auth, {"first_name": "Owner's", "whatsapp": "+48123456789"})
    answer = await refused(
        client, sam, {"first_name": "Mine", "whatsapp": "+48123456789", "email": "fresh@x.io"}
    )
    assert_error(answer, 409, "conflict")
    assert (await fetch(client, ws.auth, hidden["record"]["id"]))["fields"]["email"] is None
    assert await count(client, ws) == 1
    assert detail_fields(answer) == ["whatsapp"]


# --- batches ------------------------------------------------------------------------------


async def test_a_batch_lands_payloads_with_one_identity_in_one_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    results = await take_in_bulk(
        client,
        ws.auth,
        [
            {"first_name": "Ada", "telegram": "@ada", "tags": "One"},
            {"city": "Rome", "Telegram": "@ada", "tags": "Two", "whatsapp": "+48123456789"},
            {"whatsapp": "+48 123 456 789", "last_name": "Lovelace"},  # found by the 2nd's
            {"first_name": "Bo", "telegram": "@bo"},
        ],
    )
    assert [r["status"] for r in results] == ["created", "updated", "updated", "created"]
    record_id = results[0]["record"]["id"]
    assert {r["record"]["id"] for r in results[:3]} == {record_id}
    assert results[3]["record"]["id"] != record_id
    assert await count(client, ws) == 2
    record = await fetch(client, ws.auth, record_id)
    assert (names(record), record["fields"]["city"]) == (("Ada", "Lovelace"), "Rome")
    assert await identities(client, ws.auth, record_id) == [
        ("telegram", "@ada"),
        ("whatsapp", "+48123456789"),
    ]
    assert await tag_names(client, ws.auth, record_id) == ["One", "Two"]
    added = await events(client, ws, "record.identity_added")
    assert sorted((e["record_id"], e["data"]["address"]) for e in added) == sorted(
        [(record_id, "@ada"), (record_id, "+48123456789"), (results[3]["record"]["id"], "@bo")]
    )
    assert len(await events(client, ws, "record.tagged")) == 2


async def test_a_batch_matching_an_existing_holder_updates_it(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    holder = await take_in(client, ws.auth, {"first_name": "Ada", "telegram": "@ada"})
    results = await take_in_bulk(
        client,
        ws.auth,
        [
            {"telegram": "@ada", "email": "ada@x.io"},
            {"email": "ADA@x.io", "city": "Oslo", "sms": "+15552223333"},
        ],
    )
    assert [r["status"] for r in results] == ["updated", "updated"]
    assert {r["record"]["id"] for r in results} == {holder["record"]["id"]}
    assert await count(client, ws) == 1
    assert await identities(client, ws.auth, holder["record"]["id"]) == [
        ("telegram", "@ada"),
        ("sms", "+15552223333"),
    ]


async def test_a_batch_item_whose_identities_are_two_new_records_is_a_conflict(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    results = await take_in_bulk(
        client,
        ws.auth,
        [
            {"first_name": "Ada", "telegram": "@ada"},
            {"first_name": "Bob", "telegram": "@bob"},
            {"city": "Rome", "telegram": "@ada, @bob"},
        ],
    )
    ada, bob = results[0]["record"]["id"], results[1]["record"]["id"]
    assert await identities(client, ws.auth, bob) == [("telegram", "@bob")]
    assert await identities(client, ws.auth, ada) == [("telegram", "@ada")]
    assert [r["status"] for r in results] == ["created", "created", "failed"]
    assert results[2]["error"]["http_status"] == 409


# --- the Leadflip face --------------------------------------------------------------------


async def test_leadflip_intake_reads_the_directives(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await leadflip_intake(
        client,
        ws,
        json={"entity": "lead", "Full Name": "Ada Lovelace", "whatsapp": "+48 123 456 789"},
    )
    assert (made["result"], made["unmapped"]) == ("created", [])
    from_form = await leadflip_intake(
        client,
        ws,
        data={
            "entity": "lead",
            "name": "Form Person",
            "WhatsApp": "+1 555 999 0001",
            "tags": "A;B",
        },
    )
    form = from_form["lead_id"]
    lead = await client.get(f"{LF}/leads/{form}", headers=ws.auth)
    assert lead.json()["fields"] == {"first_name": "Form", "last_name": "Person"}
    assert await identities(client, ws.auth, form, "lead") == [("whatsapp", "+15559990001")]
    assert await tag_names(client, ws.auth, form, "lead") == ["A", "B"]
    assert "lead_tagged_event" in [e["type"] for e in lead.json()["events"]]

    # The same WhatsApp finds the lead again.
    again = await leadflip_intake(
        client, ws, json={"entity": "lead", "whatsapp": "+48123456789", "city": "Oslo"}
    )
    assert (again["result"], again["lead_id"]) == ("updated", made["lead_id"])
    assert await count(client, ws, "lead") == 2


async def test_leadflip_refusals_are_validation_errors_on_the_key(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await take_in(client, ws.auth, {"first_name": "Contact", "whatsapp": "+48123456789"})
    for payload, errors in [
        (
            {"entity": "lead", "name": "X", "whatsapp": "+48123456789"},
            {"whatsapp": ["The whatsapp field has already been taken."]},
        ),
        (
            {"entity": "lead", "name": "X", "WhatsApp": "nope"},
            {"WhatsApp": [f"The WhatsApp field {NOT_E164}."]},
        ),
    ]:
        answer = await client.post(f"{LF}/intake", json=payload, headers=ws.auth)
        assert answer.status_code == 422, answer.text
        assert answer.json() == {"status": "error", "message": "Validation error", "errors": errors}
    assert await count(client, ws, "lead") == 0


async def test_leadflip_lead_changes_read_the_directives_too(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    lead = await take_in(client, ws.auth, {"first_name": "Ada", "email": "ada@x.io"}, obj="lead")
    lead_id = lead["record"]["id"]
    answer = await client.patch(
        f"{LF}/leads/{lead_id}",
        json={"fields": {"city": "Nice", "tags": "Hot", "whatsapp": "+1 555 000 1111"}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["updated_fields"] == ["city"]
    assert await tag_names(client, ws.auth, lead_id, "lead") == ["Hot"]
    assert await identities(client, ws.auth, lead_id, "lead") == [("whatsapp", "+15550001111")]
