"""Task reminders: raised once per task and due moment, by the worker, on the task's
timeline; again when the due date moves; never for completed, deleted or archived tasks,
before their time, or long after the task was due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.metadata.fieldtypes import format_datetime
from crm.core.tasks.reminders import raise_due_reminders
from crm.worker.loop import run
from tests.conftest import Workspace

TASKS = "/api/v1/objects/task/records"


def stamp(at: datetime) -> str:
    return format_datetime(at)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def task(
    client: httpx.AsyncClient, ws: Workspace, due: datetime | None, minutes: Any = 60, **more: Any
) -> dict[str, Any]:
    fields = {"task": "Call Ada", "reminder_type": "popup", "remind_minutes": minutes, **more}
    if due is not None:
        fields["due_date"] = stamp(due)
    answer = await client.post(TASKS, json={"fields": fields}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def reminders(
    client: httpx.AsyncClient, ws: Workspace, made: dict[str, Any]
) -> list[dict[str, Any]]:
    """The task's ``task.reminder_due`` events, oldest first (its timeline reads deleted
    tasks too, through the events feed)."""
    answer = await client.get("/api/v1/events", params={"limit": 1000}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [
        e
        for e in answer.json()["data"]
        if e["type"] == "task.reminder_due" and e["record_id"] == made["id"]
    ]


async def patch(
    client: httpx.AsyncClient, ws: Workspace, made: dict[str, Any], **fields: Any
) -> None:
    answer = await client.patch(f"{TASKS}/{made['id']}", json={"fields": fields}, headers=ws.auth)
    assert answer.status_code == 200, answer.text


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_due_reminder_is_raised_once(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = await task(client, ws, now() + timedelta(minutes=30), 60)
    owner = (await client.get("/api/v1/me", headers=ws.auth)).json()["user"]["id"]
    await raise_due_reminders(engine)
    (event,) = await reminders(client, ws, made)
    due = made["fields"]["due_date"]
    assert event["actor_id"] is None
    assert event["object"] == "task"
    assert event["data"] == {
        "record": made["id"],
        "object": "task",
        "name": "Call Ada",
        "owner": owner,
        "due_date": due,
        "remind_at": stamp(moment(due) - timedelta(minutes=60)),
        "reminder_type": "popup",
    }
    timeline = await client.get(f"{TASKS}/{made['id']}/timeline", headers=ws.auth)
    assert [e["id"] for e in timeline.json()["data"] if e["type"] == "task.reminder_due"] == [
        event["id"]
    ]
    await raise_due_reminders(engine)
    await raise_due_reminders(engine, now=now() + timedelta(minutes=40))
    assert await reminders(client, ws, made) == [event]


async def test_moving_the_due_date_raises_it_again(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    first_due = now() + timedelta(minutes=30)
    made = await task(client, ws, first_due, 60)
    await raise_due_reminders(engine)
    second_due = first_due + timedelta(minutes=10)
    await patch(client, ws, made, due_date=stamp(second_due))
    await raise_due_reminders(engine)
    # Back to a moment it was raised for: not again.
    await patch(client, ws, made, due_date=stamp(first_due))
    await raise_due_reminders(engine)
    raised = await reminders(client, ws, made)
    assert [e["data"]["due_date"] for e in raised] == [stamp(first_due), stamp(second_due)]
    # Fewer minutes before the same due date is another moment too.
    await patch(client, ws, made, remind_minutes=45)
    await raise_due_reminders(engine)
    assert [e["data"]["remind_at"] for e in (await reminders(client, ws, made))[2:]] == [
        stamp(moment(stamp(first_due)) - timedelta(minutes=45))
    ]


async def test_no_reminder_before_its_time(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    due = moment(stamp(now() + timedelta(hours=2)))
    made = await task(client, ws, due, 60)
    await raise_due_reminders(engine)
    await raise_due_reminders(engine, now=due - timedelta(minutes=60, seconds=1))
    assert await reminders(client, ws, made) == []
    await raise_due_reminders(engine, now=due - timedelta(minutes=60))
    (event,) = await reminders(client, ws, made)
    assert event["data"]["remind_at"] == stamp(due - timedelta(minutes=60))


async def test_completed_deleted_archived_and_silent_tasks_raise_nothing(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    due = now() + timedelta(minutes=10)
    completed = await task(client, ws, due)
    answer = await client.post(f"{TASKS}/{completed['id']}/complete", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    deleted = await task(client, ws, due)
    assert (await client.delete(f"{TASKS}/{deleted['id']}", headers=ws.auth)).status_code == 204
    archived = await task(client, ws, due)
    answer = await client.post(f"{TASKS}/{archived['id']}/archive", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    silent = await task(client, ws, due, reminder_type="none")
    untyped = await task(client, ws, due, reminder_type=None)
    timeless = await task(client, ws, None)
    unminded = await task(client, ws, due, None)
    emailed = await task(client, ws, due, reminder_type="email")
    await raise_due_reminders(engine)
    for quiet in (completed, deleted, archived, silent, untyped, timeless, unminded):
        assert await reminders(client, ws, quiet) == []
    (event,) = await reminders(client, ws, emailed)
    assert event["data"]["reminder_type"] == "email"

    # Reopened, unarchived or restored, a task whose moment passed is due again.
    await client.post(f"{TASKS}/{completed['id']}/reopen", headers=ws.auth)
    await client.post(f"{TASKS}/{archived['id']}/unarchive", headers=ws.auth)
    await client.post(f"{TASKS}/{deleted['id']}/restore", headers=ws.auth)
    await raise_due_reminders(engine)
    for back in (completed, archived, deleted):
        assert len(await reminders(client, ws, back)) == 1


async def test_remind_minutes_are_taken_between_0_and_a_week(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    in_six_days = await task(client, ws, now() + timedelta(days=6), 20_000)
    in_eight_days = await task(client, ws, now() + timedelta(days=8), 20_000)
    negative = await task(client, ws, now() + timedelta(minutes=10), -30)
    fractional = await task(client, ws, now() + timedelta(minutes=10), 10.5)
    await raise_due_reminders(engine)
    (event,) = await reminders(client, ws, in_six_days)
    week_before = moment(in_six_days["fields"]["due_date"]) - timedelta(days=7)
    assert event["data"]["remind_at"] == stamp(week_before)
    assert await reminders(client, ws, in_eight_days) == []
    assert await reminders(client, ws, negative) == []
    assert len(await reminders(client, ws, fractional)) == 1
    await raise_due_reminders(engine, now=now() + timedelta(minutes=11))
    (event,) = await reminders(client, ws, negative)
    assert event["data"]["remind_at"] == negative["fields"]["due_date"]


async def test_a_task_long_overdue_raises_nothing(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    long_overdue = await task(client, ws, now() - timedelta(hours=2), 60)
    just_due = await task(client, ws, now() - timedelta(minutes=30), 0)
    await raise_due_reminders(engine)
    assert await reminders(client, ws, long_overdue) == []
    assert len(await reminders(client, ws, just_due)) == 1


async def test_workers_raising_at_once_raise_a_reminder_once(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = [await task(client, ws, now() + timedelta(minutes=i)) for i in range(5)]
    await asyncio.gather(*(raise_due_reminders(engine) for _ in range(4)))
    for one in made:
        assert len(await reminders(client, ws, one)) == 1


async def test_the_worker_loop_raises_due_reminders(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = await task(client, ws, now() + timedelta(minutes=5), 15)
    later = await task(client, ws, now() + timedelta(hours=3), 15)
    stop = asyncio.Event()
    worker = asyncio.create_task(run(engine, stop, idle=0.05))
    try:
        for _ in range(500):
            if await reminders(client, ws, made) or worker.done():
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 60)
    assert len(await reminders(client, ws, made)) == 1
    assert await reminders(client, ws, later) == []
