"""What the Flexie face's tests share: its base, its key header, and its error shape."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Workspace

FX = "/flexie/api"
#: The document's filtered list request, as it is written: every group takes it.
DOCUMENT_FILTER = {
    "filters": [
        {
            "type": "text",
            "alias": "email",
            "value": {"operator": "like", "input": "acme.com"},
            "strict": False,
            "starts": False,
            "ends": False,
        }
    ],
    "start": 0,
    "limit": 30,
    "orderBy": "date_modified",
    "orderByDir": "DESC",
}


def flt(alias: str, operator: str, given: Any = None, **flags: bool) -> dict[str, Any]:
    """A filtered list's body with one filter."""
    return {
        "filters": [
            {
                "type": "text",
                "alias": alias,
                "value": {"operator": operator, "input": given},
                **flags,
            }
        ]
    }


def key(ws: Workspace) -> dict[str, str]:
    return {"apikey": ws.key}


def fx_error(answer: httpx.Response, status: int, field: str | None = None) -> list[dict[str, Any]]:
    """A Flexie error answer with this status (and an item naming ``field``); its items."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    items = answer.json()["errors"]
    assert items
    assert all(i["code"] == status and i["message"] and i["type"] for i in items)
    if field is not None:
        assert field in [i.get("field") for i in items], items
    return list(items)


async def new(client: httpx.AsyncClient, ws: Workspace, path: str, body: dict[str, Any]) -> Any:
    """Create through ``POST {path}/new``; the created record."""
    answer = await client.post(f"{FX}/{path}/new", json=body, headers=key(ws))
    assert answer.status_code == 201, answer.text
    (shown,) = answer.json().values()
    return shown


async def add_users(ws: Workspace, count: int) -> None:
    """Give the workspace ``count`` more users, numbered after its owner."""
    for i in range(count):
        await ws.add_key(role="agent", email=f"user{i}@acme.test")


async def make_table(
    client: httpx.AsyncClient, ws: Workspace, table: str, *extra: dict[str, Any]
) -> None:
    """A custom object type keyed ``table`` with a text ``name`` and the ``extra`` fields,
    made through the native API."""
    fields = [{"key": "name", "label": "Name", "type": "text"}, *extra]
    made = await client.post(
        "/api/v1/objects",
        json={"key": table, "label": table.title(), "fields": fields, "display_fields": ["name"]},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
