"""Concurrent changes of static lists: membership, names, deletion."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.concurrency.conftest import API, CLIENTS, at_once, feed, statuses
from tests.conftest import Workspace

CONTACTS = f"{API}/objects/contact/records"
LISTS = f"{API}/lists"


async def _made(answer: httpx.Response) -> Any:
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _contact(client: httpx.AsyncClient, auth: dict[str, str], name: str = "Ada") -> str:
    made = await _made(
        await client.post(CONTACTS, json={"fields": {"first_name": name}}, headers=auth)
    )
    return str(made["id"])


async def _list(client: httpx.AsyncClient, auth: dict[str, str], name: str = "VIP") -> Any:
    return await _made(
        await client.post(LISTS, json={"name": name, "object": "contact"}, headers=auth)
    )


async def _members(client: httpx.AsyncClient, auth: dict[str, str], list_id: str) -> list[str]:
    answer = await client.get(f"{LISTS}/{list_id}/members", params={"limit": 500}, headers=auth)
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["data"]]


async def test_parallel_adds_of_one_record_make_one_member_and_one_event(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record, vip = await _contact(client, auth), (await _list(client, auth))["id"]
    url = f"{LISTS}/{vip}/members/{record}"
    answers = await at_once(CLIENTS, lambda i: client.put(url, headers=auth))
    assert statuses(answers) == {204: CLIENTS}
    assert await _members(client, auth, vip) == [record]
    assert len(await feed(client, auth, "list.added")) == 1


async def test_parallel_adds_and_removes_leave_what_the_last_did(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record, vip = await _contact(client, auth), (await _list(client, auth))["id"]
    url = f"{LISTS}/{vip}/members/{record}"
    answers = await at_once(
        CLIENTS, lambda i: (client.put if i % 2 else client.delete)(url, headers=auth)
    )
    assert statuses(answers) == {204: CLIENTS}
    added = await feed(client, auth, "list.added")
    removed = await feed(client, auth, "list.removed")
    # Adds and removes alternate, each a change of what the one before left.
    assert 0 <= len(added) - len(removed) <= 1
    expected = [record] if len(added) > len(removed) else []
    assert await _members(client, auth, vip) == expected


async def test_parallel_adds_while_the_list_is_deleted_leave_no_member(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    records = [await _contact(client, auth, f"P{i}") for i in range(CLIENTS)]
    vip = (await _list(client, auth))["id"]

    def send(i: int) -> Any:
        if i == CLIENTS // 2:
            return client.delete(f"{LISTS}/{vip}", headers=auth)
        return client.put(f"{LISTS}/{vip}/members/{records[i]}", headers=auth)

    answers = await at_once(CLIENTS, send)
    assert set(statuses(answers)) <= {204, 404}, [a.text for a in answers]
    for record in records:
        on = (await client.get(f"{CONTACTS}/{record}/lists", headers=auth)).json()["data"]
        assert on == []


async def test_parallel_creates_and_renames_to_one_name_leave_one_list_of_it(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    others = [(await _list(client, auth, f"L{i}"))["id"] for i in range(CLIENTS // 2)]

    def send(i: int) -> Any:
        if i % 2:
            return client.post(LISTS, json={"name": "vip", "object": "contact"}, headers=auth)
        return client.patch(f"{LISTS}/{others[i // 2]}", json={"name": "VIP"}, headers=auth)

    answers = await at_once(CLIENTS, send)
    assert sum(statuses(answers)[s] for s in (200, 201)) == 1, [a.text for a in answers]
    assert statuses(answers)[409] == CLIENTS - 1
    found = await client.get(LISTS, params={"q": "vip"}, headers=auth)
    assert found.json()["total"] == 1
