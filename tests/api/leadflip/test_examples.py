"""Each example of the Leadflip API document, run against an entity shaped like its own."""

from __future__ import annotations

import httpx

from tests.api.leadflip.conftest import (
    API,
    LF,
    Entity,
    get_lead,
    is_utc_time,
    is_uuid,
    native,
    notes_of,
    ok,
    take_in,
)
from tests.conftest import Workspace

JANE = {
    "entity": "solar_leads",
    "lead_name": "Jane Doe",
    "email": "jane@example.com",
    "status:stage": "New",
}


async def test_intake_example(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    answer = await take_in(client, ws.auth, JANE)
    assert is_uuid(answer["lead_id"])
    assert is_utc_time(answer["created_at"])
    assert answer == {
        "status": "success",
        "lead_id": answer["lead_id"],
        "created_at": answer["created_at"],
        "result": "created",
        "duplicate_of": None,
        "unmapped": [],
    }
    record = await native(client, ws, "solar_lead", answer["lead_id"])
    assert record["object"] == "solar_lead"
    assert record["fields"] == {
        "lead_name": "Jane Doe",
        "email": "jane@example.com",
        "phone": None,
        "company": None,
        "source": None,
        "stage": "New",
    }
    assert record["created_at"] == answer["created_at"]


async def test_bulk_example(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    answer = ok(
        await client.post(
            f"{LF}/leads/bulk",
            json={
                "entity": "solar_leads",
                "batch": [
                    {"lead_name": "A", "email": "a@example.com"},
                    {"lead_name": "B", "email": "b@example.com"},
                ],
                "source": "csv_import",
                "note": "Batch import",
            },
            headers=ws.auth,
        )
    )
    ids = [item["lead_id"] for item in answer["created"]]
    assert all(is_uuid(i) for i in ids)
    assert len(set(ids)) == 2
    assert answer == {
        "status": "success",
        "created": [
            {"index": 0, "lead_id": ids[0], "email": "a@example.com", "unmapped": []},
            {"index": 1, "lead_id": ids[1], "email": "b@example.com", "unmapped": []},
        ],
        "updated": [],
        "skipped": [],
        "failed": [],
    }
    for lead_id, name in zip(ids, ("A", "B"), strict=True):
        record = await native(client, ws, "solar_lead", lead_id)
        assert record["fields"]["lead_name"] == name
        assert record["fields"]["source"] == "csv_import"
        assert [n["body"] for n in await notes_of(client, ws, "solar_lead", lead_id)] == [
            "Batch import"
        ]


async def test_get_lead_example(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    lead_id = (await take_in(client, ws.auth, JANE))["lead_id"]
    ok(
        await client.patch(
            f"{LF}/leads/{lead_id}/status", json={"status_step": "Qualified"}, headers=ws.auth
        )
    )
    found = await get_lead(client, ws.auth, lead_id)
    assert found["lead_id"] == lead_id
    assert found["entity"] == solar.id
    assert found["status_step"] == "Qualified"
    assert found["fields"] == {
        "lead_name": "Jane Doe",
        "email": "jane@example.com",
        "stage": "Qualified",
    }
    latest = found["events"][0]
    assert (latest["type"], latest["message"]) == ("lead_status_event", "Lead moved to new status")
    assert (latest["from"], latest["to"]) == ("New", "Qualified")
    assert is_utc_time(latest["created_at"])
    assert {"type", "message", "created_at"} <= set(latest)


async def test_update_fields_example(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = (await take_in(client, ws.auth, JANE))["lead_id"]
    answer = ok(
        await client.patch(
            f"{LF}/leads/{lead_id}",
            json={
                "fields": {"company": "Acme Inc.", "phone": "+1 555 222 3333"},
                "note": "Customer called back",
            },
            headers=ws.auth,
        )
    )
    assert answer == {
        "status": "success",
        "lead_id": lead_id,
        "updated_fields": ["company", "phone"],
        "unmapped": [],
    }
    found = await get_lead(client, ws.auth, lead_id)
    assert found["fields"] == {
        "lead_name": "Jane Doe",
        "email": "jane@example.com",
        "phone": "+15552223333",
        "company": "Acme Inc.",
        "stage": "New",
    }
    notes = await notes_of(client, ws, "solar_lead", lead_id)
    assert [(n["body"], n["kind"]) for n in notes] == [("Customer called back", "note")]


async def test_update_status_example(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = (await take_in(client, ws.auth, JANE))["lead_id"]
    answer = ok(
        await client.patch(
            f"{LF}/leads/{lead_id}/status", json={"status_step": "Qualified"}, headers=ws.auth
        )
    )
    assert answer == {"status": "success", "lead_id": lead_id, "new_status": "Qualified"}
    assert (await native(client, ws, "solar_lead", lead_id))["fields"]["stage"] == "Qualified"


async def test_entities_example_and_its_alias(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    entities = ok(await client.get(f"{LF}/entities", headers=ws.auth))
    assert isinstance(entities, list)
    for entity in entities:
        assert is_uuid(entity["id"])
        assert isinstance(entity["label"], str)
        for field in entity["fields"]:
            assert {"key", "type", "required"} <= set(field)
            assert isinstance(field["required"], bool)
    mine = [e for e in entities if e["id"] == solar.id]
    assert len(mine) == 1
    assert mine[0]["label"] == "Solar Leads"
    assert mine[0]["singular_label"] == "Solar Lead"
    assert [(f["key"], f["type"], f["required"]) for f in mine[0]["fields"]] == [
        ("lead_name", "text", True),
        ("email", "email", False),
        ("phone", "phone", False),
        ("company", "text", False),
        ("source", "text", False),
        ("stage", "stage", False),
    ]
    # Every object type of the workspace is an entity, the standard lead among them.
    objects = ok(await client.get(f"{API}/objects", headers=ws.auth))["data"]
    assert sorted(e["id"] for e in entities) == sorted(o["id"] for o in objects)
    lead = next(
        e for e in entities if e["id"] == next(o["id"] for o in objects if o["key"] == "lead")
    )
    assert (lead["label"], lead["singular_label"]) == ("Leads", "Lead")
    assert {"first_name", "email", "phone"} <= {f["key"] for f in lead["fields"]}

    assert ok(await client.get(f"{LF}/lead-objects", headers=ws.auth)) == entities
    # Another workspace sees its own entities only.
    theirs = ok(await client.get(f"{LF}/entities", headers=other_ws.auth))
    assert solar.id not in {e["id"] for e in theirs}
    assert ok(await client.get(f"{LF}/lead-objects", headers=other_ws.auth)) == theirs
