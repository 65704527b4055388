"""Custom entities at /ce/{tableName}: the workspace's own object types."""

from __future__ import annotations

import httpx
import pytest

from tests.api.flexie.conftest import FX, fx_error, key, make_table, new
from tests.conftest import Workspace


@pytest.fixture
async def table(client: httpx.AsyncClient, ws: Workspace) -> str:
    status = {"choices": ["open", "won", "lost"]}
    await make_table(
        client,
        ws,
        "your_table",
        {"key": "status", "label": "Status", "type": "select", "options": status},
        {"key": "amount", "label": "Amount", "type": "currency"},
    )
    return "your_table"


async def test_document_examples(client: httpx.AsyncClient, ws: Workspace, table: str) -> None:
    made = await new(
        client, ws, f"ce/{table}", {"name": "Acme Renewal 2026", "status": "open", "amount": 4500}
    )
    assert (made["id"], made["name"], made["amount"]) == (1, "Acme Renewal 2026", 4500)
    update = {"name": "Acme Renewal 2026 (revised)", "status": "won", "amount": 5200}
    put = await client.put(f"{FX}/ce/{table}/1", json=update, headers=key(ws))
    assert put.json()["entity"]["status"] == "won"
    edit = await client.put(
        f"{FX}/ce/{table}/edit", json=update | {"amount": 5300}, headers=key(ws)
    )
    assert edit.json()["entity"]["amount"] == 5300
    listed = await client.get(f"{FX}/ce/{table}", headers=key(ws))
    assert listed.json()["total"] == 1
    assert listed.json()["entities"][0]["id"] == 1
    fields = await client.get(f"{FX}/ce/{table}/list/fields", headers=key(ws))
    assert [f["alias"] for f in fields.json()["fields"]] == ["name", "status", "amount"]
    assert (await client.delete(f"{FX}/ce/{table}/1", headers=key(ws))).status_code == 204


@pytest.mark.parametrize("name", ["nope", "contact", "company"])
async def test_unknown_or_standard_table(
    client: httpx.AsyncClient, ws: Workspace, name: str
) -> None:
    fx_error(await client.get(f"{FX}/ce/{name}", headers=key(ws)), 404)
    fx_error(await client.post(f"{FX}/ce/{name}/new", json={"name": "x"}, headers=key(ws)), 404)


async def test_another_workspaces_table(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, table: str
) -> None:
    fx_error(await client.get(f"{FX}/ce/{table}", headers=key(other_ws)), 404)
