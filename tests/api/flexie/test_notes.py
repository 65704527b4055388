"""Notes on records: create, read, change, delete, and a record's notes."""

from __future__ import annotations

import httpx
import pytest

from tests.api.flexie.conftest import FX, fx_error, key, new
from tests.conftest import Workspace

DOCUMENT_NOTE = {
    "text": "Discussed renewal terms and next steps with the customer.",
    "type": "call",
    "datetime": "2026-06-23T14:00:00+00:00",
}
DOCUMENT_UPDATE = {
    "text": "Updated: renewal confirmed, contract sent for signature.",
    "type": "meeting",
}


async def test_document_examples(client: httpx.AsyncClient, ws: Workspace) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    made = await client.post(f"{FX}/notes/contact/1", json=DOCUMENT_NOTE, headers=key(ws))
    assert made.status_code == 201, made.text
    shown = made.json()["note"]
    assert (shown["id"], shown["text"], shown["type"]) == (1, DOCUMENT_NOTE["text"], "call")
    assert shown["datetime"] == "2026-06-23T14:00:00Z"
    assert (shown["entityType"], shown["entityId"], shown["owner_id"]) == ("contact", 1, 1)
    got = await client.get(f"{FX}/notes/1", headers=key(ws))
    assert got.json()["note"] == shown
    put = await client.put(f"{FX}/notes/1", json=DOCUMENT_UPDATE, headers=key(ws))
    assert put.status_code == 200, put.text
    assert (put.json()["note"]["text"], put.json()["note"]["type"]) == (
        DOCUMENT_UPDATE["text"],
        "meeting",
    )
    listed = await client.get(f"{FX}/contacts/1/notes", headers=key(ws))
    assert [n["id"] for n in listed.json()["notes"]] == [1]
    assert (await client.delete(f"{FX}/notes/1", headers=key(ws))).status_code == 204
    fx_error(await client.get(f"{FX}/notes/1", headers=key(ws)), 404)
    assert (await client.get(f"{FX}/contacts/1/notes", headers=key(ws))).json()["total"] == 0


@pytest.mark.parametrize("entity", ["account", "deal", "case", "lead"])
async def test_notes_on_every_type(client: httpx.AsyncClient, ws: Workspace, entity: str) -> None:
    path = {"account": "accounts", "deal": "deals", "case": "cases", "lead": "leads"}[entity]
    body = {"name": "N"} if entity in ("account", "deal") else {"title": "T"}
    await new(client, ws, path, body if entity != "lead" else {"first_name": "L"})
    made = await client.post(f"{FX}/notes/{entity}/1", json={"text": "hi"}, headers=key(ws))
    assert made.status_code == 201, made.text
    assert made.json()["note"]["type"] == "note"
    listed = await client.get(f"{FX}/{path}/1/notes", headers=key(ws))
    assert listed.json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x", "type": "telegram"}, "type"),
        ({"text": "x", "datetime": "soon"}, "datetime"),
        ({"text": "x", "mood": "good"}, "mood"),
        ({}, "text"),
    ],
)
async def test_bad_notes(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, str], field: str
) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    fx_error(await client.post(f"{FX}/notes/contact/1", json=body, headers=key(ws)), 400, field)


@pytest.mark.parametrize("path", ["notes/contact/2", "notes/planet/1", "notes/contact/x"])
async def test_notes_on_nothing(client: httpx.AsyncClient, ws: Workspace, path: str) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    fx_error(await client.post(f"{FX}/{path}", json={"text": "x"}, headers=key(ws)), 404)


async def test_other_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    await client.post(f"{FX}/notes/contact/1", json={"text": "mine"}, headers=key(ws))
    fx_error(await client.get(f"{FX}/notes/1", headers=key(other_ws)), 404)
    fx_error(await client.put(f"{FX}/notes/1", json={"text": "x"}, headers=key(other_ws)), 404)
    fx_error(await client.delete(f"{FX}/notes/1", headers=key(other_ws)), 404)
