"""Every Flexie operation that reads a body answers a 400 in Flexie's shape to a body it
cannot read, and writes nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.flexie.conftest import FX, fx_error, key, make_table, new
from tests.conftest import Workspace

#: What each path parameter is filled with: things the fixture makes.
FILLED = {"id": "1", "entityId": "1", "tableName": "renewal", "entityType": "contact"}
BODIES = [b"{", b"[1, 2]", b'"text"', b"12", b"\xff\xfe"]


@pytest.fixture
async def stocked(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    await make_table(client, ws, "renewal")
    for path, body in (
        ("contacts", {"first_name": "A"}),
        ("cases", {"title": "T"}),
        ("tasks", {"task": "T"}),
        ("ce/renewal", {"name": "R"}),
    ):
        await new(client, ws, path, body)
    await client.post(f"{FX}/notes/contact/1", json={"text": "n"}, headers=key(ws))
    return ws


async def test_unreadable_bodies(client: httpx.AsyncClient, stocked: Workspace) -> None:
    doc = (await client.get(f"{FX}/openapi.json")).json()
    tried = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            url = FX + re.sub(r"\{(\w+)\}", lambda m: FILLED.get(m.group(1), "REF-1001"), path)
            for body in BODIES:
                headers = {**key(stocked), "content-type": "application/json"}
                answer = await client.request(method, url, content=body, headers=headers)
                fx_error(answer, 400)
                tried += 1
    assert tried >= 20 * len(BODIES)
    events = await client.get("/api/v1/events?limit=500", headers=stocked.auth)
    written = [e["type"] for e in events.json()["data"]]
    assert written.count("record.updated") == 0
    assert written.count("case.replied") == 0
