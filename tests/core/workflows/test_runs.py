"""Workflows run on the records their triggers name: each step once, through the core's
checked services, leaving events marked with the run; waits, branches, stops, failures,
loops and crashes end as a user of the CRM would expect."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crm.core.clock import utcnow
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.events.service import record_timeline
from crm.core.lists import service as lists
from crm.core.metadata.service import metadata_for
from crm.core.records import service as records
from crm.core.records.model import RecordQuery
from crm.core.tags import service as tags
from crm.core.workflows import runner
from crm.core.workflows import service as workflows
from crm.core.workflows.dates import GRACE, fire_dates
from crm.core.workflows.model import MAX_DEPTH
from crm.core.workflows.steps import STEPS
from crm.db.schema import workflow_runs
from tests.core.workflows.conftest import Automation

NO_TAG = "01890000-0000-7000-8000-00000000abcd"


async def _tasks_about(auto: Automation, number: int | None) -> list[Any]:
    query = RecordQuery(filter={"field": "association_id", "op": "eq", "value": str(number)})
    page = await auto.act(
        lambda conn: records.find_records(conn, auto.owner, "task", query), write=False
    )
    return page.records


async def test_a_new_lead_runs_every_step_once(auto: Automation) -> None:
    vip = await auto.act(lambda conn: tags.create_tag(conn, auto.owner, name="VIP"))
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        steps=[
            {"type": "set_fields", "fields": {"status": "Qualified", "title": "Hi {{first_name}}"}},
            {"type": "add_tag", "tag": str(vip.uuid)},
            {"type": "create_task", "title": "Call {{first_name}}", "due_in": {"days": 1}},
            {"type": "create_note", "text": "Welcomed {{display_name}}", "kind": "call"},
        ],
    )
    lead = await auto.lead()
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.status == "completed"
    assert [(s.position, s.type, s.status) for s in run.steps or []] == [
        ("0", "set_fields", "done"),
        ("1", "add_tag", "done"),
        ("2", "create_task", "done"),
        ("3", "create_note", "done"),
    ]
    changed = await auto.read(lead)
    assert (changed.data["status"], changed.data["title"]) == ("Qualified", "Hi Ann")
    (task,) = await _tasks_about(auto, lead.number)
    assert task.data["task"] == "Call Ann"
    assert task.data["association_type"] == "lead"
    due = task.data["due_date"]
    assert due > (utcnow() + timedelta(hours=23)).isoformat()[:16]
    await auto.work()
    assert len(await auto.runs(wf)) == 1  # its own changes do not start it again
    timeline = await auto.act(
        lambda conn: record_timeline(conn, auto.owner.workspace_id, lead.id, limit=50), write=False
    )
    made_by_run = [e for e in timeline if e.payload.get("via", {}).get("run") == str(run.uuid)]
    assert {e.type for e in made_by_run} >= {"record.updated", "record.tagged", "note.created"}
    assert all(e.payload["via"]["depth"] == 1 for e in made_by_run)


async def test_updates_fire_only_on_the_fields_and_values_named(auto: Automation) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.updated", "fields": ["status"], "to": {"status": "Customer"}},
        steps=[{"type": "set_fields", "fields": {"description": "became a customer"}}],
    )
    lead = await auto.lead()
    await auto.update(lead, city="Oslo")
    await auto.update(lead, status="Qualified")
    await auto.work()
    assert await auto.runs(wf) == []
    await auto.update(lead, status="Customer")
    await auto.work()
    assert [r.status for r in await auto.runs(wf)] == ["completed"]
    assert (await auto.read(lead)).data["description"] == "became a customer"


async def test_conditions_pick_the_records(auto: Automation) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        conditions={"field": "city", "op": "eq", "value": "Oslo"},
        steps=[{"type": "set_fields", "fields": {"description": "local"}}],
    )
    await auto.lead(city="Bergen")
    oslo = await auto.lead(city="Oslo")
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.record_uuid == oslo.uuid


async def test_an_unpublished_workflow_waits_for_what_comes_after_it_is_published(
    auto: Automation,
) -> None:
    wf = await auto.workflow(
        published=False,
        trigger={"type": "record.created"},
        steps=[{"type": "set_fields", "fields": {"description": "seen"}}],
    )
    await auto.lead()
    await auto.work()
    await auto.act(
        lambda conn: workflows.update_workflow(conn, auto.owner, str(wf.uuid), {"published": True})
    )
    later = await auto.lead(first_name="Bo")
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.record_uuid == later.uuid


async def test_a_wait_resumes_when_due(auto: Automation, monkeypatch: pytest.MonkeyPatch) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        steps=[
            {"type": "wait", "for": {"hours": 2}},
            {"type": "set_fields", "fields": {"description": "followed up"}},
        ],
    )
    lead = await auto.lead()
    await auto.work()
    (run,) = await auto.runs(wf)
    assert (run.status, run.position) == ("waiting", [1])
    assert run.due_at is not None
    assert timedelta(hours=1, minutes=59) < run.due_at - utcnow() <= timedelta(hours=2)
    assert await runner.next_due(auto.engine) == run.due_at
    later = run.due_at + timedelta(seconds=1)
    monkeypatch.setattr(runner, "utcnow", lambda: later)
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.status == "completed"
    assert (await auto.read(lead)).data["description"] == "followed up"


async def test_branches_and_stops(auto: Automation) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        steps=[
            {
                "type": "branch",
                "if": {"field": "city", "op": "eq", "value": "Oslo"},
                "then": [
                    {"type": "set_fields", "fields": {"description": "north"}},
                    {"type": "stop"},
                ],
                "else": [{"type": "set_fields", "fields": {"description": "elsewhere"}}],
            },
            {"type": "set_fields", "fields": {"title": "after the branch"}},
        ],
    )
    oslo, rome = await auto.lead(city="Oslo"), await auto.lead(city="Rome")
    await auto.work()
    runs = {r.record_uuid: r for r in await auto.runs(wf)}
    assert runs[oslo.uuid].status == "stopped"
    assert [s.position for s in runs[oslo.uuid].steps or []] == ["0", "0.then.0", "0.then.1"]
    assert runs[rome.uuid].status == "completed"
    assert [s.position for s in runs[rome.uuid].steps or []] == ["0", "0.else.0", "1"]
    north, south = await auto.read(oslo), await auto.read(rome)
    assert (north.data["description"], north.data.get("title")) == ("north", None)
    assert (south.data["description"], south.data["title"]) == ("elsewhere", "after the branch")


async def test_round_robin_assigns_in_turn(auto: Automation) -> None:
    users = [str(p.user_id) for p in auto.agents]
    meta = await auto.act(lambda conn: metadata_for(conn, auto.owner), write=False)
    uuids = [str(meta.users[p.user_id].uuid) for p in auto.agents]
    assert users
    await auto.workflow(
        trigger={"type": "record.created"},
        steps=[{"type": "assign_owner", "round_robin": uuids}],
    )
    made = [await auto.lead(first_name=f"L{i}") for i in range(4)]
    await auto.work()
    owners = [(await auto.read(r)).owner_id for r in made]
    counts = sorted(owners.count(agent.user_id) for agent in auto.agents)
    assert counts == [1, 1, 2]  # in turn (runs on PostgreSQL finish in any order)


async def test_a_failing_step_rolls_back_and_says_why(auto: Automation) -> None:
    lst = await auto.act(
        lambda conn: lists.create_list(conn, auto.owner, object="lead", name="Hot")
    )
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        steps=[
            {"type": "set_fields", "fields": {"description": "kept"}},
            {"type": "add_to_list", "list": str(lst.uuid)},
            {"type": "set_fields", "fields": {"title": "never"}},
        ],
    )
    await auto.act(lambda conn: lists.delete_list(conn, auto.owner, str(lst.uuid)))
    lead = await auto.lead()
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.status == "failed"
    assert run.error == "List not found"
    assert [(s.position, s.status) for s in run.steps or []] == [("0", "done"), ("1", "failed")]
    changed = await auto.read(lead)
    assert (changed.data["description"], changed.data.get("title")) == ("kept", None)


async def test_a_workflow_that_triggers_itself_is_cut(auto: Automation) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.updated", "fields": ["title"]},
        steps=[{"type": "set_fields", "fields": {"title": "{{title}}x"}}],
    )
    lead = await auto.lead()
    await auto.update(lead, title="t")
    for _ in range(MAX_DEPTH + 3):
        await auto.work()
    runs = await auto.runs(wf)
    assert [r.depth for r in runs] == list(range(1, MAX_DEPTH + 2))
    assert [r.status for r in runs] == ["completed"] * MAX_DEPTH + ["cut"]
    assert (await auto.read(lead)).data["title"] == "t" + "x" * MAX_DEPTH


async def _notes_of(auto: Automation, lead: Any) -> list[str]:
    timeline = await auto.act(
        lambda conn: record_timeline(conn, auto.owner.workspace_id, lead.id, limit=50),
        write=False,
    )
    return sorted(e.type for e in timeline if e.type == "note.created")


async def _expire_leases(auto: Automation) -> None:
    await auto.act(
        lambda conn: conn.execute(
            sa.update(workflow_runs).values(lease_until=utcnow() - timedelta(seconds=1))
        )
    )


async def test_a_turn_broken_off_is_taken_again_without_repeating_a_step(
    auto: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        steps=[
            {"type": "create_note", "text": "first"},
            {"type": "create_note", "text": "second"},
        ],
    )
    lead = await auto.lead()
    note = STEPS["create_note"]
    done = note.run
    calls = 0

    async def dies_on_the_second(at: Any, spec: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the worker's process is killed")
        return await done(at, spec)

    monkeypatch.setattr(note, "run", dies_on_the_second)
    await auto.work()
    (run,) = await auto.runs(wf)
    assert (run.status, run.position, run.steps) == ("pending", [0], [])
    assert await _notes_of(auto, lead) == []  # the first note went with the turn
    await auto.work()  # its lease still holds the run
    assert (await auto.runs(wf))[0].steps == []
    await _expire_leases(auto)
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.status == "completed"
    assert [s.position for s in run.steps or []] == ["0", "1"]
    assert await _notes_of(auto, lead) == ["note.created", "note.created"]


async def test_a_worker_that_died_holding_a_waiting_run_is_taken_over(
    auto: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.created"},
        steps=[
            {"type": "create_note", "text": "first"},
            {"type": "wait", "for": {"minutes": 5}},
            {"type": "create_note", "text": "second"},
        ],
    )
    lead = await auto.lead()
    await auto.work()
    (run,) = await auto.runs(wf)
    assert (run.status, run.position) == ("waiting", [2])
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(runner, "utcnow", lambda: later)
    assert len(await runner._take(auto.engine, "dead-worker")) == 1  # and it dies
    await auto.work()
    assert (await auto.runs(wf))[0].status == "waiting"
    monkeypatch.setattr(runner, "utcnow", lambda: later + runner.LEASE + timedelta(seconds=1))
    await auto.work()
    (run,) = await auto.runs(wf)
    assert run.status == "completed"
    assert [s.position for s in run.steps or []] == ["0", "1", "2"]
    assert await _notes_of(auto, lead) == ["note.created", "note.created"]


async def test_started_by_hand_on_a_record_or_a_filter(auto: Automation) -> None:
    wf = await auto.workflow(
        trigger={"type": "manual"}, steps=[{"type": "set_fields", "fields": {"description": "x"}}]
    )
    one, two, three = [await auto.lead(city=c) for c in ("A", "B", "B")]
    started = await auto.act(
        lambda conn: workflows.start_runs(conn, auto.owner, str(wf.uuid), record=str(one.uuid))
    )
    assert [r.record_uuid for r in started] == [one.uuid]
    started = await auto.act(
        lambda conn: workflows.start_runs(
            conn, auto.owner, wf.number, filter={"field": "city", "op": "eq", "value": "B"}
        )
    )
    assert {r.record_uuid for r in started} == {two.uuid, three.uuid}
    await auto.work()
    assert [r.status for r in await auto.runs(wf)] == ["completed"] * 3


async def test_deleting_a_workflow_cancels_its_waiting_runs(auto: Automation) -> None:
    wf = await auto.workflow(
        trigger={"type": "record.created"}, steps=[{"type": "wait", "for": {"days": 3}}]
    )
    await auto.lead()
    await auto.work()
    await auto.act(lambda conn: workflows.delete_workflow(conn, auto.owner, str(wf.uuid)))
    (run,) = await auto.runs(wf)
    assert run.status == "cancelled"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"trigger": {"type": "record.born"}}, "trigger.type"),
        ({"trigger": {"type": "record.updated", "fields": ["nope"]}}, "trigger.fields"),
        ({"steps": [{"type": "teleport"}]}, "steps[0].type"),
        ({"steps": [{"type": "set_fields", "fields": {"nope": 1}}]}, "steps[0].fields.nope"),
        ({"steps": [{"type": "create_note", "text": "{{nope}}"}]}, "steps[0].text"),
        ({"steps": [{"type": "wait", "for": {"weeks": 1}}]}, "steps[0].for"),
        (
            {"steps": [{"type": "add_tag", "tag": "01890000-0000-7000-8000-00000000abcd"}]},
            "steps[0].tag",
        ),
        ({"steps": [{"type": "move_stage", "stage": "Nowhere"}]}, "steps[0].stage"),
        ({"runtime": "sync"}, "runtime"),
        ({"runtime": "later"}, "runtime"),
        ({"object": "spaceship"}, "object"),
        ({"conditions": {"field": "nope", "op": "eq", "value": 1}}, "conditions.field"),
        (
            {"steps": [{"type": "branch", "if": {"or": []}, "then": [{"type": "stop"}]}]},
            "steps[0].if.or",
        ),
        ({"colour": "red"}, "colour"),
        ({"category": 7}, "category"),
    ],
)
async def test_a_wrong_definition_is_refused_naming_its_part(
    auto: Automation, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await auto.workflow(**{"trigger": {"type": "record.created"}, "steps": [], **spec})
    assert field in [d["field"] for d in caught.value.details]
    page = await auto.act(lambda conn: workflows.find_workflows(conn, auto.owner), write=False)
    assert page.total == 0


async def test_only_managers_make_workflows(auto: Automation) -> None:

    with pytest.raises(PermissionDenied):
        await auto.act(
            lambda conn: workflows.create_workflow(
                conn,
                auto.agents[0],
                {"object": "lead", "name": "x", "trigger": {"type": "manual"}, "steps": []},
            )
        )


async def _deal(auto: Automation, close: date) -> Any:
    return await auto.act(
        lambda conn: records.create_record(
            conn, auto.owner, "deal", fields={"name": "Big", "close_date": close.isoformat()}
        )
    )


async def test_a_date_trigger_starts_once_per_moment_from_its_publishing(
    auto: Automation,
) -> None:
    wf = await auto.workflow(
        object="deal",
        trigger={
            "type": "date.reached",
            "field": "close_date",
            "offset": {"days": 3, "before": True},
        },
        steps=[{"type": "create_note", "text": "closing soon"}],
    )
    today = utcnow().date()
    await _deal(auto, today - timedelta(days=5))  # its moment came before publishing
    deal = await _deal(auto, today + timedelta(days=10))
    moment = datetime.combine(today + timedelta(days=7), time(), UTC)
    assert await fire_dates(auto.engine, now=moment - timedelta(minutes=1)) == 0
    assert await fire_dates(auto.engine, now=moment + timedelta(hours=1)) == 1
    assert await fire_dates(auto.engine, now=moment + timedelta(hours=2)) == 0
    await auto.act(
        lambda conn: records.update_record(
            conn,
            auto.owner,
            "deal",
            deal.id,
            fields={"close_date": str(today + timedelta(days=20))},
        )
    )
    assert await fire_dates(auto.engine, now=moment + timedelta(hours=3)) == 0
    later = moment + timedelta(days=10, hours=1)
    assert await fire_dates(auto.engine, now=later) == 1
    assert await fire_dates(auto.engine, now=later + GRACE + timedelta(days=30)) == 0
    await auto.work()
    runs = await auto.runs(wf)
    assert [(r.record_uuid, r.status) for r in runs] == [(deal.uuid, "completed")] * 2


async def test_a_wait_until_a_date_field(auto: Automation) -> None:
    wf = await auto.workflow(
        object="deal",
        trigger={"type": "record.created"},
        steps=[
            {"type": "wait", "until": "close_date", "offset": {"days": 1, "before": True}},
            {"type": "create_note", "text": "closes tomorrow"},
        ],
    )
    close = utcnow().date() + timedelta(days=30)
    await _deal(auto, close)
    await _deal(auto, utcnow().date() - timedelta(days=1))  # already past: no wait
    await auto.work()
    waiting, done = await auto.runs(wf)
    assert (waiting.status, done.status) == ("waiting", "completed")
    assert waiting.due_at == datetime.combine(close - timedelta(days=1), time(), UTC)
    assert (done.steps or [])[0].detail == {"skipped": "already past"}


async def test_records_made_and_related_records_changed(auto: Automation) -> None:
    company = await auto.act(
        lambda conn: records.create_record(conn, auto.owner, "company", fields={"name": "Acme"})
    )
    wf = await auto.workflow(
        object="deal",
        trigger={"type": "record.created"},
        conditions={"field": "company", "op": "not_empty"},  # not the renewal it makes
        steps=[
            {
                "type": "update_related",
                "relation": "company",
                "fields": {"description": "{{name}}"},
            },
            {
                "type": "create_record",
                "object": "deal",
                "fields": {"name": "Renewal of {{name}}"},
            },
        ],
    )
    await auto.act(
        lambda conn: records.create_record(
            conn, auto.owner, "deal", fields={"name": "Big", "company": str(company.uuid)}
        )
    )
    await auto.work()
    runs = await auto.runs(wf)
    assert [r.status for r in runs] == ["completed"]
    assert (await auto.read(company)).data["description"] == "Big"
    page = await auto.act(
        lambda conn: records.find_records(
            conn, auto.owner, "deal", RecordQuery(sort=[{"field": "name", "direction": "asc"}])
        ),
        write=False,
    )
    assert [d.data["name"] for d in page.records] == ["Big", "Renewal of Big"]
