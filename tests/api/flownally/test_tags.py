"""Tags: list, create, delete, and how they count the contacts that carry them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flownally.conftest import (
    FN,
    NOBODY,
    create_contact,
    create_tag,
    fl_error,
    get_contact,
    my_user_id,
    ok,
    tag,
    validation,
)
from tests.conftest import Workspace


async def tags_of(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = ok(await client.get(f"{FN}/tags", headers=headers))
    assert set(answer) == {"tags"}
    return list(answer["tags"])


async def test_past_a_page_the_next_is_named(client: httpx.AsyncClient, ws: Workspace) -> None:
    for name in ("b", "a", "c"):
        await create_tag(client, ws.auth, name)
    first = ok(await client.get(f"{FN}/tags", params={"pageSize": 2}, headers=ws.auth))
    assert [t["name"] for t in first["tags"]] == ["a", "b"]
    token = {"pageSize": 2, "pageToken": first["nextPageToken"]}
    last = ok(await client.get(f"{FN}/tags", params=token, headers=ws.auth))
    assert last == {"tags": [t for t in await tags_of(client, ws.auth) if t["name"] == "c"]}
    answer = await client.get(f"{FN}/tags", params={"pageToken": "AA"}, headers=ws.auth)
    assert [d["field"] for d in fl_error(answer, 422)["details"]] == ["pageToken"]


async def test_tags_are_listed_by_name_with_their_counts(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = {}
    for name in ["order_ready", "VIP", "abandoned cart"]:
        made[name] = ok(await client.post(f"{FN}/tags", json={"name": name}, headers=ws.auth), 201)
    a = await create_contact(client, ws.auth, {"name": "A"})
    b = await create_contact(client, ws.auth, {"name": "B"})
    await tag(client, ws.auth, a["id"], made["VIP"]["id"])
    await tag(client, ws.auth, b["id"], made["VIP"]["id"])
    await tag(client, ws.auth, b["id"], made["order_ready"]["id"])
    me = await my_user_id(client, ws.auth)
    assert await tags_of(client, ws.auth) == [
        {**made["abandoned cart"], "createdBy": me, "labeledCount": 0},
        {**made["order_ready"], "createdBy": me, "labeledCount": 1},
        {**made["VIP"], "createdBy": me, "labeledCount": 2},
    ]
    # An archived contact still carries its tags; a deleted one does not count.
    ok(await client.post(f"{FN}/contacts/{a['id']}/archive", headers=ws.auth), 204)
    counts = {t["name"]: t["labeledCount"] for t in await tags_of(client, ws.auth)}
    assert counts == {"abandoned cart": 0, "order_ready": 1, "VIP": 2}
    ok(await client.delete(f"{FN}/contacts/{b['id']}", headers=ws.auth), 204)
    counts = {t["name"]: t["labeledCount"] for t in await tags_of(client, ws.auth)}
    assert counts == {"abandoned cart": 0, "order_ready": 0, "VIP": 1}


async def test_a_tag_name_is_trimmed(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = ok(
        await client.post(f"{FN}/tags", json={"name": "  Big   Spender "}, headers=ws.auth), 201
    )
    assert made["name"] == "Big Spender"


@pytest.mark.parametrize("name", ["VIP", "vip", "Vip", " VIP "])
async def test_a_duplicate_tag_name_in_any_case_is_409(
    client: httpx.AsyncClient, ws: Workspace, name: str
) -> None:
    await create_tag(client, ws.auth, "VIP")
    answer = await client.post(f"{FN}/tags", json={"name": name}, headers=ws.auth)
    fl_error(answer, 409, f"A tag named {name.strip()!r} exists already", [])
    assert [t["name"] for t in await tags_of(client, ws.auth)] == ["VIP"]


async def test_tag_names_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    mine = await create_tag(client, ws.auth, "VIP")
    theirs = await create_tag(client, other_ws.auth, "VIP")
    assert mine != theirs
    assert [t["id"] for t in await tags_of(client, ws.auth)] == [mine]
    assert [t["id"] for t in await tags_of(client, other_ws.auth)] == [theirs]
    fl_error(await client.delete(f"{FN}/tags/{theirs}", headers=ws.auth), 404, "Tag not found")
    assert [t["id"] for t in await tags_of(client, other_ws.auth)] == [theirs]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, [("name", "required", "is required")]),
        ({"name": ""}, [("name", "invalid", "must be 1 to 100 characters")]),
        ({"name": "   "}, [("name", "invalid", "must be 1 to 100 characters")]),
        ({"name": None}, [("name", "invalid", "must be a string")]),
        ({"name": 7}, [("name", "invalid", "must be a string")]),
        ({"name": "x" * 101}, [("name", "invalid", "must be 1 to 100 characters")]),
        ({"name": "VIP", "color": "red"}, [("color", "unknown", "unknown attribute")]),
    ],
)
async def test_a_bad_tag_is_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    body: dict[str, Any],
    details: list[tuple[str, str, str]],
) -> None:
    answer = await client.post(f"{FN}/tags", json=body, headers=ws.auth)
    fl_error(answer, 422, "Validation failed", validation(*details))
    assert await tags_of(client, ws.auth) == []


async def test_a_100_character_tag_name_is_fine(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = ok(await client.post(f"{FN}/tags", json={"name": "x" * 100}, headers=ws.auth), 201)
    assert made["name"] == "x" * 100


async def test_deleting_a_tag_takes_it_off_every_contact(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    gold = await create_tag(client, ws.auth, "Gold")
    a = await create_contact(client, ws.auth, {"name": "A"})
    b = await create_contact(client, ws.auth, {"name": "B"})
    for contact in (a, b):
        await tag(client, ws.auth, contact["id"], vip)
        await tag(client, ws.auth, contact["id"], gold)
    ok(await client.delete(f"{FN}/tags/{vip}", headers=ws.auth), 204)
    for contact in (a, b):
        assert (await get_contact(client, ws.auth, contact["id"]))["tagIds"] == [gold]
    assert [t["id"] for t in await tags_of(client, ws.auth)] == [gold]
    # The tag is gone for good: deleting it again, filtering or tagging with it is 404.
    fl_error(await client.delete(f"{FN}/tags/{vip}", headers=ws.auth), 404, "Tag not found", [])
    answer = await client.post(f"{FN}/contacts/{a['id']}/tags/{vip}", headers=ws.auth)
    fl_error(answer, 404, "Tag not found", [])
    # Its name is free again.
    again = await create_tag(client, ws.auth, "vip")
    assert again != vip


@pytest.mark.parametrize("ref", [f"tag_{NOBODY}", "tag_nope", f"con_{NOBODY}", NOBODY])
async def test_deleting_an_unknown_tag_is_404(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> None:
    answer = await client.delete(f"{FN}/tags/{ref}", headers=ws.auth)
    fl_error(answer, 404, "Tag not found", [])
