"""Identities: the addresses a record is reached at on each channel, and finding it by one."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"
FIND = f"{API}/identities/record"

#: Whether this run is against PostgreSQL (see ``database_url`` in tests/conftest.py).
ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgres")

PHONE = "+48 123 456 789"
E164 = "+48123456789"


# --- helpers ------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], fields: dict[str, Any], obj: str = "contact"
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def ids_url(record_id: str, obj: str = "contact") -> str:
    return f"{API}/objects/{obj}/records/{record_id}/identities"


async def add(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    record_id: str,
    body: dict[str, Any],
    obj: str = "contact",
) -> dict[str, Any]:
    answer = await client.post(ids_url(record_id, obj), json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def identities(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> list[dict[str, Any]]:
    answer = await client.get(ids_url(record_id, obj), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return list(answer.json()["data"])


async def find(
    client: httpx.AsyncClient, headers: dict[str, str], channel: str, address: str
) -> httpx.Response:
    return await client.get(FIND, params={"channel": channel, "address": address}, headers=headers)


async def found(
    client: httpx.AsyncClient, headers: dict[str, str], channel: str, address: str
) -> dict[str, Any]:
    answer = await find(client, headers, channel, address)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def current(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> dict[str, Any]:
    answer = await client.get(f"{API}/objects/{obj}/records/{record_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get(f"{API}/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["user"])


async def feed(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/events?after=0&limit=1000", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["data"] if e["type"] == kind]


@pytest.fixture
async def agent(ws: Workspace) -> dict[str, str]:
    """The key of an agent (may see, change and delete only their own records)."""
    return bearer(await ws.add_key(role="agent", email="agent@acme.io"))


# --- adding -------------------------------------------------------------------------------


async def test_add_and_list_an_identity(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    assert await identities(client, ws.auth, ada["id"]) == []
    answer = await client.post(
        ids_url(ada["id"]), json={"channel": "whatsapp", "address": PHONE}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert set(made) == {"id", "channel", "address", "metadata", "created_at"}
    assert uuid.UUID(made["id"]).version == 7
    assert made["channel"] == "whatsapp"
    assert made["address"] == E164
    assert made["metadata"] == {"phoneNumber": E164}
    assert made["created_at"].endswith("Z")
    assert await identities(client, ws.auth, ada["id"]) == [made]


@pytest.mark.parametrize(
    ("channel", "given", "stored", "key"),
    [
        ("whatsapp", "+48 (123) 456-789", E164, "phoneNumber"),
        ("sms", "+1 415 555 0123", "+14155550123", "phoneNumber"),
        ("email", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com", "email"),
        ("messenger", "1029384756", "1029384756", "userId"),
        ("instagram", "ig_ada_1815", "ig_ada_1815", "userId"),
        ("telegram", "77553311", "77553311", "userId"),
        ("webchat", "visitor-6f1c2a", "visitor-6f1c2a", "visitorId"),
    ],
)
async def test_each_channel_normalises_its_address(
    client: httpx.AsyncClient, ws: Workspace, channel: str, given: str, stored: str, key: str
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    made = await add(client, ws.auth, ada["id"], {"channel": channel, "address": given})
    assert made["channel"] == channel
    assert made["address"] == stored
    assert made["metadata"] == {key: stored}
    assert await identities(client, ws.auth, ada["id"]) == [made]
    assert (await found(client, ws.auth, channel, given))["id"] == ada["id"]
    assert (await found(client, ws.auth, channel, stored))["id"] == ada["id"]


@pytest.mark.parametrize(
    ("channel", "key", "given", "stored"),
    [
        ("whatsapp", "phoneNumber", PHONE, E164),
        ("sms", "phoneNumber", "+1 (415) 555-0123", "+14155550123"),
        ("email", "email", "ADA@example.com", "ada@example.com"),
        ("messenger", "userId", "1029384756", "1029384756"),
        ("instagram", "userId", "ig_ada", "ig_ada"),
        ("telegram", "userId", "77553311", "77553311"),
        ("webchat", "visitorId", "v-42", "v-42"),
    ],
)
async def test_the_address_may_come_from_the_metadata(
    client: httpx.AsyncClient, ws: Workspace, channel: str, key: str, given: str, stored: str
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    body = {"channel": channel, "metadata": {key: given, "name": "Ada L.", "extra": {"n": [1]}}}
    made = await add(client, ws.auth, ada["id"], body)
    assert made["address"] == stored
    assert made["metadata"] == {key: stored, "name": "Ada L.", "extra": {"n": [1]}}
    assert await identities(client, ws.auth, ada["id"]) == [made]


async def test_the_metadata_holds_the_normalised_address_under_its_key(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    # An address given beside a different one in the metadata: the address wins.
    made = await add(
        client,
        ws.auth,
        ada["id"],
        {
            "channel": "sms",
            "address": PHONE,
            "metadata": {"phoneNumber": "+1 415 555 0123", "carrier": "Orange", "ok": True},
        },
    )
    assert made["address"] == E164
    assert made["metadata"] == {"phoneNumber": E164, "carrier": "Orange", "ok": True}
    # Metadata without the key gets it.
    by_email = await add(
        client,
        ws.auth,
        ada["id"],
        {"channel": "email", "address": "Ada@X.io", "metadata": {"verified": False}},
    )
    assert by_email["metadata"] == {"verified": False, "email": "ada@x.io"}
    assert await identities(client, ws.auth, ada["id"]) == [made, by_email]


async def test_identities_are_listed_oldest_first(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    made = [
        await add(client, ws.auth, ada["id"], body)
        for body in (
            {"channel": "webchat", "address": "v-1"},
            {"channel": "email", "address": "ada@x.io"},
            {"channel": "whatsapp", "address": PHONE},
            {"channel": "sms", "address": PHONE},
            {"channel": "telegram", "address": "12"},
        )
    ]
    assert await identities(client, ws.auth, ada["id"]) == made


async def test_adding_the_same_identity_again_answers_the_existing_one(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    first = await add(
        client,
        ws.auth,
        ada["id"],
        {"channel": "whatsapp", "address": PHONE, "metadata": {"name": "Ada"}},
    )
    for body in (
        {"channel": "whatsapp", "address": PHONE},
        {"channel": "whatsapp", "address": "+48-123-456-789", "metadata": {"name": "Other"}},
        {"channel": "whatsapp", "metadata": {"phoneNumber": E164}},
    ):
        assert await add(client, ws.auth, ada["id"], body) == first
    assert await identities(client, ws.auth, ada["id"]) == [first]
    [event] = await feed(client, ws, "record.identity_added")
    assert event["record_id"] == ada["id"]
    assert event["object"] == "contact"
    assert event["data"] == {
        "record": ada["id"],
        "object": "contact",
        "identity": first["id"],
        "channel": "whatsapp",
        "address": E164,
    }
    assert event["actor_id"] == (await me(client, ws.auth))["id"]


async def test_one_address_on_several_channels_is_several_identities(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    on_whatsapp = await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": PHONE})
    on_sms = await add(client, ws.auth, bob["id"], {"channel": "sms", "address": PHONE})
    assert on_whatsapp["id"] != on_sms["id"]
    assert (await found(client, ws.auth, "whatsapp", PHONE))["id"] == ada["id"]
    assert (await found(client, ws.auth, "sms", PHONE))["id"] == bob["id"]


async def test_an_address_another_record_holds_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")
    held = await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": PHONE})
    for record_id, obj, body in (
        (bob["id"], "contact", {"channel": "whatsapp", "address": PHONE}),
        (bob["id"], "contact", {"channel": "whatsapp", "metadata": {"phoneNumber": E164}}),
        # One address per channel in the whole workspace, whatever the object.
        (deal["id"], "deal", {"channel": "whatsapp", "address": "+48123-456-789"}),
    ):
        answer = await client.post(ids_url(record_id, obj), json=body, headers=ws.auth)
        error = assert_error(answer, 409, "conflict")
        assert [(d["field"], d["code"]) for d in error["details"]] == [("address", "duplicate")]
    assert await identities(client, ws.auth, ada["id"]) == [held]
    assert await identities(client, ws.auth, bob["id"]) == []
    assert await identities(client, ws.auth, deal["id"], "deal") == []
    assert (await found(client, ws.auth, "whatsapp", PHONE))["id"] == ada["id"]
    assert len(await feed(client, ws, "record.identity_added")) == 1


async def test_a_deleted_record_lets_go_of_its_addresses(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    await add(client, ws.auth, ada["id"], {"channel": "email", "address": "same@x.io"})
    assert (await client.delete(f"{CONTACTS}/{ada['id']}", headers=ws.auth)).status_code == 204
    # A deleted record is not found by its address.
    assert_error(await find(client, ws.auth, "email", "same@x.io"), 404, "not_found")

    taken = await add(client, ws.auth, bob["id"], {"channel": "email", "address": "SAME@x.io"})
    assert taken["address"] == "same@x.io"
    assert await identities(client, ws.auth, bob["id"]) == [taken]
    assert await found(client, ws.auth, "email", "same@x.io") == await current(
        client, ws.auth, bob["id"]
    )
    # Restoring the deleted record does not take it back.
    assert (
        await client.post(f"{CONTACTS}/{ada['id']}/restore", headers=ws.auth)
    ).status_code == 200
    assert (await found(client, ws.auth, "email", "same@x.io"))["id"] == bob["id"]
    assert await identities(client, ws.auth, ada["id"]) == []


async def test_an_archived_record_keeps_its_addresses(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    await add(client, ws.auth, ada["id"], {"channel": "telegram", "address": "777"})
    archived = await client.post(f"{CONTACTS}/{ada['id']}/archive", headers=ws.auth)
    assert archived.status_code == 200, archived.text
    answer = await client.post(
        ids_url(bob["id"]), json={"channel": "telegram", "address": "777"}, headers=ws.auth
    )
    assert_error(answer, 409, "conflict")
    assert await found(client, ws.auth, "telegram", "777") == archived.json()


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"channel": "whatsapp", "address": "12345"}, ["address"]),
        ({"channel": "whatsapp", "address": "not a phone"}, ["address"]),
        ({"channel": "sms", "address": "+48 12"}, ["address"]),
        ({"channel": "sms", "address": "123 456 789"}, ["address"]),
        ({"channel": "sms", "metadata": {"phoneNumber": "nope"}}, ["address"]),
        ({"channel": "whatsapp"}, ["address"]),
        ({"channel": "whatsapp", "metadata": {"email": "ada@x.io"}}, ["address"]),
        ({"channel": "email", "address": "ada-at-x.io"}, ["address"]),
        ({"channel": "email", "metadata": {"userId": "ada@x.io"}}, ["address"]),
        ({"channel": "messenger", "address": ""}, ["address"]),
        ({"channel": "instagram", "address": "   "}, ["address"]),
        ({"channel": "telegram", "address": "9" * 321}, ["address"]),
        ({"channel": "webchat", "metadata": {"visitorId": ["v-1"]}}, ["address"]),
        ({"channel": "sms", "address": 48123456789}, ["address"]),
        ({"channel": "fax", "address": PHONE}, ["channel"]),
        ({"channel": "WhatsApp", "address": PHONE}, ["channel"]),
        ({"channel": None, "address": PHONE}, ["channel"]),
        ({"address": PHONE}, ["channel"]),
        ({"channel": "whatsapp", "address": PHONE, "metadata": "phone"}, ["metadata"]),
        ({"channel": "whatsapp", "address": PHONE, "metadata": [E164]}, ["metadata"]),
        ({"channel": "whatsapp", "address": PHONE, "metadata": None}, ["metadata"]),
        ({"channel": "whatsapp", "address": PHONE, "primary": True}, ["primary"]),
    ],
)
async def test_a_bad_identity_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    answer = await client.post(ids_url(ada["id"]), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await identities(client, ws.auth, ada["id"]) == []
    assert await feed(client, ws, "record.identity_added") == []


async def test_a_telegram_address_of_320_characters_is_accepted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    made = await add(client, ws.auth, ada["id"], {"channel": "telegram", "address": "9" * 320})
    assert made["address"] == "9" * 320
    assert await identities(client, ws.auth, ada["id"]) == [made]


@pytest.mark.parametrize(
    "body", [b'{"channel": "sms", "address": +48}', b'{"channel": "sms"', b"", b"channel=sms"]
)
async def test_a_malformed_identity_body_is_400(
    client: httpx.AsyncClient, ws: Workspace, body: bytes
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    answer = await client.post(
        ids_url(ada["id"]), content=body, headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 400, "malformed_request")
    assert await identities(client, ws.auth, ada["id"]) == []


async def test_an_unknown_or_deleted_record_is_404(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    gone = await create(client, ws.auth, {"first_name": "Gone"})
    made = await add(client, ws.auth, gone["id"], {"channel": "sms", "address": PHONE})
    assert (await client.delete(f"{CONTACTS}/{gone['id']}", headers=ws.auth)).status_code == 204
    body = {"channel": "email", "address": "x@x.io"}
    for url in (
        ids_url(str(uuid.uuid4())),
        ids_url("not-a-record"),
        ids_url(gone["id"]),
        f"{API}/objects/spaceship/records/{uuid.uuid4()}/identities",
    ):
        assert_error(await client.get(url, headers=ws.auth), 404, "not_found")
        assert_error(await client.post(url, json=body, headers=ws.auth), 404, "not_found")
        assert_error(await client.delete(f"{url}/{made['id']}", headers=ws.auth), 404, "not_found")
    assert_error(await find(client, ws.auth, "email", "x@x.io"), 404, "not_found")


async def test_a_deals_identities_are_not_a_contacts(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")
    made = await add(client, ws.auth, deal["id"], {"channel": "email", "address": "b@x.io"}, "deal")
    assert await identities(client, ws.auth, deal["id"], "deal") == [made]
    assert_error(await client.get(ids_url(deal["id"]), headers=ws.auth), 404, "not_found")
    answer = await client.delete(f"{ids_url(deal['id'])}/{made['id']}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert await found(client, ws.auth, "email", "B@X.io") == await current(
        client, ws.auth, deal["id"], "deal"
    )
    [event] = await feed(client, ws, "record.identity_added")
    assert event["object"] == "deal"


async def test_concurrent_adds_of_one_identity_to_one_record_answer_it(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    # One key per request, each used once already, so that nothing else orders them.
    keys = [bearer(await ws.add_key()) for _ in range(6)]
    for key in keys:
        assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    for round_ in range(5):
        ada = await create(client, ws.auth, {"first_name": "Ada"})
        body = {"channel": "sms", "address": f"+4860123456{round_}"}
        answers = await asyncio.gather(
            *(client.post(ids_url(ada["id"]), json=body, headers=key) for key in keys)
        )
        assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        assert await identities(client, ws.auth, ada["id"]) == [answers[0].json()]


async def test_concurrent_adds_of_one_address_to_two_records_give_it_to_one(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    keys = [bearer(await ws.add_key()) for _ in range(4)]
    for key in keys:
        assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    people = [await create(client, ws.auth, {"first_name": f"P{i}"}) for i in range(4)]
    body = {"channel": "email", "address": "race@x.io"}
    answers = await asyncio.gather(
        *(
            client.post(ids_url(p["id"]), json=body, headers=key)
            for p, key in zip(people, keys, strict=True)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    [winner] = [p for p, a in zip(people, answers, strict=True) if a.status_code == 201]
    assert (await found(client, ws.auth, "email", "race@x.io"))["id"] == winner["id"]
    assert len(await feed(client, ws, "record.identity_added")) == 1


async def test_a_conflict_from_a_concurrent_add_names_the_address(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    keys = [bearer(await ws.add_key()) for _ in range(4)]
    for key in keys:
        assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    for round_ in range(5):
        people = [await create(client, ws.auth, {"first_name": f"P{i}"}) for i in range(4)]
        body = {"channel": "email", "address": f"race{round_}@x.io"}
        answers = await asyncio.gather(
            *(
                client.post(ids_url(p["id"]), json=body, headers=key)
                for p, key in zip(people, keys, strict=True)
            )
        )
        for answer in answers:
            if answer.status_code != 201:
                error = assert_error(answer, 409, "conflict")
                assert [(d["field"], d["code"]) for d in error["details"]] == [
                    ("address", "duplicate")
                ]


# --- removing -----------------------------------------------------------------------------


async def test_remove_an_identity(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    phone = await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": PHONE})
    email = await add(client, ws.auth, ada["id"], {"channel": "email", "address": "a@x.io"})
    answer = await client.delete(f"{ids_url(ada['id'])}/{phone['id']}", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    assert await identities(client, ws.auth, ada["id"]) == [email]
    assert_error(await find(client, ws.auth, "whatsapp", PHONE), 404, "not_found")
    [event] = await feed(client, ws, "record.identity_removed")
    assert event["record_id"] == ada["id"]
    assert event["object"] == "contact"
    assert event["data"] == {
        "record": ada["id"],
        "object": "contact",
        "identity": phone["id"],
        "channel": "whatsapp",
        "address": E164,
    }
    assert event["actor_id"] == (await me(client, ws.auth))["id"]
    # Gone: a second removal is 404, and the address is free for another record.
    answer = await client.delete(f"{ids_url(ada['id'])}/{phone['id']}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert len(await feed(client, ws, "record.identity_removed")) == 1
    await add(client, ws.auth, bob["id"], {"channel": "whatsapp", "address": PHONE})
    assert (await found(client, ws.auth, "whatsapp", PHONE))["id"] == bob["id"]


async def test_an_identity_id_in_upper_case_is_the_same_identity(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    made = await add(client, ws.auth, ada["id"], {"channel": "sms", "address": PHONE})
    answer = await client.delete(f"{ids_url(ada['id'])}/{made['id'].upper()}", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    assert await identities(client, ws.auth, ada["id"]) == []
    [event] = await feed(client, ws, "record.identity_removed")
    assert event["data"]["identity"] == made["id"]


async def test_removing_another_records_or_an_unknown_identity_is_404(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    adas = await add(client, ws.auth, ada["id"], {"channel": "sms", "address": PHONE})
    for ref in (adas["id"], str(uuid.uuid4()), "not-an-id", "1", E164):
        answer = await client.delete(f"{ids_url(bob['id'])}/{ref}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
    assert await identities(client, ws.auth, ada["id"]) == [adas]
    assert await feed(client, ws, "record.identity_removed") == []


# --- finding a record by an identity ------------------------------------------------------


async def test_find_a_record_by_an_address_in_any_format(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada", "email": "ada@x.io"})
    await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": E164})
    await add(client, ws.auth, ada["id"], {"channel": "email", "address": "ada@x.io"})
    shown = await current(client, ws.auth, ada["id"])
    for channel, address in (
        ("whatsapp", PHONE),
        ("whatsapp", E164),
        ("whatsapp", "+48 (123) 456-789"),
        ("email", "ADA@X.IO"),
        ("email", " ada@x.io "),
    ):
        assert await found(client, ws.auth, channel, address) == shown


async def test_the_raw_query_string_is_read_as_url_encoded(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": PHONE})
    answer = await client.get(
        f"{FIND}?channel=whatsapp&address=%2B48%20123%20456%20789", headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == ada["id"]


async def test_finding_an_address_nobody_has_is_404(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": PHONE})
    for channel, address in (
        ("sms", PHONE),  # the same number on another channel
        ("whatsapp", "+48 123 456 788"),
        ("email", "nobody@x.io"),
        ("webchat", "v-0"),
    ):
        assert_error(await find(client, ws.auth, channel, address), 404, "not_found")


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"channel": "fax", "address": PHONE}, ["channel"]),
        ({"channel": "whatsapp", "address": "12345"}, ["address"]),
        ({"channel": "email", "address": "not an email"}, ["address"]),
        ({"channel": "telegram", "address": "  "}, ["address"]),
        ({"address": PHONE}, ["channel"]),
        ({"channel": "whatsapp"}, ["address"]),
    ],
)
async def test_finding_with_a_bad_query_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, str], fields: list[str]
) -> None:
    answer = await client.get(FIND, params=params, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields


async def test_finding_an_address_with_a_nul_character_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await find(client, ws.auth, "webchat", "v\x001")
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["address"]


async def test_a_nul_character_in_an_identity_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    for body in (
        {"channel": "webchat", "address": "v\x001"},
        {"channel": "webchat", "address": "v1", "metadata": {"note": "a\x00b"}},
    ):
        answer = await client.post(ids_url(ada["id"]), json=body, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
    assert await identities(client, ws.auth, ada["id"]) == []


@pytest.mark.parametrize("ref", ["a%00b", "%FF%FE", "9" * 40, "-1", "\u0661"])
async def test_odd_identity_and_record_refs_are_404(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    held = await add(client, ws.auth, ada["id"], {"channel": "sms", "address": PHONE})
    answer = await client.delete(f"{ids_url(ada['id'])}/{ref}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert_error(await client.get(ids_url(ref), headers=ws.auth), 404, "not_found")
    answer = await client.post(
        ids_url(ref), json={"channel": "webchat", "address": "v"}, headers=ws.auth
    )
    assert_error(answer, 404, "not_found")
    answer = await client.delete(f"{ids_url(ref)}/{held['id']}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert await identities(client, ws.auth, ada["id"]) == [held]


async def test_an_agent_finds_only_records_they_may_see(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    theirs = await create(client, ws.auth, {"first_name": "Theirs"})
    mine = await create(client, agent, {"first_name": "Mine"})
    await add(client, ws.auth, theirs["id"], {"channel": "whatsapp", "address": PHONE})
    await add(client, agent, mine["id"], {"channel": "email", "address": "mine@x.io"})
    assert await found(client, agent, "email", "mine@x.io") == await current(
        client, agent, mine["id"]
    )
    assert_error(await find(client, agent, "whatsapp", PHONE), 404, "not_found")
    # Once shared with the agent, it is found.
    shared = await client.post(
        f"{CONTACTS}/{theirs['id']}/viewers", json={"users": ["agent@acme.io"]}, headers=ws.auth
    )
    assert shared.status_code == 200, shared.text
    assert await found(client, agent, "whatsapp", PHONE) == await current(
        client, ws.auth, theirs["id"]
    )


# --- who may ------------------------------------------------------------------------------


async def test_an_agent_gives_identities_to_their_own_records_only(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    mine = await create(client, agent, {"first_name": "Mine"})
    theirs = await create(client, ws.auth, {"first_name": "Theirs"})
    held = await add(client, ws.auth, theirs["id"], {"channel": "sms", "address": PHONE})
    made = await add(client, agent, mine["id"], {"channel": "email", "address": "m@x.io"})
    assert await identities(client, agent, mine["id"]) == [made]
    # A record the agent cannot see at all: 404.
    url = ids_url(theirs["id"])
    assert_error(await client.get(url, headers=agent), 404, "not_found")
    answer = await client.post(url, json={"channel": "email", "address": "t@x.io"}, headers=agent)
    assert_error(answer, 404, "not_found")
    assert_error(await client.delete(f"{url}/{held['id']}", headers=agent), 404, "not_found")
    assert await identities(client, ws.auth, theirs["id"]) == [held]


async def test_a_viewer_reads_but_cannot_change_identities(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    record = await create(client, ws.auth, {"first_name": "Shared"})
    held = await add(client, ws.auth, record["id"], {"channel": "sms", "address": PHONE})
    shared = await client.post(
        f"{CONTACTS}/{record['id']}/viewers", json={"users": ["agent@acme.io"]}, headers=ws.auth
    )
    assert shared.status_code == 200, shared.text
    url = ids_url(record["id"])
    assert await identities(client, agent, record["id"]) == [held]
    answer = await client.post(url, json={"channel": "email", "address": "s@x.io"}, headers=agent)
    assert_error(answer, 403, "permission_denied")
    assert_error(
        await client.delete(f"{url}/{held['id']}", headers=agent), 403, "permission_denied"
    )
    assert await identities(client, ws.auth, record["id"]) == [held]
    assert len(await feed(client, ws, "record.identity_added")) == 1
    assert await feed(client, ws, "record.identity_removed") == []


async def test_a_read_only_key_cannot_change_identities(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    held = await add(client, ws.auth, ada["id"], {"channel": "sms", "address": PHONE})
    url = ids_url(ada["id"])
    assert await identities(client, reader, ada["id"]) == [held]
    assert await found(client, reader, "sms", PHONE) == await current(client, ws.auth, ada["id"])
    answer = await client.post(url, json={"channel": "email", "address": "a@x.io"}, headers=reader)
    assert_error(answer, 403, "permission_denied")
    assert_error(
        await client.delete(f"{url}/{held['id']}", headers=reader), 403, "permission_denied"
    )
    assert await identities(client, ws.auth, ada["id"]) == [held]


async def test_identities_need_the_objects_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    contact_editor = bearer(await ws.add_key(scopes=["contact:read", "contact:update"]))
    deal_reader = bearer(await ws.add_key(scopes=["deal:read", "deal:update"]))
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    made = await add(client, contact_editor, ada["id"], {"channel": "sms", "address": PHONE})
    url = ids_url(ada["id"])
    assert await identities(client, contact_editor, ada["id"]) == [made]
    assert_error(await client.get(url, headers=deal_reader), 403, "permission_denied")
    answer = await client.post(
        url, json={"channel": "email", "address": "a@x.io"}, headers=deal_reader
    )
    assert_error(answer, 403, "permission_denied")
    assert_error(await find(client, deal_reader, "sms", PHONE), 403, "permission_denied")
    answer = await client.delete(f"{url}/{made['id']}", headers=contact_editor)
    assert answer.status_code == 204, answer.text


async def test_without_a_key_is_401(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    held = await add(client, ws.auth, ada["id"], {"channel": "sms", "address": PHONE})
    url = ids_url(ada["id"])
    assert_error(await client.get(url), 401, "unauthenticated")
    answer = await client.post(url, json={"channel": "email", "address": "a@x.io"})
    assert_error(answer, 401, "unauthenticated")
    assert_error(await client.delete(f"{url}/{held['id']}"), 401, "unauthenticated")
    answer = await client.get(FIND, params={"channel": "sms", "address": PHONE})
    assert_error(answer, 401, "unauthenticated")
    assert await identities(client, ws.auth, ada["id"]) == [held]


# --- tenancy ------------------------------------------------------------------------------


async def test_one_address_may_belong_to_a_record_in_each_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    zed = await create(client, other_ws.auth, {"first_name": "Zed"})
    mine = await add(client, ws.auth, ada["id"], {"channel": "whatsapp", "address": PHONE})
    theirs = await add(client, other_ws.auth, zed["id"], {"channel": "whatsapp", "address": E164})
    assert mine["id"] != theirs["id"]
    assert await found(client, ws.auth, "whatsapp", PHONE) == await current(
        client, ws.auth, ada["id"]
    )
    assert await found(client, other_ws.auth, "whatsapp", PHONE) == await current(
        client, other_ws.auth, zed["id"]
    )
    # Removing one leaves the other.
    answer = await client.delete(f"{ids_url(zed['id'])}/{theirs['id']}", headers=other_ws.auth)
    assert answer.status_code == 204
    assert_error(await find(client, other_ws.auth, "whatsapp", PHONE), 404, "not_found")
    assert (await found(client, ws.auth, "whatsapp", PHONE))["id"] == ada["id"]
    assert await identities(client, ws.auth, ada["id"]) == [mine]


async def test_another_workspaces_record_or_identity_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    zed = await create(client, other_ws.auth, {"first_name": "Zed"})
    mine = await add(client, ws.auth, ada["id"], {"channel": "sms", "address": PHONE})
    url = ids_url(ada["id"])
    assert_error(await client.get(url, headers=other_ws.auth), 404, "not_found")
    answer = await client.post(
        url, json={"channel": "email", "address": "z@x.io"}, headers=other_ws.auth
    )
    assert_error(answer, 404, "not_found")
    assert_error(
        await client.delete(f"{url}/{mine['id']}", headers=other_ws.auth), 404, "not_found"
    )
    # My identity's id on their own record is no identity of theirs.
    answer = await client.delete(f"{ids_url(zed['id'])}/{mine['id']}", headers=other_ws.auth)
    assert_error(answer, 404, "not_found")
    # They do not find my record by its address.
    assert_error(await find(client, other_ws.auth, "sms", PHONE), 404, "not_found")
    assert await identities(client, ws.auth, ada["id"]) == [mine]
    assert await identities(client, other_ws.auth, zed["id"]) == []


async def test_a_records_identities_are_paged(client: httpx.AsyncClient, ws: Workspace) -> None:
    record = await create(client, ws.auth, {"first_name": "Ada"})
    for n in range(3):
        await add(client, ws.auth, record["id"], {"channel": "telegram", "address": f"ada{n}"})
    everything = await identities(client, ws.auth, record["id"])
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(ids_url(record["id"]), params=params, headers=ws.auth)).json()
        pages.append(page["data"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert [[i["address"] for i in p] for p in pages] == [["ada0", "ada1"], ["ada2"]]
    assert [i for p in pages for i in p] == everything
    for bad in ({"cursor": record["id"]}, {"cursor": "x"}, {"limit": 0}):
        answer = await client.get(ids_url(record["id"]), params=bad, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
        assert [d["field"] for d in answer.json()["error"]["details"]] == list(bad)
