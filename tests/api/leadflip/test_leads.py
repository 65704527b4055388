"""GET /leads/{id}, PATCH /leads/{id}, PATCH /leads/{id}/status, and the native API's view."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.leadflip.conftest import (
    API,
    LF,
    Entity,
    errors_of,
    get_lead,
    is_utc_time,
    lf_error,
    make_entity,
    my_id,
    native,
    notes_of,
    ok,
    take_in,
)
from tests.conftest import Workspace


async def new_lead(client: httpx.AsyncClient, ws: Workspace, **extra: Any) -> str:
    payload = {"entity": "solar_lead", "lead_name": "Jane Doe", "email": "jane@example.com"}
    return str((await take_in(client, ws.auth, {**payload, **extra}))["lead_id"])


async def patch(client: httpx.AsyncClient, ws: Workspace, lead_id: str, body: Any) -> Any:
    return await client.patch(f"{LF}/leads/{lead_id}", json=body, headers=ws.auth)


async def move(client: httpx.AsyncClient, ws: Workspace, lead_id: str, body: Any) -> Any:
    return await client.patch(f"{LF}/leads/{lead_id}/status", json=body, headers=ws.auth)


# --- GET ------------------------------------------------------------------------------------


async def test_get_shows_only_set_values(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, company="Acme")
    found = await get_lead(client, ws.auth, lead_id)
    assert found["lead_id"] == lead_id
    assert found["entity"] == solar.id
    assert found["status_step"] is None
    assert found["fields"] == {
        "lead_name": "Jane Doe",
        "email": "jane@example.com",
        "company": "Acme",
    }
    assert found["assignee"] == await my_id(client, ws.auth)
    assert is_utc_time(found["created_at"])
    assert [(e["type"], e["message"]) for e in found["events"]] == [
        ("lead_created_event", "Lead created")
    ]
    assert found["events"][0]["created_at"] == found["created_at"]


async def test_get_lists_a_status_change_among_recent_events(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, **{"status:stage": "New"})
    ok(await move(client, ws, lead_id, {"status_step": "Qualified"}))
    found = await get_lead(client, ws.auth, lead_id)
    assert found["status_step"] == "Qualified"
    status_events = [e for e in found["events"] if e["type"] == "lead_status_event"]
    # Newest first: the move, then the stage the lead was taken in with.
    assert [(e["message"], e["from"], e["to"]) for e in status_events] == [
        ("Lead moved to new status", "New", "Qualified"),
        ("Lead moved to new status", None, "New"),
    ]
    for e in found["events"]:
        assert {"type", "message", "created_at"} <= set(e)
        assert is_utc_time(e["created_at"])
    assert found["events"][-1]["type"] == "lead_created_event"
    assert found["events"][0]["created_at"] >= found["events"][-1]["created_at"]


async def test_get_of_an_entity_without_pipeline(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_entity(client, ws)
    lead_id = await new_lead(client, ws)
    assert (await get_lead(client, ws.auth, lead_id))["status_step"] is None


async def test_unknown_leads_are_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    await make_entity(client, other_ws, stages=["New", "Qualified"])
    theirs = await new_lead(client, other_ws)
    mine = await new_lead(client, ws)
    for ref in (theirs, str(uuid.uuid4()), "not-a-uuid", "lead-1", mine.replace("-", "x")):
        lf_error(await client.get(f"{LF}/leads/{ref}", headers=ws.auth), 404, "Lead not found")
    # Theirs is still there for them, and mine for me.
    assert (await get_lead(client, other_ws.auth, theirs))["lead_id"] == theirs
    assert (await get_lead(client, ws.auth, mine))["lead_id"] == mine
    lf_error(await client.get(f"{LF}/leads/{mine}", headers=other_ws.auth), 404, "Lead not found")


async def test_a_deleted_lead_is_404(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws)
    ok(await client.delete(f"{solar.records}/{lead_id}", headers=ws.auth), 204)
    lf_error(await client.get(f"{LF}/leads/{lead_id}", headers=ws.auth), 404, "Lead not found")
    answer = await patch(client, ws, lead_id, {"fields": {"company": "X"}})
    lf_error(answer, 404, "Lead not found")
    lf_error(await move(client, ws, lead_id, {"status_step": "New"}), 404, "Lead not found")


# --- PATCH fields ---------------------------------------------------------------------------


async def test_patch_matches_loose_keys(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws)
    answer = ok(
        await patch(
            client,
            ws,
            lead_id,
            {"fields": {"COMPANY": "Acme Inc.", "E-Mail": "JANE@Acme.com", "Lead Name": "Jane"}},
        )
    )
    assert answer == {
        "status": "success",
        "lead_id": lead_id,
        "updated_fields": ["company", "email", "lead_name"],
        "unmapped": [],
    }
    assert (await get_lead(client, ws.auth, lead_id))["fields"] == {
        "lead_name": "Jane",
        "email": "jane@acme.com",
        "company": "Acme Inc.",
    }


async def test_patch_keeps_unmapped_keys_and_clears_with_null(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, company="Acme", utm_source="google")
    answer = ok(
        await patch(client, ws, lead_id, {"fields": {"company": None, "utm_medium": "cpc"}})
    )
    assert (answer["updated_fields"], answer["unmapped"]) == (["company"], ["utm_medium"])
    found = await get_lead(client, ws.auth, lead_id)
    assert found["fields"] == {"lead_name": "Jane Doe", "email": "jane@example.com"}
    record = await native(client, ws, "solar_lead", lead_id)
    assert record["unmapped"] == {"utm_source": "google", "utm_medium": "cpc"}


async def test_patch_with_only_a_note(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws)
    answer = ok(await patch(client, ws, lead_id, {"note": "Left a voicemail"}))
    assert answer["updated_fields"] == []
    notes = await notes_of(client, ws, "solar_lead", lead_id)
    assert [n["body"] for n in notes] == ["Left a voicemail"]


async def test_patch_refusals_are_422_and_change_nothing(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, company="Acme")
    before = await native(client, ws, "solar_lead", lead_id)
    refused: list[tuple[Any, dict[str, list[str]]]] = [
        (
            {"fields": {"company": "X"}, "status": "Qualified"},
            {"status": ["The status field is not an attribute."]},
        ),
        ({"company": "X"}, {"company": ["The company field is not an attribute."]}),
        (
            {"fields": {"favourite_colour": "red"}},
            {"fields": ["No key matches a field of solar_lead."]},
        ),
        ({"fields": {}}, {"fields": ["No key matches a field of solar_lead."]}),
        ({}, {"fields": ["No key matches a field of solar_lead."]}),
        ({"fields": ["company"]}, {"fields": ["The fields field must be an object."]}),
        ({"fields": {"email": "nope"}}, {"email": ["The email field must be an email address."]}),
        (
            {"fields": {"company": "X", "lead_name": None}},
            {"lead_name": ["The lead name field is required."]},
        ),
        (
            {"fields": {"company": "X"}, "note": 5},
            {"note": ['The note field must be text or {"text", "tag"}.']},
        ),
    ]
    for body, errors in refused:
        assert errors_of(await patch(client, ws, lead_id, body)) == errors, body
    assert await native(client, ws, "solar_lead", lead_id) == before
    assert await notes_of(client, ws, "solar_lead", lead_id) == []


async def test_patch_of_another_workspaces_lead_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    await make_entity(client, other_ws)
    theirs = await new_lead(client, other_ws)
    answer = await patch(client, ws, theirs, {"fields": {"company": "Hijacked"}})
    lf_error(answer, 404, "Lead not found")
    lf_error(await patch(client, ws, "nope", {"fields": {"company": "X"}}), 404, "Lead not found")
    assert "company" not in (await get_lead(client, other_ws.auth, theirs))["fields"]


async def test_patch_with_an_unknown_assignee_names_assignee(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws)
    answer = await patch(
        client, ws, lead_id, {"fields": {"company": "X", "assignee": "nobody@acme.com"}}
    )
    assert list(errors_of(answer)) == ["assignee"]


async def test_patch_with_an_assignee_changes_the_owner(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await ws.add_key(role="agent", email="sam@acme.com")
    lead_id = await new_lead(client, ws)
    answer = ok(
        await patch(client, ws, lead_id, {"fields": {"company": "X", "assignee": "sam@acme.com"}})
    )
    assert answer["updated_fields"] == ["company"]
    sam = next(
        u["id"]
        for u in ok(await client.get(f"{API}/users", headers=ws.auth))["data"]
        if u["email"] == "sam@acme.com"
    )
    assert (await native(client, ws, "solar_lead", lead_id))["owner_id"] == sam


# --- PATCH status ---------------------------------------------------------------------------


async def test_status_by_name_in_any_case_or_uuid(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws)
    for step, expected in [
        ("qualified", "Qualified"),
        (solar.stages["New"], "New"),
        (" QUALIFIED ", "Qualified"),
        (solar.stages["New"].upper(), "New"),
    ]:
        answer = await move(client, ws, lead_id, {"status_step": step})
        assert ok(answer) == {"status": "success", "lead_id": lead_id, "new_status": expected}
        assert (await get_lead(client, ws.auth, lead_id))["status_step"] == expected


async def test_status_refusals(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, **{"status:stage": "New"})
    assert errors_of(await move(client, ws, lead_id, {"status_step": "Won"})) == {
        "status_step": ["No stage 'Won' in Sales; stages: New, Qualified."]
    }
    required = {"status_step": ["The status step field is required."]}
    for body in ({}, {"status_step": ""}, {"status_step": "  "}):
        assert errors_of(await move(client, ws, lead_id, body)) == required, body
    answer = await move(client, ws, lead_id, {"status_step": None})
    assert errors_of(answer) == {"status_step": ["The status step field must be a string."]}
    answer = await move(client, ws, lead_id, {"status_step": "Qualified", "automations": False})
    assert errors_of(answer) == {"automations": ["The automations field is not an attribute."]}
    answer = await move(client, ws, lead_id, {"status_step": "Qualified", "pipeline": "funnel"})
    assert list(errors_of(answer)) == ["pipeline"]
    lf_error(await move(client, ws, "nope", {"status_step": "Qualified"}), 404, "Lead not found")
    answer = await client.patch(
        f"{LF}/leads/{lead_id}/status", json={"status_step": "Qualified"}, headers=other_ws.auth
    )
    lf_error(answer, 404, "Lead not found")
    assert (await get_lead(client, ws.auth, lead_id))["status_step"] == "New"


async def test_status_of_a_lead_without_pipeline_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_entity(client, ws)
    lead_id = await new_lead(client, ws)
    assert list(errors_of(await move(client, ws, lead_id, {"status_step": "New"}))) == [
        "status_step"
    ]


async def test_status_pipeline_messages_name_the_entity_as_it_is(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_entity(client, ws)
    lead_id = await new_lead(client, ws)
    answer = await move(client, ws, lead_id, {"status_step": "New"})
    assert "solar_lead" in errors_of(answer)["status_step"][0]
    answer = await move(client, ws, lead_id, {"status_step": "New", "pipeline": "funnel"})
    assert "solar_lead" in errors_of(answer)["pipeline"][0]


async def test_status_change_is_a_stage_changed_event(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, **{"status:stage": "New"})
    feed = ok(await client.get(f"{API}/events?after=0&limit=1000", headers=ws.auth))
    ok(await move(client, ws, lead_id, {"status_step": "Qualified"}))
    after = feed["next_after"]
    events = ok(await client.get(f"{API}/events?after={after}", headers=ws.auth))["data"]
    moved = [e for e in events if e["type"] == "record.stage_changed"]
    assert len(moved) == 1
    assert moved[0]["record_id"] == lead_id
    assert moved[0]["object"] == "solar_lead"
    assert moved[0]["actor_id"] == await my_id(client, ws.auth)
    data = moved[0]["data"]
    assert (data["pipeline"], data["pipeline_id"]) == ("stage", solar.pipeline_id)
    assert data["from"] == {"id": solar.stages["New"], "name": "New"}
    assert data["to"] == {"id": solar.stages["Qualified"], "name": "Qualified"}
    # The record's timeline tells the same.
    timeline = ok(await client.get(f"{solar.records}/{lead_id}/timeline", headers=ws.auth))
    latest = next(e for e in timeline["data"] if e["type"] == "record.stage_changed")
    assert latest["data"] == data
    # Moving to the stage it is in changes nothing.
    answer = ok(await move(client, ws, lead_id, {"status_step": "qualified"}))
    assert answer["new_status"] == "Qualified"
    again = ok(await client.get(f"{API}/events?after={after}", headers=ws.auth))["data"]
    assert [e["type"] for e in again].count("record.stage_changed") == 1


# --- the native API's view ------------------------------------------------------------------


async def test_a_lead_is_a_record_of_the_native_api(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = await new_lead(client, ws, **{"status:stage": "New"})
    record = await native(client, ws, "solar_lead", lead_id)
    assert record["id"] == lead_id
    changed = ok(
        await client.patch(
            f"{solar.records}/{lead_id}",
            json={"fields": {"company": "Native Co", "email": "jane@native.example"}},
            headers=ws.auth,
        )
    )
    assert changed["fields"]["company"] == "Native Co"
    ok(
        await client.post(
            f"{solar.records}/{lead_id}/stage", json={"stage": "Qualified"}, headers=ws.auth
        )
    )
    found = await get_lead(client, ws.auth, lead_id)
    assert found["fields"] == {
        "lead_name": "Jane Doe",
        "email": "jane@native.example",
        "company": "Native Co",
        "stage": "Qualified",
    }
    assert found["status_step"] == "Qualified"
    assert found["events"][0]["type"] == "lead_status_event"
    # And back: a Leadflip change shows natively.
    ok(await patch(client, ws, lead_id, {"fields": {"phone": "+1 555 222 3333"}}))
    assert (await native(client, ws, "solar_lead", lead_id))["fields"]["phone"] == "+15552223333"
