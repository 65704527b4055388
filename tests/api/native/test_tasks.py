"""Completing and reopening tasks, and their categories, through the native API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
TASKS = f"{API}/objects/task/records"
CATEGORIES = f"{API}/task-categories"
AGENT = "agent@acme.io"
STANDARD_CATEGORIES = ["Call", "Email", "Meeting", "To-do", "Follow-up", "Other"]


async def create(
    client: httpx.AsyncClient, auth: dict[str, str], fields: dict[str, Any], url: str = TASKS
) -> dict[str, Any]:
    answer = await client.post(url, json={"fields": fields}, headers=auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def act(
    client: httpx.AsyncClient, auth: dict[str, str], task: dict[str, Any], verb: str
) -> dict[str, Any]:
    answer = await client.post(f"{TASKS}/{task['id']}/{verb}", headers=auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def updates(
    client: httpx.AsyncClient, auth: dict[str, str], task: dict[str, Any]
) -> list[dict[str, Any]]:
    """The task's ``record.updated`` events, oldest first."""
    answer = await client.get(f"{TASKS}/{task['id']}/timeline", headers=auth)
    assert answer.status_code == 200, answer.text
    return [e for e in reversed(answer.json()["data"]) if e["type"] == "record.updated"]


async def me(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    return str((await client.get(f"{API}/me", headers=auth)).json()["user"]["id"])


async def test_complete_and_reopen_a_task(client: httpx.AsyncClient, ws: Workspace) -> None:
    task = await create(client, ws.auth, {"task": "Call Ada", "category": "call"})
    assert task["fields"]["category"] == "Call"
    assert task["fields"]["is_completed"] is False
    assert task["fields"]["completed_by"] is None
    before = datetime.now(UTC).replace(microsecond=0)

    done = await act(client, ws.auth, task, "complete")
    fields = done["fields"]
    assert fields["is_completed"] is True
    assert fields["completed_by"] == await me(client, ws.auth)
    completed_at = datetime.fromisoformat(fields["completed_at"].replace("Z", "+00:00"))
    assert before <= completed_at <= datetime.now(UTC)
    assert (await client.get(f"{TASKS}/{task['id']}", headers=ws.auth)).json() == done
    (event,) = await updates(client, ws.auth, task)
    assert event["changes"] == {
        "completed_at": [None, fields["completed_at"]],
        "completed_by": [None, fields["completed_by"]],
        "is_completed": [False, True],
    }

    reopened = await act(client, ws.auth, task, "reopen")
    assert reopened["fields"] == {
        **fields,
        "is_completed": False,
        "completed_at": None,
        "completed_by": None,
    }
    assert len(await updates(client, ws.auth, task)) == 2


async def test_completing_twice_answers_the_task_as_it_is(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    task = await create(client, ws.auth, {"task": "Once"})
    done = await act(client, ws.auth, task, "complete")
    assert await act(client, ws.auth, task, "complete") == done
    assert len(await updates(client, ws.auth, task)) == 1
    reopened = await act(client, ws.auth, task, "reopen")
    assert await act(client, ws.auth, task, "reopen") == reopened
    assert len(await updates(client, ws.auth, task)) == 2
    fresh = await create(client, ws.auth, {"task": "Never done"})
    assert await act(client, ws.auth, fresh, "reopen") == fresh
    assert await updates(client, ws.auth, fresh) == []


async def test_a_task_created_completed_is_not_completed_again(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    task = await create(
        client,
        ws.auth,
        {"task": "Imported", "is_completed": True, "completed_at": "2024-01-02T03:04:05Z"},
    )
    assert await act(client, ws.auth, task, "complete") == task


@pytest.mark.parametrize("verb", ["complete", "reopen"])
async def test_only_tasks_can_be_completed(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, verb: str
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"}, f"{API}/objects/contact/records")
    theirs = await create(client, other_ws.auth, {"task": "Theirs"})
    for ref in (ada["id"], theirs["id"], "nope", "0190a1b2-0000-7000-8000-000000000000"):
        answer = await client.post(f"{TASKS}/{ref}/{verb}", headers=ws.auth)
        assert_error(answer, 404, "not_found")
    answer = await client.post(f"{API}/objects/contact/records/{ada['id']}/{verb}", headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert (await client.get(f"{TASKS}/{theirs['id']}", headers=other_ws.auth)).json() == theirs


async def test_an_agent_completes_only_tasks_it_may_edit(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = bearer(await ws.add_key(role="agent", email=AGENT))
    mine = await create(client, agent, {"task": "Agent's"})
    assert (await act(client, agent, mine, "complete"))["fields"]["completed_by"] == await me(
        client, agent
    )
    theirs = await create(client, ws.auth, {"task": "Owner's"})
    assert_error(
        await client.post(f"{TASKS}/{theirs['id']}/complete", headers=agent), 404, "not_found"
    )
    shared = await client.post(
        f"{TASKS}/{theirs['id']}/viewers", json={"users": [AGENT]}, headers=ws.auth
    )
    assert shared.status_code == 200, shared.text
    for verb in ("complete", "reopen"):
        answer = await client.post(f"{TASKS}/{theirs['id']}/{verb}", headers=agent)
        assert_error(answer, 403, "permission_denied")
    assert (await client.get(f"{TASKS}/{theirs['id']}", headers=ws.auth)).json() == theirs


async def test_completing_needs_the_task_update_scope(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    task = await create(client, ws.auth, {"task": "Scoped"})
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    assert_error(
        await client.post(f"{TASKS}/{task['id']}/complete", headers=reader),
        403,
        "permission_denied",
    )
    writer = bearer(await ws.add_key(scopes=["task:read", "task:update"]))
    assert (await act(client, writer, task, "complete"))["fields"]["is_completed"] is True
    assert_error(await client.post(f"{TASKS}/{task['id']}/reopen"), 401, "unauthenticated")


async def test_the_task_categories(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(CATEGORIES, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": [{"value": c, "label": c} for c in STANDARD_CATEGORIES]}
    answer = await client.post(
        TASKS, json={"fields": {"task": "x", "category": "Lunch"}}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["category"]


async def test_a_workspace_sees_its_own_categories(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    choices = ["Call", {"value": "Demo", "label": "Product demo"}]
    answer = await client.patch(
        f"{API}/objects/task/fields/category",
        json={"options": {"choices": choices}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    assert (await client.get(CATEGORIES, headers=ws.auth)).json()["data"] == [
        {"value": "Call", "label": "Call"},
        {"value": "Demo", "label": "Product demo"},
    ]
    assert len((await client.get(CATEGORIES, headers=other_ws.auth)).json()["data"]) == 6
    task = await create(client, ws.auth, {"task": "Show it", "category": "product demo"})
    assert task["fields"]["category"] == "Demo"


async def test_the_categories_need_the_task_read_scope(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    other = bearer(await ws.add_key(scopes=["contact:read"]))
    assert_error(await client.get(CATEGORIES, headers=other), 403, "permission_denied")
    reader = bearer(await ws.add_key(scopes=["task:read"]))
    assert len((await client.get(CATEGORIES, headers=reader)).json()["data"]) == 6
    assert_error(await client.get(CATEGORIES), 401, "unauthenticated")
