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


async def test_docs_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text


async def test_openapi_for_a_workspace_has_its_objects(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await client.post(
        "/api/v1/objects",
        json={
            "key": "property",
            "label": "Property",
            "fields": [
                {
                    "key": "region",
                    "label": "Region",
                    "type": "select",
                    "options": {"choices": ["North", "South"]},
                    "required": True,
                }
            ],
        },
        headers=ws.auth,
    )
    generic = (await client.get("/openapi.json")).json()
    assert "PropertyFields" not in generic["components"]["schemas"]
    mine = (await client.get("/openapi.json", headers=ws.auth)).json()
    fields = mine["components"]["schemas"]["PropertyFields"]
    assert fields["properties"]["region"]["enum"] == ["North", "South"]
    changes = mine["components"]["schemas"]["PropertyChanges"]
    assert changes["properties"]["region"]["enum"] == ["North", "South", None]
    assert changes["required"] == []
    assert fields["required"] == ["region"]
    assert "post" in mine["paths"]["/api/v1/objects/property/records"]
    deal_stage = mine["components"]["schemas"]["DealFields"]["properties"]["stage"]
    assert deal_stage["enum"][:2] == ["Qualification", "Proposal"]
    denied = await client.get("/openapi.json", headers={"Authorization": "Bearer ak_nope"})
    assert denied.status_code == 401
