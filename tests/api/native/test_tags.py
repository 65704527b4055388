"""Tags: workspace labels that records of any object type carry, and tagging records."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
TAGS = f"{API}/tags"
CONTACTS = f"{API}/objects/contact/records"
#: A well-formed tag id that names nothing (fixed, so that every collection of the suite
#: names the same tests).
NO_TAG = "0190f6d2-5b1e-7c3a-9d4e-2f1a3b4c5d6e"

#: Whether this run is against PostgreSQL (see ``database_url`` in tests/conftest.py).
ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgres")


# --- helpers ------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], fields: dict[str, Any], obj: str = "contact"
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def make_tag(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    answer = await client.post(TAGS, json={"name": name}, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def all_tags(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await client.get(TAGS, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return list(answer.json()["data"])


def tags_url(record_id: str, obj: str = "contact") -> str:
    return f"{API}/objects/{obj}/records/{record_id}/tags"


async def tags_on(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str, obj: str = "contact"
) -> list[dict[str, Any]]:
    answer = await client.get(tags_url(record_id, obj), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return list(answer.json()["data"])


async def put_tag(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    record_id: str,
    tag_id: str,
    obj: str = "contact",
) -> None:
    answer = await client.put(f"{tags_url(record_id, obj)}/{tag_id}", headers=headers)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""


async def take_tag(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    record_id: str,
    tag_id: str,
    obj: str = "contact",
) -> None:
    answer = await client.delete(f"{tags_url(record_id, obj)}/{tag_id}", headers=headers)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get(f"{API}/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["user"])


async def feed(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/events?after=0&limit=1000", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["data"] if e["type"] == kind]


def on_record(tag: dict[str, Any]) -> dict[str, Any]:
    """A tag as a record's tag list shows it: without ``labeled_count``."""
    return {k: v for k, v in tag.items() if k != "labeled_count"}


def counts(listed: list[dict[str, Any]]) -> dict[str, int]:
    return {t["name"]: t["labeled_count"] for t in listed}


@pytest.fixture
async def agent(ws: Workspace) -> dict[str, str]:
    """The key of an agent (may see, change and delete only their own records)."""
    return bearer(await ws.add_key(role="agent", email="agent@acme.io"))


# --- the workspace's tags -----------------------------------------------------------------


async def test_create_and_list_a_tag(client: httpx.AsyncClient, ws: Workspace) -> None:
    assert await all_tags(client, ws.auth) == []
    answer = await client.post(TAGS, json={"name": "VIP"}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    tag = answer.json()
    assert set(tag) == {"id", "name", "labeled_count", "created_by", "created_at"}
    assert uuid.UUID(tag["id"]).version == 7
    assert tag["name"] == "VIP"
    assert tag["labeled_count"] == 0
    assert tag["created_by"] == (await me(client, ws.auth))["id"]
    assert tag["created_at"].endswith("Z")
    assert await all_tags(client, ws.auth) == [tag]


async def test_created_by_is_the_caller(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    tag = await make_tag(client, agent, "Agent's")
    assert tag["created_by"] == (await me(client, agent))["id"]
    assert await all_tags(client, ws.auth) == [tag]


async def test_tags_are_listed_by_name_in_any_case(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for name in ("charlie", "Delta", "alpha", "Bravo", "ALPHA 2"):
        await make_tag(client, ws.auth, name)
    listed = await all_tags(client, ws.auth)
    assert [t["name"] for t in listed] == ["alpha", "ALPHA 2", "Bravo", "charlie", "Delta"]


async def pages(client: httpx.AsyncClient, ws: Workspace, url: str, limit: int) -> list[list[str]]:
    """The names on each page of a tag list, following ``next_cursor`` to the end."""
    seen: list[list[str]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        page = (await client.get(url, params=params, headers=ws.auth)).json()
        assert set(page) == {"data", "next_cursor"}
        seen.append([t["name"] for t in page["data"]])
        if page["next_cursor"] is None:
            return seen
        params["cursor"] = page["next_cursor"]


async def test_tags_are_paged_by_name(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = [await make_tag(client, ws.auth, n) for n in ("charlie", "Delta", "alpha", "Bravo")]
    assert await pages(client, ws, TAGS, 2) == [["alpha", "Bravo"], ["charlie", "Delta"]]
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    for tag in made[:3]:
        await put_tag(client, ws.auth, ada["id"], tag["id"])
    on_ada = await pages(client, ws, tags_url(ada["id"]), 2)
    assert on_ada == [["alpha", "charlie"], ["Delta"]]


@pytest.mark.parametrize(
    "params", [{"cursor": "%%%"}, {"cursor": ""}, {"cursor": "AA"}, {"limit": 0}, {"limit": 1001}]
)
async def test_a_bad_tag_page_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any]
) -> None:
    answer = await client.get(TAGS, params=params, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == list(params)


async def test_whitespace_in_a_name_is_collapsed(client: httpx.AsyncClient, ws: Workspace) -> None:
    tag = await make_tag(client, ws.auth, "  Hot \t  lead\n ")
    assert tag["name"] == "Hot lead"
    assert [t["name"] for t in await all_tags(client, ws.auth)] == ["Hot lead"]
    # The collapsed name is the one that is taken.
    answer = await client.post(TAGS, json={"name": "hot    LEAD"}, headers=ws.auth)
    assert_error(answer, 409, "conflict")


@pytest.mark.parametrize("again", ["VIP", "vip", "Vip", " VIP ", "vIp"])
async def test_a_name_taken_in_any_case_is_409(
    client: httpx.AsyncClient, ws: Workspace, again: str
) -> None:
    first = await make_tag(client, ws.auth, "VIP")
    answer = await client.post(TAGS, json={"name": again}, headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert await all_tags(client, ws.auth) == [first]
    assert [e["data"]["name"] for e in await feed(client, ws, "tag.created")] == ["VIP"]


async def test_a_name_taken_in_another_alphabets_case_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    first = await make_tag(client, ws.auth, "Élan Ωmega")
    answer = await client.post(TAGS, json={"name": "éLAN ωMEGA"}, headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert await all_tags(client, ws.auth) == [first]


async def test_a_name_of_100_characters_is_accepted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    tag = await make_tag(client, ws.auth, "x" * 100)
    assert tag["name"] == "x" * 100
    assert await all_tags(client, ws.auth) == [tag]


async def test_a_name_of_100_characters_that_case_folds_longer_is_accepted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(TAGS, json={"name": "ß" * 100}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "ß" * 100
    assert [t["name"] for t in await all_tags(client, ws.auth)] == ["ß" * 100]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["name"]),
        ({"name": ""}, ["name"]),
        ({"name": "   \t "}, ["name"]),
        ({"name": "x" * 101}, ["name"]),
        ({"name": " " + "x" * 101 + " "}, ["name"]),
        ({"name": 5}, ["name"]),
        ({"name": None}, ["name"]),
        ({"name": ["VIP"]}, ["name"]),
        ({"name": {"en": "VIP"}}, ["name"]),
        ({"name": True}, ["name"]),
        ({"name": "VIP", "color": "red"}, ["color"]),
    ],
)
async def test_a_bad_tag_body_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    answer = await client.post(TAGS, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await all_tags(client, ws.auth) == []
    assert await feed(client, ws, "tag.created") == []


@pytest.mark.parametrize("body", [b'{"name": VIP}', b'{"name": "VIP"', b"", b"name=VIP"])
async def test_a_malformed_tag_body_is_400(
    client: httpx.AsyncClient, ws: Workspace, body: bytes
) -> None:
    answer = await client.post(
        TAGS, content=body, headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 400, "malformed_request")
    assert await all_tags(client, ws.auth) == []


async def test_a_tag_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for body in (["VIP"], "VIP", 5):
        answer = await client.post(TAGS, json=body, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
    assert await all_tags(client, ws.auth) == []


async def test_a_nul_character_in_a_name_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(TAGS, json={"name": "V\x00IP"}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["name"]
    assert await all_tags(client, ws.auth) == []


@pytest.mark.parametrize("ref", ["a%00b", "%FF%FE", "9" * 40, "-1", "\u0661"])
async def test_odd_tag_and_record_refs_are_404(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    assert_error(await client.delete(f"{TAGS}/{ref}", headers=ws.auth), 404, "not_found")
    for method in ("PUT", "DELETE"):
        answer = await client.request(method, f"{tags_url(ada['id'])}/{ref}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
        answer = await client.request(method, f"{tags_url(ref)}/{vip['id']}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
    assert_error(await client.get(tags_url(ref), headers=ws.auth), 404, "not_found")
    assert await all_tags(client, ws.auth) == [vip]


async def test_tag_created_event(client: httpx.AsyncClient, ws: Workspace) -> None:
    tag = await make_tag(client, ws.auth, " Hot  lead ")
    [event] = await feed(client, ws, "tag.created")
    assert event["data"] == {"tag": tag["id"], "name": "Hot lead"}
    assert event["record_id"] is None
    assert event["object"] is None
    assert event["actor_id"] == (await me(client, ws.auth))["id"]


async def test_delete_a_tag(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    keep = await make_tag(client, ws.auth, "Keep")
    answer = await client.delete(f"{TAGS}/{vip['id']}", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    assert await all_tags(client, ws.auth) == [keep]
    [event] = await feed(client, ws, "tag.deleted")
    assert event["data"] == {"tag": vip["id"], "name": "VIP"}
    assert event["record_id"] is None
    assert event["actor_id"] == (await me(client, ws.auth))["id"]
    # Gone: a second delete is 404, and the name is free again.
    assert_error(await client.delete(f"{TAGS}/{vip['id']}", headers=ws.auth), 404, "not_found")
    again = await make_tag(client, ws.auth, "vip")
    assert again["id"] != vip["id"]
    assert len(await feed(client, ws, "tag.deleted")) == 1


async def test_deleting_a_tag_takes_it_off_every_record(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    keep = await make_tag(client, ws.auth, "Keep")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")
    for tag in (vip, keep):
        await put_tag(client, ws.auth, ada["id"], tag["id"])
        await put_tag(client, ws.auth, deal["id"], tag["id"], obj="deal")
    assert (await client.delete(f"{TAGS}/{vip['id']}", headers=ws.auth)).status_code == 204
    assert await tags_on(client, ws.auth, ada["id"]) == [on_record(keep)]
    assert await tags_on(client, ws.auth, deal["id"], "deal") == [on_record(keep)]
    assert counts(await all_tags(client, ws.auth)) == {"Keep": 2}
    # The deleted tag cannot be put back on, or taken off, by its old id.
    for method in ("PUT", "DELETE"):
        answer = await client.request(method, f"{tags_url(ada['id'])}/{vip['id']}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
    # A new tag of the same name starts with no records.
    assert (await make_tag(client, ws.auth, "VIP"))["labeled_count"] == 0


@pytest.mark.parametrize("ref", [NO_TAG, "not-a-tag", "1", "VIP"])
async def test_deleting_an_unknown_tag_is_404(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    assert_error(await client.delete(f"{TAGS}/{ref}", headers=ws.auth), 404, "not_found")
    assert await all_tags(client, ws.auth) == [vip]


async def test_a_tag_id_in_upper_case_is_the_same_tag(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await put_tag(client, ws.auth, ada["id"], vip["id"].upper())
    assert await tags_on(client, ws.auth, ada["id"]) == [on_record(vip)]
    assert (await client.delete(f"{TAGS}/{vip['id'].upper()}", headers=ws.auth)).status_code == 204
    assert await all_tags(client, ws.auth) == []


# --- labeled_count ------------------------------------------------------------------------


async def test_labeled_count_counts_live_records_of_any_object(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    cold = await make_tag(client, ws.auth, "cold")
    await make_tag(client, ws.auth, "unused")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    bob = await create(client, ws.auth, {"first_name": "Bob"})
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")
    company = await create(client, ws.auth, {"name": "Initech"}, obj="company")
    for record, obj in ((ada, "contact"), (bob, "contact"), (deal, "deal"), (company, "company")):
        await put_tag(client, ws.auth, record["id"], vip["id"], obj)
    await put_tag(client, ws.auth, bob["id"], cold["id"])
    assert counts(await all_tags(client, ws.auth)) == {"cold": 1, "unused": 0, "VIP": 4}

    # A deleted record stops counting, and counts again once restored.
    assert (await client.delete(f"{CONTACTS}/{bob['id']}", headers=ws.auth)).status_code == 204
    assert counts(await all_tags(client, ws.auth)) == {"cold": 0, "unused": 0, "VIP": 3}
    assert (
        await client.post(f"{CONTACTS}/{bob['id']}/restore", headers=ws.auth)
    ).status_code == 200
    assert counts(await all_tags(client, ws.auth)) == {"cold": 1, "unused": 0, "VIP": 4}
    assert await tags_on(client, ws.auth, bob["id"]) == [on_record(cold), on_record(vip)]

    # An archived record is live: it still counts.
    archived = await client.post(f"{CONTACTS}/{ada['id']}/archive", headers=ws.auth)
    assert archived.status_code == 200, archived.text
    assert counts(await all_tags(client, ws.auth)) == {"cold": 1, "unused": 0, "VIP": 4}

    await take_tag(client, ws.auth, deal["id"], vip["id"], "deal")
    assert counts(await all_tags(client, ws.auth)) == {"cold": 1, "unused": 0, "VIP": 3}


async def test_labeled_count_ignores_other_workspaces(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    mine = await make_tag(client, ws.auth, "VIP")
    theirs = await make_tag(client, other_ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    zed = await create(client, other_ws.auth, {"first_name": "Zed"})
    yan = await create(client, other_ws.auth, {"first_name": "Yan"})
    await put_tag(client, ws.auth, ada["id"], mine["id"])
    await put_tag(client, other_ws.auth, zed["id"], theirs["id"])
    await put_tag(client, other_ws.auth, yan["id"], theirs["id"])
    assert await all_tags(client, ws.auth) == [{**mine, "labeled_count": 1}]
    assert await all_tags(client, other_ws.auth) == [{**theirs, "labeled_count": 2}]


# --- tagging records ----------------------------------------------------------------------


async def test_tag_and_untag_a_record(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    assert await tags_on(client, ws.auth, ada["id"]) == []
    await put_tag(client, ws.auth, ada["id"], vip["id"])
    listed = await tags_on(client, ws.auth, ada["id"])
    assert listed == [on_record(vip)]
    assert set(listed[0]) == {"id", "name", "created_by", "created_at"}
    await take_tag(client, ws.auth, ada["id"], vip["id"])
    assert await tags_on(client, ws.auth, ada["id"]) == []
    # The tag itself stays.
    assert await all_tags(client, ws.auth) == [vip]


async def test_a_records_tags_are_listed_by_name_in_any_case(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = [await make_tag(client, ws.auth, n) for n in ("charlie", "Bravo", "alpha", "Delta")]
    await make_tag(client, ws.auth, "not on it")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    for tag in made:
        await put_tag(client, ws.auth, ada["id"], tag["id"])
    listed = await tags_on(client, ws.auth, ada["id"])
    assert [t["name"] for t in listed] == ["alpha", "Bravo", "charlie", "Delta"]


async def test_tagging_is_idempotent_and_logged_once(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    for _ in range(3):
        await put_tag(client, ws.auth, ada["id"], vip["id"])
    assert await tags_on(client, ws.auth, ada["id"]) == [on_record(vip)]
    assert counts(await all_tags(client, ws.auth)) == {"VIP": 1}
    [event] = await feed(client, ws, "record.tagged")
    assert event["record_id"] == ada["id"]
    assert event["object"] == "contact"
    assert event["data"] == {
        "record": ada["id"],
        "object": "contact",
        "tag": vip["id"],
        "name": "VIP",
    }
    assert event["actor_id"] == (await me(client, ws.auth))["id"]


async def test_untagging_is_idempotent_and_logged_only_when_it_changes(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await take_tag(client, ws.auth, ada["id"], vip["id"])  # never tagged
    assert await feed(client, ws, "record.untagged") == []
    await put_tag(client, ws.auth, ada["id"], vip["id"])
    await take_tag(client, ws.auth, ada["id"], vip["id"])
    await take_tag(client, ws.auth, ada["id"], vip["id"])
    [event] = await feed(client, ws, "record.untagged")
    assert event["record_id"] == ada["id"]
    assert event["data"] == {
        "record": ada["id"],
        "object": "contact",
        "tag": vip["id"],
        "name": "VIP",
    }
    assert len(await feed(client, ws, "record.tagged")) == 1


async def test_tagging_shows_in_the_records_timeline(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await put_tag(client, ws.auth, ada["id"], vip["id"])
    await take_tag(client, ws.auth, ada["id"], vip["id"])
    answer = await client.get(f"{CONTACTS}/{ada['id']}/timeline", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    kinds = [e["type"] for e in answer.json()["data"]]
    assert kinds == ["record.untagged", "record.tagged", "record.created"]


async def test_any_object_can_be_tagged(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")
    await put_tag(client, ws.auth, deal["id"], vip["id"], obj="deal")
    assert await tags_on(client, ws.auth, deal["id"], "deal") == [on_record(vip)]
    [event] = await feed(client, ws, "record.tagged")
    assert event["object"] == "deal"
    # The deal is not a contact.
    assert_error(await client.get(tags_url(deal["id"]), headers=ws.auth), 404, "not_found")
    answer = await client.put(f"{tags_url(deal['id'])}/{vip['id']}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    answer = await client.delete(f"{tags_url(deal['id'])}/{vip['id']}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert await tags_on(client, ws.auth, deal["id"], "deal") == [on_record(vip)]


@pytest.mark.parametrize("ref", [NO_TAG, "not-a-tag", "VIP"])
async def test_an_unknown_tag_is_404(client: httpx.AsyncClient, ws: Workspace, ref: str) -> None:
    await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    for method in ("PUT", "DELETE"):
        answer = await client.request(method, f"{tags_url(ada['id'])}/{ref}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
    assert await tags_on(client, ws.auth, ada["id"]) == []
    assert await feed(client, ws, "record.tagged") == []


async def test_an_unknown_or_deleted_record_is_404(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    gone = await create(client, ws.auth, {"first_name": "Gone"})
    assert (await client.delete(f"{CONTACTS}/{gone['id']}", headers=ws.auth)).status_code == 204
    for url in (
        tags_url(str(uuid.uuid4())),
        tags_url("not-a-record"),
        tags_url(gone["id"]),
        f"{API}/objects/spaceship/records/{uuid.uuid4()}/tags",
    ):
        assert_error(await client.get(url, headers=ws.auth), 404, "not_found")
        assert_error(await client.put(f"{url}/{vip['id']}", headers=ws.auth), 404, "not_found")
        assert_error(await client.delete(f"{url}/{vip['id']}", headers=ws.auth), 404, "not_found")
    assert await feed(client, ws, "record.tagged") == []


async def test_concurrent_tagging_of_one_record_is_idempotent(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    # One key per request, each used once already, so that nothing else orders them.
    keys = [bearer(await ws.add_key()) for _ in range(6)]
    for key in keys:
        assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    for round_ in range(5):
        vip = await make_tag(client, ws.auth, f"VIP {round_}")
        ada = await create(client, ws.auth, {"first_name": "Ada"})
        url = f"{tags_url(ada['id'])}/{vip['id']}"
        answers = await asyncio.gather(*(client.put(url, headers=key) for key in keys))
        assert [a.status_code for a in answers] == [204] * 6, [a.text for a in answers]
        assert await tags_on(client, ws.auth, ada["id"]) == [on_record(vip)]
    assert len(await feed(client, ws, "record.tagged")) == 5


async def test_concurrent_creation_of_one_name_makes_one_tag(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    keys = [bearer(await ws.add_key()) for _ in range(3)]
    for key in keys:
        assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    names = ("VIP", "vip", "Vip")
    answers = await asyncio.gather(
        *(client.post(TAGS, json={"name": n}, headers=k) for n, k in zip(names, keys, strict=True))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert_error(answer, 409, "conflict")
    [made] = [a.json() for a in answers if a.status_code == 201]
    assert await all_tags(client, ws.auth) == [made]
    assert len(await feed(client, ws, "tag.created")) == 1


# --- who may ------------------------------------------------------------------------------


async def test_an_agent_tags_their_own_records_only(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    mine = await create(client, agent, {"first_name": "Mine"})
    theirs = await create(client, ws.auth, {"first_name": "Theirs"})
    await put_tag(client, agent, mine["id"], vip["id"])
    assert await tags_on(client, agent, mine["id"]) == [on_record(vip)]
    # A record the agent cannot see at all: 404.
    assert_error(await client.get(tags_url(theirs["id"]), headers=agent), 404, "not_found")
    for method in ("PUT", "DELETE"):
        answer = await client.request(
            method, f"{tags_url(theirs['id'])}/{vip['id']}", headers=agent
        )
        assert_error(answer, 404, "not_found")
    assert await tags_on(client, ws.auth, theirs["id"]) == []


async def test_a_viewer_reads_but_cannot_change_a_records_tags(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    cold = await make_tag(client, ws.auth, "Cold")
    record = await create(client, ws.auth, {"first_name": "Shared"})
    await put_tag(client, ws.auth, record["id"], vip["id"])
    shared = await client.post(
        f"{CONTACTS}/{record['id']}/viewers", json={"users": ["agent@acme.io"]}, headers=ws.auth
    )
    assert shared.status_code == 200, shared.text
    assert await tags_on(client, agent, record["id"]) == [on_record(vip)]
    for method, tag in (("PUT", cold), ("DELETE", vip)):
        answer = await client.request(
            method, f"{tags_url(record['id'])}/{tag['id']}", headers=agent
        )
        assert_error(answer, 403, "permission_denied")
    assert await tags_on(client, ws.auth, record["id"]) == [on_record(vip)]
    assert len(await feed(client, ws, "record.tagged")) == 1
    assert await feed(client, ws, "record.untagged") == []


async def test_a_read_only_key_cannot_write_tags(client: httpx.AsyncClient, ws: Workspace) -> None:
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await put_tag(client, ws.auth, ada["id"], vip["id"])
    assert await all_tags(client, reader) == [{**vip, "labeled_count": 1}]
    assert await tags_on(client, reader, ada["id"]) == [on_record(vip)]

    assert_error(
        await client.post(TAGS, json={"name": "New"}, headers=reader), 403, "permission_denied"
    )
    assert_error(
        await client.delete(f"{TAGS}/{vip['id']}", headers=reader), 403, "permission_denied"
    )
    for method in ("PUT", "DELETE"):
        answer = await client.request(method, f"{tags_url(ada['id'])}/{vip['id']}", headers=reader)
        assert_error(answer, 403, "permission_denied")
    assert await all_tags(client, ws.auth) == [{**vip, "labeled_count": 1}]
    assert len(await feed(client, ws, "tag.created")) == 1


async def test_the_tag_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    lister = bearer(await ws.add_key(scopes=["tag:list"]))
    creator = bearer(await ws.add_key(scopes=["tag:create"]))
    deleter = bearer(await ws.add_key(scopes=["tag:delete"]))
    writer = bearer(await ws.add_key(scopes=["write:crm"]))

    made = await make_tag(client, creator, "By creator")
    assert_error(await client.get(TAGS, headers=creator), 403, "permission_denied")
    assert_error(
        await client.post(TAGS, json={"name": "x"}, headers=lister), 403, "permission_denied"
    )
    assert_error(
        await client.post(TAGS, json={"name": "x"}, headers=deleter), 403, "permission_denied"
    )
    assert await all_tags(client, lister) == [made]
    assert_error(
        await client.delete(f"{TAGS}/{made['id']}", headers=lister), 403, "permission_denied"
    )
    assert_error(
        await client.delete(f"{TAGS}/{made['id']}", headers=creator), 403, "permission_denied"
    )
    assert (await client.delete(f"{TAGS}/{made['id']}", headers=deleter)).status_code == 204

    by_writer = await make_tag(client, writer, "By writer")
    assert await all_tags(client, writer) == [by_writer]
    assert (await client.delete(f"{TAGS}/{by_writer['id']}", headers=writer)).status_code == 204
    assert await all_tags(client, ws.auth) == []


async def test_tagging_needs_the_objects_update_scope(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    contact_editor = bearer(await ws.add_key(scopes=["contact:read", "contact:update"]))
    deal_editor = bearer(await ws.add_key(scopes=["contact:read", "deal:read", "deal:update"]))
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    deal = await create(client, ws.auth, {"name": "Big"}, obj="deal")

    await put_tag(client, contact_editor, ada["id"], vip["id"])
    await put_tag(client, deal_editor, deal["id"], vip["id"], obj="deal")
    for method in ("PUT", "DELETE"):
        answer = await client.request(
            method, f"{tags_url(ada['id'])}/{vip['id']}", headers=deal_editor
        )
        assert_error(answer, 403, "permission_denied")
    await take_tag(client, contact_editor, ada["id"], vip["id"])
    assert await tags_on(client, ws.auth, ada["id"]) == []
    assert await tags_on(client, ws.auth, deal["id"], "deal") == [on_record(vip)]


async def test_without_a_key_is_401(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await make_tag(client, ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    assert_error(await client.get(TAGS), 401, "unauthenticated")
    assert_error(await client.post(TAGS, json={"name": "x"}), 401, "unauthenticated")
    assert_error(await client.delete(f"{TAGS}/{vip['id']}"), 401, "unauthenticated")
    assert_error(await client.get(tags_url(ada["id"])), 401, "unauthenticated")
    assert_error(await client.put(f"{tags_url(ada['id'])}/{vip['id']}"), 401, "unauthenticated")
    assert await all_tags(client, ws.auth) == [vip]


# --- tenancy ------------------------------------------------------------------------------


async def test_tag_names_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    mine = await make_tag(client, ws.auth, "VIP")
    theirs = await make_tag(client, other_ws.auth, "vip")
    assert mine["id"] != theirs["id"]
    assert await all_tags(client, ws.auth) == [mine]
    assert await all_tags(client, other_ws.auth) == [theirs]
    assert_error(
        await client.post(TAGS, json={"name": "Vip"}, headers=other_ws.auth), 409, "conflict"
    )


async def test_another_workspaces_tag_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    mine = await make_tag(client, ws.auth, "VIP")
    theirs = await make_tag(client, other_ws.auth, "Theirs")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await put_tag(client, ws.auth, ada["id"], mine["id"])
    # Their key cannot delete my tag, nor my key theirs.
    assert_error(
        await client.delete(f"{TAGS}/{mine['id']}", headers=other_ws.auth), 404, "not_found"
    )
    assert_error(await client.delete(f"{TAGS}/{theirs['id']}", headers=ws.auth), 404, "not_found")
    # Their tag cannot go on my record.
    for method in ("PUT", "DELETE"):
        answer = await client.request(
            method, f"{tags_url(ada['id'])}/{theirs['id']}", headers=ws.auth
        )
        assert_error(answer, 404, "not_found")
    assert await tags_on(client, ws.auth, ada["id"]) == [on_record(mine)]
    assert await all_tags(client, ws.auth) == [{**mine, "labeled_count": 1}]
    assert await all_tags(client, other_ws.auth) == [theirs]


async def test_another_workspaces_record_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    mine = await make_tag(client, ws.auth, "VIP")
    theirs = await make_tag(client, other_ws.auth, "VIP")
    ada = await create(client, ws.auth, {"first_name": "Ada"})
    await put_tag(client, ws.auth, ada["id"], mine["id"])
    url = tags_url(ada["id"])
    assert_error(await client.get(url, headers=other_ws.auth), 404, "not_found")
    for method in ("PUT", "DELETE"):
        for tag in (mine, theirs):
            answer = await client.request(method, f"{url}/{tag['id']}", headers=other_ws.auth)
            assert_error(answer, 404, "not_found")
    assert await tags_on(client, ws.auth, ada["id"]) == [on_record(mine)]
    assert await all_tags(client, other_ws.auth) == [theirs]
