"""Concurrent changes of one record: updates, archiving, deleting, restoring, stage moves."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.api.concurrency.conftest import (
    API,
    CLIENTS,
    assert_one_after_another,
    at_once,
    feed,
    statuses,
)
from tests.conftest import Workspace

CONTACTS = f"{API}/objects/contact/records"


async def _custom_fields(client: httpx.AsyncClient, auth: dict[str, str], count: int) -> list[str]:
    keys = [f"f{i}" for i in range(count)]
    for key in keys:
        answer = await client.post(
            f"{API}/objects/contact/fields",
            json={"key": key, "label": key.upper(), "type": "text"},
            headers=auth,
        )
        assert answer.status_code == 201, answer.text
    return keys


async def _contact(client: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> str:
    answer = await client.post(CONTACTS, json={"fields": fields}, headers=auth)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_parallel_updates_of_different_fields_all_stay(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    keys = await _custom_fields(client, auth, CLIENTS)
    record = await _contact(client, auth, first_name="Ada")
    answers = await at_once(
        CLIENTS,
        lambda i: client.patch(
            f"{CONTACTS}/{record}", json={"fields": {keys[i]: f"v{i}"}}, headers=auth
        ),
    )
    assert statuses(answers) == {200: CLIENTS}
    final = (await client.get(f"{CONTACTS}/{record}", headers=auth)).json()["fields"]
    assert {k: final[k] for k in keys} == {k: f"v{i}" for i, k in enumerate(keys)}
    assert len(await feed(client, auth, "record.updated")) == CLIENTS


async def test_parallel_archives_archive_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth, first_name="Ada")
    answers = await at_once(
        CLIENTS, lambda i: client.post(f"{CONTACTS}/{record}/archive", headers=auth)
    )
    assert statuses(answers) == {200: 1, 409: CLIENTS - 1}
    assert len(await feed(client, auth, "record.archived")) == 1


async def test_parallel_deletes_delete_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth, first_name="Ada")
    answers = await at_once(CLIENTS, lambda i: client.delete(f"{CONTACTS}/{record}", headers=auth))
    assert statuses(answers) == {204: 1, 404: CLIENTS - 1}
    assert len(await feed(client, auth, "record.deleted")) == 1


async def test_parallel_restores_restore_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    record = await _contact(client, auth, first_name="Ada")
    assert (await client.delete(f"{CONTACTS}/{record}", headers=auth)).status_code == 204
    answers = await at_once(
        CLIENTS, lambda i: client.post(f"{CONTACTS}/{record}/restore", headers=auth)
    )
    assert statuses(answers) == {200: 1, 404: CLIENTS - 1}
    assert len(await feed(client, auth, "record.restored")) == 1


async def test_parallel_restores_of_two_holders_of_one_unique_value_bring_back_one(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "external_id", "label": "External id", "type": "text", "unique": True},
        headers=auth,
    )
    assert answer.status_code == 201, answer.text
    first = await _contact(client, auth, external_id="X-1")
    assert (await client.delete(f"{CONTACTS}/{first}", headers=auth)).status_code == 204
    second = await _contact(client, auth, external_id="X-1")
    assert (await client.delete(f"{CONTACTS}/{second}", headers=auth)).status_code == 204
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(f"{CONTACTS}/{(first, second)[i % 2]}/restore", headers=auth),
    )
    assert statuses(answers) == {200: 1, 404: CLIENTS // 2 - 1, 409: CLIENTS // 2}
    live = await client.post(f"{API}/objects/contact/records/count", json={}, headers=auth)
    assert live.json()["count"] == 1


async def test_parallel_stage_moves_follow_one_another(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answer = await client.post(
        f"{API}/objects/lead/records", json={"fields": {"first_name": "Ada"}}, headers=auth
    )
    assert answer.status_code == 201, answer.text
    lead = answer.json()["id"]
    stages = ["Contacted", "Qualified", "New", "Unqualified", "Converted"]
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            f"{API}/objects/lead/records/{lead}/stage",
            json={"stage": stages[i % len(stages)]},
            headers=auth,
        ),
    )
    assert statuses(answers) == {200: CLIENTS}
    moves = await feed(client, auth, "record.stage_changed")
    for before, after in itertools.pairwise(moves):
        assert after["data"]["from"] == before["data"]["to"], moves
    history = await client.get(f"{API}/objects/lead/records/{lead}/stages", headers=auth)
    shown = (await client.get(f"{API}/objects/lead/records/{lead}", headers=auth)).json()
    assert shown["fields"]["stage"] == moves[-1]["data"]["to"]["name"]
    assert history.status_code == 200, history.text


async def test_parallel_upserts_of_one_unique_value_make_one_record(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "external_id", "label": "External id", "type": "text", "unique": True},
        headers=auth,
    )
    assert answer.status_code == 201, answer.text
    answers = await at_once(
        CLIENTS,
        lambda i: client.put(
            f"{CONTACTS}/upsert",
            json={"match": "external_id", "fields": {"external_id": "X-1", "city": f"c{i}"}},
            headers=auth,
        ),
    )
    assert statuses(answers) == {201: 1, 200: CLIENTS - 1}
    assert len({a.json()["id"] for a in answers}) == 1
    assert_one_after_another(await feed(client, auth, "record.updated"), "city")


async def test_parallel_flownally_changes_of_one_contact_all_stay(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    made = await client.post("/flownally/v1/contacts", json={"name": "Anna Kowalska"}, headers=auth)
    assert made.status_code == 201, made.text
    contact = made.json()["id"]
    fields = []
    for i in range(10):
        answer = await client.post(
            "/flownally/v1/contacts/custom-fields",
            json={"name": f"Field {i}", "type": "text"},
            headers=auth,
        )
        assert answer.status_code == 201, answer.text
        fields.append(answer.json()["id"])
    answers = await at_once(
        len(fields),
        lambda i: client.put(
            f"/flownally/v1/contacts/{contact}/custom-fields/{fields[i]}",
            json={"value": f"v{i}"},
            headers=auth,
        ),
    )
    assert statuses(answers) == {204: len(fields)}
    shown = (await client.get(f"/flownally/v1/contacts/{contact}", headers=auth)).json()
    assert sorted(shown["customFields"].values()) == sorted(f"v{i}" for i in range(10))


async def test_parallel_flownally_creates_with_one_phone_make_one_contact(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(
            "/flownally/v1/contacts",
            json={"name": f"Anna {i}", "phone": "+48123456789"},
            headers=auth,
        ),
    )
    assert statuses(answers) == {201: 1, 409: CLIENTS - 1}
    count = await client.get("/flownally/v1/contacts/count", headers=auth)
    assert count.json()["totalSize"] == 1
