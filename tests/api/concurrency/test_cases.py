"""Concurrent writes of case replies, reply templates and task completions."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.concurrency.conftest import API, CLIENTS, at_once, feed, statuses
from tests.conftest import Workspace

TEMPLATES = f"{API}/reply-templates"


async def _made(client: httpx.AsyncClient, auth: dict[str, str], url: str, body: Any) -> Any:
    answer = await client.post(url, json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_parallel_templates_get_one_number_each(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answers = await at_once(
        CLIENTS,
        lambda i: client.post(TEMPLATES, json={"name": f"T{i}", "body": "x"}, headers=auth),
    )
    assert statuses(answers) == {201: CLIENTS}
    assert sorted(a.json()["number"] for a in answers) == list(range(1, CLIENTS + 1))


async def test_parallel_replies_while_their_template_is_deleted_never_fail(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    case = await _made(client, auth, f"{API}/objects/case/records", {"fields": {"title": "T"}})
    made = await _made(client, auth, TEMPLATES, {"name": "T", "body": "On {{case.title}}"})
    replies = f"{API}/objects/case/records/{case['id']}/replies"

    def send(i: int) -> Any:
        if i == CLIENTS // 2:
            return client.delete(f"{TEMPLATES}/{made['id']}", headers=auth)
        return client.post(replies, json={"template_id": made["id"]}, headers=auth)

    answers = await at_once(CLIENTS, send)
    added = sum(a.status_code == 201 for a in answers)
    assert statuses(answers) == {201: added, 422: CLIENTS - 1 - added, 204: 1}
    listed = (await client.get(replies, headers=auth)).json()["data"]
    assert len(listed) == added
    assert {r["body"] for r in listed} <= {"On T"}
    assert {r["template_id"] for r in listed} <= {None}
    assert len(await feed(client, auth, "case.replied")) == added


async def test_parallel_completions_of_a_task_complete_it_once(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    task = await _made(client, auth, f"{API}/objects/task/records", {"fields": {"task": "T"}})
    url = f"{API}/objects/task/records/{task['id']}/complete"
    answers = await at_once(CLIENTS, lambda i: client.post(url, headers=auth))
    assert statuses(answers) == {200: CLIENTS}
    assert len({a.json()["fields"]["completed_at"] for a in answers}) == 1
    assert len(await feed(client, auth, "record.updated")) == 1
