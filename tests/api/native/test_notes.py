"""Notes on records through the native API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, detail_fields

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"


# --- helpers ------------------------------------------------------------------------------


async def contact(client: httpx.AsyncClient, ws: Workspace, name: str = "Ada") -> str:
    """A new contact's notes URL."""
    answer = await client.post(CONTACTS, json={"fields": {"first_name": name}}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return f"{CONTACTS}/{answer.json()['id']}/notes"


async def add(client: httpx.AsyncClient, ws: Workspace, url: str, **body: Any) -> dict[str, Any]:
    answer = await client.post(url, json=body, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def notes(client: httpx.AsyncClient, ws: Workspace, url: str) -> list[dict[str, Any]]:
    answer = await client.get(url, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def me(client: httpx.AsyncClient, ws: Workspace) -> str:
    return str((await client.get(f"{API}/me", headers=ws.auth)).json()["user"]["id"])


# --- create, read, change, delete ---------------------------------------------------------


async def test_add_a_note(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    record_id = url.split("/")[-2]
    assert await notes(client, ws, url) == []
    note = await add(client, ws, url, body="Met at the conference.\nFollow up in May.")
    assert uuid.UUID(note["id"])
    assert note["record_id"] == record_id
    assert note["object"] == "contact"
    assert note["kind"] == "note"
    assert note["body"] == "Met at the conference.\nFollow up in May."
    assert note["author_id"] == await me(client, ws)
    assert note["occurred_at"] == note["created_at"] == note["updated_at"]
    assert await notes(client, ws, url) == [note]


async def test_kinds_and_occurred_at(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    call = await add(
        client, ws, url, body="Called", kind="call", occurred_at="2024-05-01T10:30:00+02:00"
    )
    assert call["kind"] == "call"
    assert call["occurred_at"] == "2024-05-01T08:30:00Z"
    meeting = await add(client, ws, url, body="Lunch", kind="meeting", occurred_at="2024-06-01")
    assert meeting["occurred_at"] == "2024-06-01T00:00:00Z"
    email = await add(client, ws, url, body="Wrote", kind="email", occurred_at="2024-01-15T09:00")
    for kind in ("sms", "task", "note"):
        assert (await add(client, ws, url, body=kind, kind=kind))["kind"] == kind
    listed = await notes(client, ws, url)
    # Newest first by when it happened, not when it was written.
    assert [n["body"] for n in listed[-3:]] == ["Lunch", "Called", "Wrote"]
    assert listed[-1] == email


async def test_notes_are_paged_newest_first(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    for day in ("2024-01-02", "2024-01-01", "2024-01-03", "2024-01-01", "2024-01-05"):
        await add(client, ws, url, body=day, occurred_at=day)
    everything = await notes(client, ws, url)
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(url, params=params, headers=ws.auth)).json()
        assert set(page) == {"data", "next_cursor"}
        pages.append(page["data"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [n for p in pages for n in p] == everything
    assert [n["body"] for n in everything][:3] == ["2024-01-05", "2024-01-03", "2024-01-02"]


@pytest.mark.parametrize(
    "params", [{"cursor": "nope"}, {"cursor": str(uuid.uuid4())}, {"limit": 0}]
)
async def test_a_bad_note_page_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any]
) -> None:
    url = await contact(client, ws)
    answer = await client.get(url, params=params, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == list(params)


async def test_change_a_note(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    note = await add(client, ws, url, body="Draft", kind="note")
    other = await add(client, ws, url, body="Untouched")
    answer = await client.patch(
        f"{url}/{note['id']}", json={"body": "Final", "kind": "call"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert (changed["body"], changed["kind"]) == ("Final", "call")
    assert (changed["id"], changed["created_at"]) == (note["id"], note["created_at"])
    assert changed["occurred_at"] == note["occurred_at"]

    answer = await client.patch(
        f"{url}/{note['id']}", json={"occurred_at": "2020-02-02T02:02:02Z"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    moved = answer.json()
    assert (moved["body"], moved["kind"], moved["occurred_at"]) == (
        "Final",
        "call",
        "2020-02-02T02:02:02Z",
    )
    listed = await notes(client, ws, url)
    assert listed == [other, moved]


async def test_delete_a_note(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    gone = await add(client, ws, url, body="Wrong contact")
    kept = await add(client, ws, url, body="Right contact")
    answer = await client.delete(f"{url}/{gone['id']}", headers=ws.auth)
    assert answer.status_code == 204
    assert answer.content == b""
    assert await notes(client, ws, url) == [kept]
    assert_error(await client.delete(f"{url}/{gone['id']}", headers=ws.auth), 404, "not_found")
    answer = await client.patch(f"{url}/{gone['id']}", json={"body": "x"}, headers=ws.auth)
    assert_error(answer, 404, "not_found")


async def test_note_text_is_kept_verbatim(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    body = "'; DROP TABLE notes; --\n<b>bold</b> 100% _x_ \\ Zoë 北京 \t  "
    note = await add(client, ws, url, body=body)
    assert note["body"] == body
    assert (await notes(client, ws, url))[0]["body"] == body


async def test_notes_belong_to_their_record(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await contact(client, ws, "Ada")
    bob = await contact(client, ws, "Bob")
    note = await add(client, ws, ada, body="About Ada")
    assert await notes(client, ws, bob) == []
    # A note is only reachable under its own record.
    answer = await client.patch(f"{bob}/{note['id']}", json={"body": "x"}, headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert_error(await client.delete(f"{bob}/{note['id']}", headers=ws.auth), 404, "not_found")
    assert (await notes(client, ws, ada))[0]["body"] == "About Ada"


async def test_notes_of_a_deleted_record_are_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    note = await add(client, ws, url, body="Hello")
    record_url = url.removesuffix("/notes")
    assert (await client.delete(record_url, headers=ws.auth)).status_code == 204
    assert_error(await client.get(url, headers=ws.auth), 404, "not_found")
    assert_error(await client.post(url, json={"body": "x"}, headers=ws.auth), 404, "not_found")
    assert (await client.post(f"{record_url}/restore", headers=ws.auth)).status_code == 200
    assert await notes(client, ws, url) == [note]


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["body"]),
        ({"body": ""}, ["body"]),
        ({"body": "   \n "}, ["body"]),
        ({"body": 42}, ["body"]),
        ({"body": "x" * 50_001}, ["body"]),
        ({"body": "Hi", "kind": "fax"}, ["kind"]),
        ({"body": "Hi", "occurred_at": "yesterday"}, ["occurred_at"]),
        ({"body": "Hi", "subject": "Re:"}, ["subject"]),
        ({"body": "", "kind": "fax", "occurred_at": "soon"}, ["body", "kind", "occurred_at"]),
    ],
)
async def test_bad_note_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    url = await contact(client, ws)
    answer = await client.post(url, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await notes(client, ws, url) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"body": ""}, ["body"]),
        ({"kind": "letter"}, ["kind"]),
        ({"occurred_at": "31/12/2024"}, ["occurred_at"]),
        ({"author_id": "someone"}, ["author_id"]),
    ],
)
async def test_bad_note_change_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], fields: list[str]
) -> None:
    url = await contact(client, ws)
    note = await add(client, ws, url, body="Original", kind="call")
    answer = await client.patch(f"{url}/{note['id']}", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    assert await notes(client, ws, url) == [note]


async def test_malformed_note_json_is_400(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    answer = await client.post(
        url, content=b"{body: nope}", headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 400, "malformed_request")


async def test_unknown_record_or_note_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = await contact(client, ws)
    missing = f"{CONTACTS}/{uuid.uuid4()}/notes"
    assert_error(await client.get(missing, headers=ws.auth), 404, "not_found")
    assert_error(await client.post(missing, json={"body": "x"}, headers=ws.auth), 404, "not_found")
    for note_id in (str(uuid.uuid4()), "not-a-note", "1"):
        answer = await client.patch(f"{url}/{note_id}", json={"body": "x"}, headers=ws.auth)
        assert_error(answer, 404, "not_found")
        assert_error(await client.delete(f"{url}/{note_id}", headers=ws.auth), 404, "not_found")
    answer = await client.get(f"{API}/objects/spaceship/records/1/notes", headers=ws.auth)
    assert_error(answer, 404, "not_found")


async def test_notes_of_another_workspace_are_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    url = await contact(client, ws)
    note = await add(client, ws, url, body="Private")
    note_url = f"{url}/{note['id']}"
    assert_error(await client.get(url, headers=other_ws.auth), 404, "not_found")
    answer = await client.post(url, json={"body": "Sneaky"}, headers=other_ws.auth)
    assert_error(answer, 404, "not_found")
    answer = await client.patch(note_url, json={"body": "Hacked"}, headers=other_ws.auth)
    assert_error(answer, 404, "not_found")
    assert_error(await client.delete(note_url, headers=other_ws.auth), 404, "not_found")
    # The other workspace's own record does not reach this note either.
    theirs = await contact(client, other_ws, "Zed")
    answer = await client.patch(
        f"{theirs}/{note['id']}", json={"body": "Hacked"}, headers=other_ws.auth
    )
    assert_error(answer, 404, "not_found")
    assert await notes(client, ws, url) == [note]
    assert await notes(client, other_ws, theirs) == []


async def test_note_kind_ignores_case(client: httpx.AsyncClient, ws: Workspace) -> None:
    contact = await client.post(
        "/api/v1/objects/contact/records", json={"fields": {"first_name": "K"}}, headers=ws.auth
    )
    url = f"/api/v1/objects/contact/records/{contact.json()['id']}/notes"
    answer = await client.post(url, json={"body": "Hi", "kind": "Call"}, headers=ws.auth)
    assert answer.status_code == 201
    assert answer.json()["kind"] == "call"
