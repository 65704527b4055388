"""A case's replies, by id and by identifier, with text or from a reply template."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import FX, fx_error, key, new
from tests.conftest import Workspace

DOCUMENT_REPLY = {
    "text": "Thanks for reaching out. We have reset your account, so you should be able to "
    "log in now."
}


async def template(client: httpx.AsyncClient, ws: Workspace, body: str) -> Any:
    made = await client.post(
        "/api/v1/reply-templates", json={"name": "T", "body": body}, headers=ws.auth
    )
    assert made.status_code == 201, made.text
    return made.json()


@pytest.fixture
async def case(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    await new(client, ws, "contacts", {"first_name": "Dana"})
    made = await new(client, ws, "cases", {"title": "Login fails", "contact": 1})
    assert made["identifier"] == "REF-1001"
    return ws


async def test_reply_and_read_back(client: httpx.AsyncClient, case: Workspace) -> None:
    made = await client.post(f"{FX}/cases/1/replies", json=DOCUMENT_REPLY, headers=key(case))
    assert made.status_code == 201, made.text
    shown = made.json()["reply"]
    assert shown["text"] == DOCUMENT_REPLY["text"]
    assert (shown["caseId"], shown["identifier"], shown["fromTemplate"]) == (1, "REF-1001", False)
    assert shown["owner"]["id"] == 1
    listed = await client.get(f"{FX}/cases/1/replies", headers=key(case))
    assert listed.json()["total"] == 1
    assert listed.json()["replies"] == [shown]
    by_ref = await client.get(f"{FX}/cases/replies/REF-1001", headers=key(case))
    assert by_ref.json() == listed.json()


async def test_document_template_reply(client: httpx.AsyncClient, case: Workspace) -> None:
    for body in ("one", "two", "Hi {{contact.first_name}}, about {{case.identifier}}: fixed."):
        await template(client, case, body)
    made = await client.post(
        f"{FX}/cases/replies/REF-1042", json={"template_id": 3}, headers=key(case)
    )
    fx_error(made, 404)
    await client.put(f"{FX}/cases/1", json={"identifier": "REF-1042"}, headers=key(case))
    made = await client.post(
        f"{FX}/cases/replies/REF-1042", json={"template_id": 3}, headers=key(case)
    )
    assert made.status_code == 201, made.text
    assert made.json()["reply"]["text"] == "Hi Dana, about REF-1042: fixed."
    assert made.json()["reply"]["fromTemplate"] is True


async def test_paging(client: httpx.AsyncClient, case: Workspace) -> None:
    for i in range(3):
        await client.post(f"{FX}/cases/1/replies", json={"text": f"r{i}"}, headers=key(case))
    page = await client.get(f"{FX}/cases/1/replies?start=1&limit=1", headers=key(case))
    assert [r["text"] for r in page.json()["replies"]] == ["r1"]
    assert page.json()["total"] == 3
    fx_error(await client.get(f"{FX}/cases/1/replies?limit=0", headers=key(case)), 400, "limit")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x", "template_id": 1}, "template_id"),
        ({"template_id": 99}, "template_id"),
        ({"template_id": "abc"}, "template_id"),
        ({"text": "x", "cc": "y"}, "cc"),
    ],
)
async def test_bad_replies(
    client: httpx.AsyncClient, case: Workspace, body: dict[str, Any], field: str
) -> None:
    await template(client, case, "T")
    fx_error(await client.post(f"{FX}/cases/1/replies", json=body, headers=key(case)), 400, field)
    assert (await client.get(f"{FX}/cases/1/replies", headers=key(case))).json()["total"] == 0


async def test_another_workspaces_template_and_case(
    client: httpx.AsyncClient, case: Workspace, other_ws: Workspace
) -> None:
    await template(client, other_ws, "theirs")
    answer = await client.post(f"{FX}/cases/1/replies", json={"template_id": 1}, headers=key(case))
    fx_error(answer, 400, "template_id")
    fx_error(await client.get(f"{FX}/cases/1/replies", headers=key(other_ws)), 404)
    fx_error(await client.get(f"{FX}/cases/replies/REF-1001", headers=key(other_ws)), 404)


async def test_not_a_case(client: httpx.AsyncClient, case: Workspace) -> None:
    fx_error(await client.get(f"{FX}/cases/2/replies", headers=key(case)), 404)
    fx_error(await client.get(f"{FX}/cases/replies/REF-9999", headers=key(case)), 404)


async def test_agent_may_not_reply_to_anothers_case(
    client: httpx.AsyncClient, case: Workspace
) -> None:
    agent = await case.add_key(role="agent", email="agent@acme.test")
    answer = await client.post(
        f"{FX}/cases/1/replies", json={"text": "x"}, headers={"apikey": agent}
    )
    fx_error(answer, 404)
