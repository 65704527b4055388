"""A key's scopes and its role limit what it sees alike on every face, whether the answer
comes from a hot route or the full path: a record's tags only with ``tag:list``, its events
only with ``event:list``, and an agent only the records it owns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from tests.api.flexie.conftest import FX
from tests.api.flownally.conftest import FN, create_contact, create_tag, face_id, tag, uuid_of
from tests.api.leadflip.conftest import LF, make_entity, take_in
from tests.conftest import Workspace, bearer, suite_settings

API = "/api/v1"


@pytest.fixture
async def clients(
    client: httpx.AsyncClient, engine: AsyncEngine, database_url: str
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The suite's client (hot routes on) and one of a server with its hot routes off."""
    app = create_app(replace(suite_settings(database_url), hot_paths=False), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as slow:
        yield [client, slow]


def _json(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def _tagged_contact(client: httpx.AsyncClient, ws: Workspace) -> tuple[str, str, str]:
    """A Flownally contact tagged VIP: its Flownally id, its native id and the tag's id."""
    made = await create_contact(client, ws.auth, {"name": "Ana Lima", "phone": "+14155550100"})
    vip = await create_tag(client, ws.auth, "VIP")
    await tag(client, ws.auth, made["id"], vip)
    return made["id"], uuid_of(made["id"]), vip


@pytest.mark.parametrize(("scopes", "sees"), [(["contact:read"], False), (["read:crm"], True)])
async def test_a_contacts_tags_show_only_to_a_key_that_may_list_tags(
    clients: list[httpx.AsyncClient], ws: Workspace, scopes: list[str], sees: bool
) -> None:
    face_id, native_id, vip = await _tagged_contact(clients[0], ws)
    key = bearer(await ws.add_key(scopes=[*scopes, "contact:list"]))
    for client in clients:
        one = _json(await client.get(f"{FN}/contacts/{face_id}", headers=key))
        assert one["tagIds"] == ([vip] if sees else [])
        assert [i["channel"] for i in one["identities"]] == ["whatsapp"]
        page = _json(await client.get(f"{FN}/contacts", headers=key))
        assert [c["tagIds"] for c in page["contacts"]] == [[vip] if sees else []]
        native = await client.get(f"{API}/objects/contact/records/{native_id}/tags", headers=key)
        if sees:
            assert [t["name"] for t in _json(native)["data"]] == ["VIP"]
        else:
            assert _json(native, 403)["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("scopes", "sees"), [(["solar_lead:read"], False), (["solar_lead:read", "event:list"], True)]
)
async def test_a_leads_events_show_only_to_a_key_that_may_list_events(
    clients: list[httpx.AsyncClient], ws: Workspace, scopes: list[str], sees: bool
) -> None:
    await make_entity(clients[0], ws)
    made = await take_in(clients[0], ws.auth, {"entity": "solar_lead", "lead_name": "Jane Doe"})
    lead_id = made["lead_id"]
    key = bearer(await ws.add_key(scopes=scopes))
    timeline = f"{API}/objects/solar_lead/records/{lead_id}/timeline"
    for client in clients:
        lead = _json(await client.get(f"{LF}/leads/{lead_id}", headers=key))
        native = await client.get(timeline, headers=key)
        if sees:
            assert [e["type"] for e in lead["events"]] == ["lead_created_event"]
            assert [e["type"] for e in _json(native)["data"]] == ["record.created"]
        else:
            assert lead["events"] == []
            assert _json(native, 403)["error"]["code"] == "permission_denied"


async def test_an_agent_sees_only_its_own_contacts_on_every_face(
    clients: list[httpx.AsyncClient], ws: Workspace
) -> None:
    native = f"{API}/objects/contact/records"
    theirs = _json(
        await clients[0].post(native, json={"fields": {"first_name": "Theirs"}}, headers=ws.auth),
        201,
    )["id"]
    agent = bearer(await ws.add_key(role="agent", email="agent@x.io"))
    mine = _json(
        await clients[0].post(native, json={"fields": {"first_name": "Mine"}}, headers=agent), 201
    )["id"]
    numbers = {theirs: 1, mine: 2}
    for client in clients:
        for headers, sees in ((agent, [mine]), (ws.auth, [mine, theirs])):
            listed = _json(await client.get(native, headers=headers))["data"]
            assert sorted(r["id"] for r in listed) == sorted(sees)
            contacts = _json(await client.get(f"{FN}/contacts", headers=headers))["contacts"]
            assert sorted(c["id"] for c in contacts) == sorted(face_id("con", r) for r in sees)
            flexie = _json(await client.get(f"{FX}/contacts", headers=headers))
            assert sorted(c["id"] for c in flexie["contacts"]) == sorted(numbers[r] for r in sees)
            assert flexie["total"] == len(sees)
            for record in (mine, theirs):
                found = [
                    await client.get(f"{native}/{record}", headers=headers),
                    await client.get(f"{FN}/contacts/{face_id('con', record)}", headers=headers),
                    await client.get(f"{LF}/leads/{record}", headers=headers),
                    await client.get(f"{FX}/contacts/{numbers[record]}", headers=headers),
                ]
                texts = [a.text for a in found]
                if record in sees:
                    assert [a.status_code for a in found] == [200] * 4, texts
                else:
                    assert [a.status_code for a in found] == [404] * 4, texts
                    assert "Theirs" not in str(texts)
