"""Concurrent intake of the same people: single, bulk, Leadflip and CSV imports make one
record per person, never a twin, and every answer says what happened to it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.worker.loop import drain
from tests.api.concurrency.conftest import (
    API,
    CLIENTS,
    assert_one_after_another,
    at_once,
    feed,
    statuses,
)
from tests.conftest import Workspace

INTAKE = f"{API}/objects/contact/intake"
LF = "/leadflip/api"


async def _contacts(client: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/objects/contact/records?limit=500", headers=auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def test_parallel_intakes_of_one_email_make_one_record(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            INTAKE, json={"E-mail": "Ada@Example.com", "Title": f"t{i}"}, headers=auth
        ),
    )
    assert statuses(answers) == {201: 1, 200: CLIENTS - 1}
    [made] = [a.json() for a in answers if a.status_code == 201]
    assert {a.json()["record"]["id"] for a in answers} == {made["record"]["id"]}
    [ada] = await _contacts(client, auth)
    assert ada["fields"]["email"] == "ada@example.com"
    assert ada["fields"]["title"] in {f"t{i}" for i in range(CLIENTS)}
    assert len(await feed(client, auth, "record.created")) == 1
    assert len(await feed(client, auth, "record.updated")) == CLIENTS - 1


async def test_parallel_leadflip_intakes_by_email_or_phone_update_the_one_lead(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    first = await client.post(
        f"{LF}/intake",
        json={
            "entity": "lead",
            "first_name": "Ada",
            "email": "ada@example.com",
            "phone": "+14155550100",
        },
        headers=auth,
    )
    assert first.status_code == 200, first.text
    # Half name her by her email, half by her phone, each with news of her.
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            f"{LF}/intake",
            json={"entity": "lead", "email": "ADA@example.com", "company": f"c{i}"}
            if i % 2
            else {"entity": "lead", "phone": "+1 415 555 0100", "company": f"c{i}"},
            headers=auth,
        ),
    )
    assert statuses(answers) == {200: CLIENTS}
    assert {a.json()["lead_id"] for a in answers} == {first.json()["lead_id"]}
    assert {a.json()["result"] for a in answers} == {"updated"}
    leads = await client.get(f"{API}/objects/lead/records", headers=auth)
    assert [r["id"] for r in leads.json()["data"]] == [first.json()["lead_id"]]
    updates = await feed(client, auth, "record.updated")
    assert len(updates) == CLIENTS
    assert_one_after_another(updates, "company")
    assert leads.json()["data"][0]["fields"]["company"] == updates[-1]["changes"]["company"][1]


async def test_parallel_bulk_intakes_sharing_people_make_each_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    people = [f"p{i}@example.com" for i in range(100)]

    def batch(i: int) -> dict[str, Any]:
        # Each batch names every person, in its own order, with its own note of them.
        shifted = people[i * 7 % 100 :] + people[: i * 7 % 100]
        return {
            "entity": "lead",
            "batch": [{"email": e, "first_name": f"B{i}"} for e in shifted],
            "note": f"batch {i}",
        }

    answers = await at_once(
        10, lambda i: client.post(f"{LF}/leads/bulk", json=batch(i), headers=auth)
    )
    assert statuses(answers) == {200: 10}
    bodies = [a.json() for a in answers]
    assert all(b["failed"] == [] for b in bodies), bodies
    assert sum(len(b["created"]) for b in bodies) == 100
    assert sum(len(b["updated"]) for b in bodies) == 900
    leads = await client.post(f"{API}/objects/lead/records/count", json={}, headers=auth)
    assert leads.json()["count"] == 100
    assert len(await feed(client, auth, "record.created")) == 100


async def test_parallel_intakes_naming_one_new_tag_all_succeed(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            INTAKE, json={"email": f"p{i}@example.com", "tags": ["Webinar", "VIP"]}, headers=auth
        ),
    )
    assert statuses(answers) == {201: CLIENTS}
    listed = (await client.get(f"{API}/tags", headers=auth)).json()["data"]
    assert sorted((t["name"], t["labeled_count"]) for t in listed) == [
        ("VIP", CLIENTS),
        ("Webinar", CLIENTS),
    ]
    assert len(await feed(client, auth, "tag.created")) == 2


async def test_imports_of_the_same_people_at_once_make_each_once(
    client: httpx.AsyncClient, engine: AsyncEngine, ws: Workspace, auth: dict[str, str]
) -> None:
    await drain(engine)
    rows = "".join(f"P{i},p{i}@example.com\n" for i in range(1500))
    for _ in range(3):
        answer = await client.post(
            f"{API}/objects/contact/imports",
            content=f"first_name,email\n{rows}".encode(),
            headers={**auth, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 202, answer.text
    done = await asyncio.gather(*(drain(engine, f"worker-{i}") for i in range(3)))
    assert sum(done) == 3
    count = await client.post(f"{API}/objects/contact/records/count", json={}, headers=auth)
    assert count.json()["count"] == 1500
    listed = (await client.get(f"{API}/objects/contact/imports", headers=auth)).json()["data"]
    assert (
        sorted((i["status"], i["created"] + i["updated"]) for i in listed)
        == [("completed", 1500)] * 3
    )
    assert sum(i["created"] for i in listed) == 1500
