"""Concurrent changes of what hangs on records: tags, identities, notes, viewers, links."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.service import principal_for_user
from crm.core.tags import service as tags
from crm.db.engine import transaction
from tests.api.concurrency.conftest import API, CLIENTS, at_once, feed, statuses
from tests.conftest import Workspace, bearer

CONTACTS = f"{API}/objects/contact/records"


async def _made(answer: httpx.Response) -> Any:
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _contact(client: httpx.AsyncClient, auth: dict[str, str], name: str = "Ada") -> str:
    made = await _made(
        await client.post(CONTACTS, json={"fields": {"first_name": name}}, headers=auth)
    )
    return str(made["id"])


async def test_parallel_tag_and_untag_leave_what_the_last_did(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth)
    vip = (await _made(await client.post(f"{API}/tags", json={"name": "VIP"}, headers=auth)))["id"]
    url = f"{CONTACTS}/{record}/tags/{vip}"
    answers = await at_once(
        CLIENTS,
        lambda i: (client.put if i % 2 else client.delete)(url, headers=auth),
    )
    assert statuses(answers) == {204: CLIENTS}
    tagged = await feed(client, auth, "record.tagged")
    untagged = await feed(client, auth, "record.untagged")
    # Taggings and untaggings alternate, each a change of what the one before left.
    assert 0 <= len(tagged) - len(untagged) <= 1
    on = (await client.get(f"{CONTACTS}/{record}/tags", headers=auth)).json()["data"]
    assert [t["id"] for t in on] == ([vip] if len(tagged) > len(untagged) else [])


async def test_parallel_tagging_while_the_tag_is_deleted_never_fails(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    records = [await _contact(client, auth, f"P{i}") for i in range(CLIENTS)]
    vip = (await _made(await client.post(f"{API}/tags", json={"name": "VIP"}, headers=auth)))["id"]

    def send(i: int) -> Any:
        if i == CLIENTS // 2:
            return client.delete(f"{API}/tags/{vip}", headers=auth)
        return client.put(f"{CONTACTS}/{records[i]}/tags/{vip}", headers=auth)

    answers = await at_once(CLIENTS, send)
    assert set(statuses(answers)) <= {204, 404}, [a.text for a in answers]
    for record in records:
        on = (await client.get(f"{CONTACTS}/{record}/tags", headers=auth)).json()["data"]
        assert on == []


async def test_an_agent_deleting_a_tag_waits_for_a_tagging_in_flight_and_takes_none_away(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str], engine: AsyncEngine
) -> None:
    record = await _contact(client, auth)
    vip = (await _made(await client.post(f"{API}/tags", json={"name": "VIP"}, headers=auth)))["id"]
    agent = bearer(await ws.add_key(role="agent", email="al@acme.io"))
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        await tags.tag_record(conn, owner, "contact", record, vip)
        # The agent's deletion starts while the owner's tagging is not yet committed.
        deletion = asyncio.ensure_future(client.delete(f"{API}/tags/{vip}", headers=agent))
        await asyncio.sleep(0.5)
    assert (await deletion).status_code == 403, (await deletion).text
    on = (await client.get(f"{CONTACTS}/{record}/tags", headers=auth)).json()["data"]
    assert [t["id"] for t in on] == [vip]


async def test_parallel_claims_of_one_address_give_it_to_one_record(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    records = [await _contact(client, auth, f"P{i}") for i in range(CLIENTS)]
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            f"{CONTACTS}/{records[i]}/identities",
            json={"channel": "whatsapp", "address": "+48 123 456 789"},
            headers=auth,
        ),
    )
    assert statuses(answers) == {201: 1, 409: CLIENTS - 1}
    found = await client.get(
        f"{API}/identities/record",
        params={"channel": "whatsapp", "address": "+48123456789"},
        headers=auth,
    )
    [winner] = [records[i] for i, a in enumerate(answers) if a.status_code == 201]
    assert found.json()["id"] == winner
    assert len(await feed(client, auth, "record.identity_added")) == 1


async def test_parallel_notes_all_stay_and_a_note_is_deleted_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth)
    notes = f"{CONTACTS}/{record}/notes"
    answers = await at_once(
        CLIENTS, lambda i: client.post(notes, json={"body": f"call {i}"}, headers=auth)
    )
    assert statuses(answers) == {201: CLIENTS}
    listed = (await client.get(notes, headers=auth)).json()["data"]
    assert sorted(n["body"] for n in listed) == sorted(f"call {i}" for i in range(CLIENTS))
    note = answers[0].json()["id"]
    answers = await at_once(CLIENTS, lambda i: client.delete(f"{notes}/{note}", headers=auth))
    assert statuses(answers) == {204: 1, 404: CLIENTS - 1}
    assert len(await feed(client, auth, "note.deleted")) == 1


async def test_parallel_notes_on_a_record_being_deleted_stay_with_it(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth)

    def send(i: int) -> Any:
        if i == CLIENTS // 2:
            return client.delete(f"{CONTACTS}/{record}", headers=auth)
        return client.post(f"{CONTACTS}/{record}/notes", json={"body": "hi"}, headers=auth)

    answers = await at_once(CLIENTS, send)
    added = sum(a.status_code == 201 for a in answers)
    assert statuses(answers) == {201: added, 404: CLIENTS - 1 - added, 204: 1}
    assert len(await feed(client, auth, "note.created")) == added
    # Every note added was added before the record was deleted.
    events = [e["type"] for e in (await client.get(f"{API}/events", headers=auth)).json()["data"]]
    assert events.index("record.deleted") == len(events) - 1


async def test_parallel_shares_with_one_user_share_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth)
    user = await _made(
        await client.post(
            f"{API}/users",
            json={"email": "bo@example.com", "name": "Bo", "role": "agent"},
            headers=auth,
        )
    )
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            f"{CONTACTS}/{record}/viewers", json={"users": [user["id"]]}, headers=auth
        ),
    )
    assert statuses(answers) == {200: CLIENTS}
    assert len(await feed(client, auth, "record.shared")) == 1


async def test_parallel_links_of_one_pair_make_one_link(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    await _made(
        await client.post(
            f"{API}/objects/contact/fields",
            json={
                "key": "companies",
                "label": "Companies",
                "type": "relation",
                "options": {"object": "company", "multiple": True},
            },
            headers=auth,
        )
    )
    ada = await _contact(client, auth)
    acme = await _made(
        await client.post(
            f"{API}/objects/company/records", json={"fields": {"name": "Acme"}}, headers=auth
        )
    )
    url = f"{CONTACTS}/{ada}/links/companies/{acme['id']}"
    answers = await at_once(
        CLIENTS,
        lambda i: client.put(url, json={"attributes": {"title": f"t{i}"}}, headers=auth),
    )
    assert statuses(answers) == {201: 1, 200: CLIENTS - 1}
    assert len(await feed(client, auth, "link.added")) == 1
    assert len(await feed(client, auth, "link.updated")) == CLIENTS - 1
