"""Fields changed while records are written: no writer stores a value by a field's old
definition once the change has committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tests.api.concurrency.conftest import API, at_once, feed, statuses
from tests.conftest import Workspace

CONTACTS = f"{API}/objects/contact/records"
FIELDS = f"{API}/objects/contact/fields"
#: Records written to while the field changes.
RECORDS = 10
#: Writes sent around the change, which goes out in the middle of them.
WRITES = 40


async def _field(client: httpx.AsyncClient, auth: dict[str, str], type_: str) -> None:
    answer = await client.post(
        FIELDS, json={"key": "score", "label": "Score", "type": type_}, headers=auth
    )
    assert answer.status_code == 201, answer.text


async def _contacts(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    made = []
    for i in range(RECORDS):
        answer = await client.post(CONTACTS, json={"fields": {"first_name": f"P{i}"}}, headers=auth)
        assert answer.status_code == 201, answer.text
        made.append(str(answer.json()["id"]))
    return made


async def _scores(client: httpx.AsyncClient, auth: dict[str, str], ids: list[str]) -> list[object]:
    found = []
    for record in ids:
        answer = await client.get(f"{CONTACTS}/{record}", headers=auth)
        assert answer.status_code == 200, answer.text
        found.append(answer.json()["fields"].get("score"))
    return found


async def _writes_around(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    change: Callable[[], Awaitable[httpx.Response]],
    value: Callable[[int], str],
) -> tuple[list[str], list[httpx.Response]]:
    """Records with a text ``score``, written ``WRITES`` times at once with ``change`` of the
    field sent in the middle; the records' ids and the answers (the change's in the middle)."""
    await _field(client, auth, "text")
    ids = await _contacts(client, auth)

    def send(i: int) -> Awaitable[httpx.Response]:
        if i == WRITES // 2:
            return change()
        body = {"fields": {"score": value(i)}}
        return client.patch(f"{CONTACTS}/{ids[i % RECORDS]}", json=body, headers=auth)

    return ids, await at_once(WRITES, send)


async def test_a_field_deleted_during_writes_leaves_no_value_behind(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    ids, answers = await _writes_around(
        client, auth, lambda: client.delete(f"{FIELDS}/score", headers=auth), lambda i: f"s{i}"
    )
    assert answers[WRITES // 2].status_code == 204
    assert set(statuses(answers)) <= {200, 204, 422}
    await _field(client, auth, "number")
    assert await _scores(client, auth, ids) == [None] * RECORDS


async def test_a_field_retyped_during_writes_holds_only_values_of_its_new_type(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    ids, answers = await _writes_around(
        client,
        auth,
        lambda: client.patch(f"{FIELDS}/score", json={"type": "number"}, headers=auth),
        str,
    )
    assert answers[WRITES // 2].status_code == 200, answers[WRITES // 2].text
    assert statuses(answers) == {200: WRITES}
    scores = await _scores(client, auth, ids)
    assert all(isinstance(s, int | float) for s in scores), scores


async def test_fields_made_at_once_in_a_new_group_make_one_category(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    def send(i: int) -> Awaitable[httpx.Response]:
        body = {"key": f"net_{i}", "label": f"Net {i}", "type": "url", "group": "social"}
        return client.post(FIELDS, json=body, headers=auth)

    assert statuses(await at_once(WRITES, send)) == {201: WRITES}
    answer = await client.get(f"{API}/objects/contact/field-categories", headers=auth)
    assert [c["key"] for c in answer.json()["data"]].count("social") == 1
    assert len(await feed(client, auth, "field_category.created")) == 1


async def test_a_category_deleted_while_fields_move_into_it_stays_named(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    """Every field's group names a category in the end: a field moved in after the
    deletion makes the category again, and a deletion after a move answers 409."""
    categories = f"{API}/objects/contact/field-categories"
    made = await client.post(categories, json={"key": "social", "label": "Social"}, headers=auth)
    assert made.status_code == 201, made.text
    moved = ["title", "company", "website", "status", "source", "description"]

    def send(i: int) -> Awaitable[httpx.Response]:
        if i % 2:
            return client.delete(f"{categories}/social", headers=auth)
        body = {"group": "social"}
        return client.patch(f"{FIELDS}/{moved[i // 2]}", json=body, headers=auth)

    answers = await at_once(2 * len(moved), send)
    assert statuses(answers[::2]) == {200: len(moved)}
    assert set(statuses(answers[1::2])) <= {204, 404, 409}
    contact = (await client.get(f"{API}/objects/contact", headers=auth)).json()
    assert {f["group"] for f in contact["fields"]} <= {c["key"] for c in contact["categories"]}
    assert "social" in {c["key"] for c in contact["categories"]}
