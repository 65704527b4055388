"""The server answers health, OpenAPI and authenticated reads."""

from __future__ import annotations

import httpx

from tests.conftest import Workspace


async def test_health_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    doc = (await client.get("/openapi.json")).json()
    assert "/api/v1/objects/{object}/records" in doc["paths"]


async def test_objects_need_a_key(client: httpx.AsyncClient, ws: Workspace) -> None:
    assert (await client.get("/api/v1/objects")).status_code == 401
    answer = await client.get("/api/v1/objects", headers=ws.auth)
    assert answer.status_code == 200
    keys = [o["key"] for o in answer.json()["data"]]
    assert keys[:6] == ["contact", "company", "lead", "deal", "case", "task"]
