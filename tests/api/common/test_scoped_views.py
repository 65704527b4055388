"""A key's scopes limit what it sees alike on every face: a record's tags only with
``tag:list``, its events only with ``event:list``, whether the answer comes from a hot
route or the full path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from tests.api.flownally.conftest import FN, create_contact, create_tag, tag, uuid_of
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
