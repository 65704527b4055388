"""Filtering records by the tags they carry and the channels they are reached on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, detail_fields

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"


async def _contact(client: httpx.AsyncClient, ws: Workspace, name: str) -> str:
    answer = await client.post(CONTACTS, json={"fields": {"first_name": name}}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _tag(client: httpx.AsyncClient, ws: Workspace, name: str) -> str:
    answer = await client.post(f"{API}/tags", json={"name": name}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _names(client: httpx.AsyncClient, ws: Workspace, flt: dict[str, Any]) -> list[str]:
    answer = await client.post(
        f"{CONTACTS}/search",
        json={"filter": flt, "sort": [{"field": "first_name", "direction": "asc"}]},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    return [r["fields"]["first_name"] for r in answer.json()["data"]]


@pytest.fixture
async def world(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """Ann (VIP), Bob (VIP, Churned, SMS), Cy (WhatsApp), Di (nothing)."""
    ids = {n: await _contact(client, ws, n) for n in ("Ann", "Bob", "Cy", "Di")}
    vip, churned = await _tag(client, ws, "VIP"), await _tag(client, ws, "Churned")
    for who, tag in (("Ann", vip), ("Bob", vip), ("Bob", churned)):
        answer = await client.put(f"{CONTACTS}/{ids[who]}/tags/{tag}", headers=ws.auth)
        assert answer.status_code == 204
    for who, channel, phone in (("Bob", "sms", "+48123456789"), ("Cy", "whatsapp", "+14155552671")):
        answer = await client.post(
            f"{CONTACTS}/{ids[who]}/identities",
            json={"channel": channel, "address": phone},
            headers=ws.auth,
        )
        assert answer.status_code == 201, answer.text
    return {"vip": vip, "churned": churned, **ids}


async def test_tags_in_is_any_of(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, str]
) -> None:
    assert await _names(client, ws, {"field": "tags", "op": "in", "value": [world["vip"]]}) == [
        "Ann",
        "Bob",
    ]
    both = [world["vip"], world["churned"]]
    assert await _names(client, ws, {"field": "tags", "op": "in", "value": both}) == ["Ann", "Bob"]
    assert await _names(client, ws, {"field": "tags", "op": "eq", "value": world["churned"]}) == [
        "Bob"
    ]


async def test_tags_and_is_all_of(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, str]
) -> None:
    flt = {
        "and": [
            {"field": "tags", "op": "eq", "value": world["vip"]},
            {"field": "tags", "op": "eq", "value": world["churned"]},
        ]
    }
    assert await _names(client, ws, flt) == ["Bob"]


async def test_empty_and_not_empty(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, str]
) -> None:
    assert await _names(client, ws, {"field": "tags", "op": "empty"}) == ["Cy", "Di"]
    assert await _names(client, ws, {"field": "tags", "op": "not_empty"}) == ["Ann", "Bob"]
    assert await _names(client, ws, {"field": "channels", "op": "empty"}) == ["Ann", "Di"]


async def test_channels_any_of(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, str]
) -> None:
    flt = {"field": "channels", "op": "in", "value": ["whatsapp", "telegram"]}
    assert await _names(client, ws, flt) == ["Cy"]
    flt = {"field": "channels", "op": "in", "value": ["sms", "whatsapp"]}
    assert await _names(client, ws, flt) == ["Bob", "Cy"]
    combined = {
        "or": [
            {"field": "channels", "op": "eq", "value": "whatsapp"},
            {"field": "tags", "op": "eq", "value": world["churned"]},
        ]
    }
    assert await _names(client, ws, combined) == ["Bob", "Cy"]


async def test_a_removed_tag_no_longer_matches(
    client: httpx.AsyncClient, ws: Workspace, world: dict[str, str]
) -> None:
    answer = await client.delete(f"{CONTACTS}/{world['Ann']}/tags/{world['vip']}", headers=ws.auth)
    assert answer.status_code == 204
    assert await _names(client, ws, {"field": "tags", "op": "in", "value": [world["vip"]]}) == [
        "Bob"
    ]


async def test_other_workspaces_tags_match_nothing(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: dict[str, str]
) -> None:
    await _contact(client, other_ws, "Eve")
    theirs = await _tag(client, other_ws, "VIP")
    assert await _names(client, ws, {"field": "tags", "op": "in", "value": [theirs]}) == []


@pytest.mark.parametrize(
    "flt",
    [
        {"field": "tags", "op": "gt", "value": "x"},
        {"field": "tags", "op": "in", "value": []},
        {"field": "tags", "op": "in", "value": "not-a-list"},
        {"field": "tags", "op": "in", "value": [1, 2]},
        {"field": "channels", "op": "contains", "value": "sms"},
        {"field": "channels", "op": "eq"},
    ],
)
async def test_bad_membership_filters_are_422(
    client: httpx.AsyncClient, ws: Workspace, flt: dict[str, Any]
) -> None:
    answer = await client.post(f"{CONTACTS}/search", json={"filter": flt}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["filter.value"]
