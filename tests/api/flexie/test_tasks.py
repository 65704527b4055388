"""Tasks: create, read, update, delete, complete and reopen, categories, associations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flexie.conftest import FX, add_users, fx_error, key, new
from tests.conftest import Workspace

DOCUMENT_TASK = {
    "task": "Call the customer to confirm renewal terms",
    "owner_id": 3,
    "due_date": "2026-06-25 14:00",
    "association_type": "contact",
    "association_id": 47,
    "reminder_type": "email",
    "remind_minutes": 30,
}
DOCUMENT_UPDATE = {
    "task": "Call the customer to confirm renewal terms (rescheduled)",
    "due_date": "2026-06-26 10:00",
    "is_completed": False,
}


@pytest.fixture
async def staffed(client: httpx.AsyncClient, ws: Workspace) -> Workspace:
    """Users 1 to 3, and contacts 1 to 47 (the document's task names contact 47)."""
    await add_users(ws, 2)
    for i in range(47):
        await new(client, ws, "contacts", {"first_name": f"C{i}"})
    return ws


async def test_document_examples(client: httpx.AsyncClient, staffed: Workspace) -> None:
    made = await new(client, staffed, "tasks", DOCUMENT_TASK)
    assert made["id"] == 1
    assert made["due_date"] == "2026-06-25T14:00:00Z"
    assert (made["association_type"], made["association_id"], made["owner_id"]) == (
        "contact",
        47,
        3,
    )
    put = await client.put(f"{FX}/tasks/1", json=DOCUMENT_UPDATE, headers=key(staffed))
    assert put.status_code == 200, put.text
    assert put.json()["task"]["due_date"] == "2026-06-26T10:00:00Z"
    done = await client.post(f"{FX}/tasks/1/complete", headers=key(staffed))
    assert done.status_code == 200
    assert (done.json()["task"]["is_completed"], done.json()["task"]["completed_by"]) == (True, 1)
    assert done.json()["task"]["completed_at"] is not None
    again = await client.post(f"{FX}/tasks/1/complete", headers=key(staffed))
    assert again.json()["task"]["completed_at"] == done.json()["task"]["completed_at"]
    reopened = await client.post(f"{FX}/tasks/1/incomplete", headers=key(staffed))
    assert reopened.json()["task"]["is_completed"] is False
    assert reopened.json()["task"]["completed_by"] is None
    listed = await client.get(f"{FX}/tasks?search=renewal", headers=key(staffed))
    assert listed.json()["total"] == 1
    assert (await client.delete(f"{FX}/tasks/1", headers=key(staffed))).status_code == 204
    fx_error(await client.get(f"{FX}/tasks/1", headers=key(staffed)), 404)


async def test_categories(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{FX}/tasks/list/categories", headers=key(ws))
    assert "Call" in [c["value"] for c in answer.json()["categories"]]
    made = await new(client, ws, "tasks", {"task": "T", "category": "Meeting"})
    assert made["category"] == "Meeting"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "T", "association_type": "contact", "association_id": 99}, "association_id"),
        ({"task": "T", "association_type": "planet", "association_id": 1}, "association_type"),
        ({"task": "T", "association_id": 1}, "association_type"),
        ({"task": "T", "due_date": "tomorrow"}, "due_date"),
        ({"task": "T", "reminder_type": "pigeon"}, "reminder_type"),
        ({"due_date": "2026-06-25 14:00"}, "task"),
        ({"task": "T", "owner_id": 9}, "owner_id"),
    ],
)
async def test_bad_tasks(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    fx_error(await client.post(f"{FX}/tasks/new", json=body, headers=key(ws)), 400, field)


async def test_association_of_another_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await new(client, other_ws, "contacts", {"first_name": "Theirs"})
    body = {"task": "T", "association_type": "contact", "association_id": 1}
    fx_error(
        await client.post(f"{FX}/tasks/new", json=body, headers=key(ws)), 400, "association_id"
    )
    await new(client, ws, "tasks", {"task": "Mine"})
    fx_error(await client.post(f"{FX}/tasks/1/complete", headers=key(other_ws)), 404)


async def test_agent_may_not_complete_anothers_task(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await new(client, ws, "tasks", {"task": "Owners"})
    agent = await ws.add_key(role="agent", email="agent@acme.test")
    fx_error(await client.post(f"{FX}/tasks/1/complete", headers={"apikey": agent}), 404)
