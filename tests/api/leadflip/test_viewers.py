"""``viewers`` on intake: users a lead is shared with can read it on every face, not change it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.leadflip.conftest import (
    API,
    LF,
    Entity,
    count,
    errors_of,
    get_lead,
    lf_error,
    ok,
    take_in,
    user_id,
)
from tests.conftest import Workspace, bearer


async def viewers_of(client: httpx.AsyncClient, ws: Workspace, lead_id: str) -> list[str]:
    found = ok(
        await client.get(f"{API}/objects/solar_lead/records/{lead_id}/viewers", headers=ws.auth)
    )
    return sorted(u["email"] for u in found["data"])


async def test_a_shared_lead_is_readable_by_an_agent_on_both_faces(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    sam = bearer(await ws.add_key(role="agent", email="sam@acme.com"))
    shared = await take_in(
        client,
        ws.auth,
        {"entity": "solar_lead", "lead_name": "Shared", "viewers": "sam@acme.com"},
    )
    hidden = await take_in(client, ws.auth, {"entity": "solar_lead", "lead_name": "Hidden"})
    assert shared["unmapped"] == []
    assert await viewers_of(client, ws, shared["lead_id"]) == ["sam@acme.com"]
    assert await viewers_of(client, ws, hidden["lead_id"]) == []

    found = await get_lead(client, sam, shared["lead_id"])
    assert (found["lead_id"], found["fields"]) == (shared["lead_id"], {"lead_name": "Shared"})
    record = ok(await client.get(f"{solar.records}/{shared['lead_id']}", headers=sam))
    assert record["fields"]["lead_name"] == "Shared"
    listed = ok(await client.get(solar.records, headers=sam))["data"]
    assert [r["id"] for r in listed] == [shared["lead_id"]]

    # A lead not shared with the agent does not exist for them.
    answer = await client.get(f"{LF}/leads/{hidden['lead_id']}", headers=sam)
    lf_error(answer, 404, "Lead not found")
    answer = await client.get(f"{solar.records}/{hidden['lead_id']}", headers=sam)
    assert answer.status_code == 404


async def test_sharing_does_not_let_a_viewer_change_the_lead(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    sam = bearer(await ws.add_key(role="agent", email="sam@acme.com"))
    lead_id = (
        await take_in(
            client,
            ws.auth,
            {
                "entity": "solar_lead",
                "lead_name": "Shared",
                "status:stage": "New",
                "viewers": ["sam@acme.com"],
            },
        )
    )["lead_id"]
    answer = await client.patch(
        f"{LF}/leads/{lead_id}", json={"fields": {"company": "Mine now"}}, headers=sam
    )
    lf_error(answer, 403)
    answer = await client.patch(
        f"{LF}/leads/{lead_id}/status", json={"status_step": "Qualified"}, headers=sam
    )
    lf_error(answer, 403)
    answer = await client.patch(
        f"{solar.records}/{lead_id}", json={"fields": {"company": "Mine now"}}, headers=sam
    )
    assert answer.status_code == 403
    found = await get_lead(client, ws.auth, lead_id)
    assert found["fields"] == {"lead_name": "Shared", "stage": "New"}


async def test_viewers_by_email_or_uuid_one_or_a_list(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await ws.add_key(role="agent", email="sam@acme.com")
    await ws.add_key(role="agent", email="kim@acme.com")
    sam = await user_id(client, ws, "sam@acme.com")
    kim = await user_id(client, ws, "kim@acme.com")
    cases: list[tuple[Any, list[str]]] = [
        (sam, ["sam@acme.com"]),
        ([sam, "kim@acme.com"], ["kim@acme.com", "sam@acme.com"]),
        (["sam@acme.com", sam, kim], ["kim@acme.com", "sam@acme.com"]),
        ([], []),
    ]
    for viewers, expected in cases:
        answer = await take_in(
            client, ws.auth, {"entity": "solar_lead", "lead_name": "V", "viewers": viewers}
        )
        assert await viewers_of(client, ws, answer["lead_id"]) == expected, viewers


@pytest.mark.parametrize(
    "body",
    [
        "entity=solar_lead&lead_name=Form&viewers[]=sam%40acme.com&viewers[]=kim%40acme.com",
        "entity=solar_lead&lead_name=Form&viewers=sam%40acme.com&viewers=kim%40acme.com",
    ],
    ids=["brackets", "repeated"],
)
async def test_viewers_from_a_form(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity, body: str
) -> None:
    kim = bearer(await ws.add_key(role="agent", email="kim@acme.com"))
    await ws.add_key(role="agent", email="sam@acme.com")
    answer = ok(
        await client.post(
            f"{LF}/intake",
            content=body.encode(),
            headers={**ws.auth, "Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    assert answer["unmapped"] == []
    assert await viewers_of(client, ws, answer["lead_id"]) == ["kim@acme.com", "sam@acme.com"]
    assert (await get_lead(client, kim, answer["lead_id"]))["fields"] == {"lead_name": "Form"}


async def test_one_bracketed_form_viewer(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await ws.add_key(role="agent", email="sam@acme.com")
    answer = ok(
        await client.post(
            f"{LF}/intake",
            data={"entity": "solar_lead", "lead_name": "Form", "viewers[]": "sam@acme.com"},
            headers=ws.auth,
        )
    )
    assert await viewers_of(client, ws, answer["lead_id"]) == ["sam@acme.com"]


async def test_unknown_viewers_are_422(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    await other_ws.add_key(role="agent", email="olga@globex.com")
    olga = await user_id(client, other_ws, "olga@globex.com")
    for viewers in ("nobody@acme.com", ["owner@example.com", olga], 5, [5], {"id": "x"}):
        answer = await client.post(
            f"{LF}/intake",
            json={"entity": "solar_lead", "lead_name": "V", "viewers": viewers},
            headers=ws.auth,
        )
        assert list(errors_of(answer)) == ["viewers"], viewers
    assert await count(client, ws, "solar_lead") == 0
