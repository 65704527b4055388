"""Autonumbered fields: cases get REF-1001, REF-1002, ... unless a value is given."""

from __future__ import annotations

import httpx

from tests.conftest import Workspace

CASES = "/api/v1/objects/case/records"


async def test_cases_are_numbered_in_order(client: httpx.AsyncClient, ws: Workspace) -> None:
    first = await client.post(CASES, json={"fields": {"title": "Printer on fire"}}, headers=ws.auth)
    second = await client.post(CASES, json={"fields": {"title": "Login fails"}}, headers=ws.auth)
    assert first.json()["fields"]["identifier"] == "REF-1001"
    assert second.json()["fields"]["identifier"] == "REF-1002"
    assert first.json()["display_name"] == "REF-1001 Printer on fire"


async def test_bulk_numbers_each_new_case(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{CASES}/bulk",
        json={
            "records": [
                {"fields": {"title": "A"}},
                {"fields": {"identifier": "EXT-7", "title": "B"}},
                {"fields": {}},
                {"fields": {"title": "C"}},
            ]
        },
        headers=ws.auth,
    )
    data = answer.json()["data"]
    assert [d["status"] for d in data] == ["created", "created", "error", "created"]
    assert [d["record"]["fields"]["identifier"] for d in data if d["status"] == "created"] == [
        "REF-1001",
        "EXT-7",
        "REF-1002",
    ]


async def test_numbers_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await client.post(CASES, json={"fields": {"title": "Ours"}}, headers=ws.auth)
    theirs = await client.post(CASES, json={"fields": {"title": "Theirs"}}, headers=other_ws.auth)
    assert theirs.json()["fields"]["identifier"] == "REF-1001"


async def test_custom_autonumber_field(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await client.post(
        "/api/v1/objects/deal/fields",
        json={
            "key": "quote_no",
            "label": "Quote",
            "type": "text",
            "options": {"autonumber": {"prefix": "Q", "start": 7}},
        },
        headers=ws.auth,
    )
    assert made.status_code == 201
    deal = await client.post(
        "/api/v1/objects/deal/records", json={"fields": {"name": "X"}}, headers=ws.auth
    )
    assert deal.json()["fields"]["quote_no"] == "Q7"
    bad = await client.post(
        "/api/v1/objects/deal/fields",
        json={
            "key": "other_no",
            "label": "Other",
            "type": "text",
            "options": {"autonumber": {"prefix": 5}},
        },
        headers=ws.auth,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "options"
