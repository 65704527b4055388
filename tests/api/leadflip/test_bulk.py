"""POST /leads/bulk: per-item results, batch-wide values, refusals, and 10,000 leads at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.settings import Settings
from tests.api.leadflip.conftest import (
    LF,
    Entity,
    count,
    errors_of,
    get_lead,
    is_uuid,
    lf_error,
    native,
    notes_of,
    ok,
)
from tests.conftest import Workspace

BULK = f"{LF}/leads/bulk"


async def bulk(client: httpx.AsyncClient, ws: Workspace, body: Any) -> httpx.Response:
    return await client.post(BULK, json=body, headers=ws.auth)


async def test_each_item_succeeds_or_fails_alone(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    batch: list[Any] = [
        {"lead_name": "Good One", "email": "one@example.com", "status:stage": "Qualified"},
        {"email": "nameless@example.com"},
        {"lead_name": "Bad Email", "email": "nope"},
        "not an object",
        {"favourite_colour": "red"},
        {"lead_name": "Bad Stage", "status:stage": "Won"},
        {"lead_name": "Bad Assignee", "assignee": "nobody@acme.com"},
        {"Lead Name": "Good Two", "utm": "x"},
    ]
    answer = ok(await bulk(client, ws, {"entity": "solar_lead", "batch": batch}))
    created = answer["created"]
    assert [(c["index"], c["email"], c["unmapped"]) for c in created] == [
        (0, "one@example.com", []),
        (7, None, ["utm"]),
    ]
    assert all(is_uuid(c["lead_id"]) for c in created)
    assert (answer["updated"], answer["skipped"]) == ([], [])
    assert answer["failed"] == [
        {
            "index": 1,
            "message": "Validation error",
            "errors": {"lead_name": ["The lead name field is required."]},
        },
        {
            "index": 2,
            "message": "Validation error",
            "errors": {"email": ["The email field must be an email address."]},
        },
        {
            "index": 3,
            "message": "Validation error",
            "errors": {"item": ["The item field must be an object of values."]},
        },
        {
            "index": 4,
            "message": "Validation error",
            "errors": {"fields": ["No key matches a field of solar_lead."]},
        },
        {
            "index": 5,
            "message": "Validation error",
            "errors": {"status:stage": ["No stage 'Won' in Sales; stages: New, Qualified."]},
        },
        {
            "index": 6,
            "message": "Validation error",
            "errors": {"assignee": ["The assignee field must be an active user's id or email."]},
        },
    ]
    assert await count(client, ws, "solar_lead") == 2
    first = await get_lead(client, ws.auth, created[0]["lead_id"])
    assert first["fields"] == {
        "lead_name": "Good One",
        "email": "one@example.com",
        "stage": "Qualified",
    }
    second = await native(client, ws, "solar_lead", created[1]["lead_id"])
    assert (second["fields"]["lead_name"], second["unmapped"]) == ("Good Two", {"utm": "x"})


async def test_source_and_note_apply_to_every_item(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = ok(
        await bulk(
            client,
            ws,
            {
                "entity": "solar_lead",
                "batch": [
                    {"lead_name": "A"},
                    {"lead_name": "B", "source": "referral"},
                    {"lead_name": "C", "note": "Own note"},
                ],
                "source": "csv_import",
                "note": "Batch import",
            },
        )
    )
    ids = [c["lead_id"] for c in answer["created"]]
    assert len(ids) == 3
    sources = [(await native(client, ws, "solar_lead", i))["fields"]["source"] for i in ids]
    assert sources == ["csv_import", "referral", "csv_import"]
    notes = [sorted(n["body"] for n in await notes_of(client, ws, "solar_lead", i)) for i in ids]
    assert notes == [["Batch import"], ["Batch import"], ["Batch import", "Own note"]]


async def test_a_source_the_entity_has_no_field_for_is_kept_unmapped(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    # The standard lead's source is a select without a "csv_import" choice.
    answer = ok(
        await bulk(
            client,
            ws,
            {
                "entity": "lead",
                "batch": [{"first_name": "Ada", "email": "ada@example.com"}],
                "source": "csv_import",
            },
        )
    )
    [item] = answer["created"]
    assert (item["email"], item["unmapped"]) == ("ada@example.com", ["source"])
    record = await native(client, ws, "lead", item["lead_id"])
    assert record["fields"]["source"] is None
    assert record["unmapped"] == {"source": "csv_import"}


async def test_lead_object_names_the_entity_of_a_batch(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = ok(
        await bulk(client, ws, {"lead_object": "Solar Leads", "batch": [{"lead_name": "Old"}]})
    )
    lead_id = answer["created"][0]["lead_id"]
    assert (await get_lead(client, ws.auth, lead_id))["entity"] == solar.id


async def test_batch_refusals(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    one = [{"lead_name": "A"}]
    refused: list[tuple[Any, dict[str, list[str]]]] = [
        (
            {"entity": "solar_lead", "batch": one, "priority": "high"},
            {"priority": ["The priority field is not a batch attribute."]},
        ),
        (
            {"entity": "solar_lead", "batch": {"lead_name": "A"}},
            {"batch": ["The batch field must be a list."]},
        ),
        ({"entity": "solar_lead", "batch": "A,B"}, {"batch": ["The batch field must be a list."]}),
        ({"entity": "solar_lead"}, {"batch": ["The batch field is required."]}),
        (
            {"entity": "solar_lead", "batch": []},
            {"batch": ["The batch field must hold 1 to 10000 items."]},
        ),
        ({"batch": one}, {"entity": ["The entity field is required."]}),
    ]
    for body, errors in refused:
        assert errors_of(await bulk(client, ws, body)) == errors, body
    lf_error(await bulk(client, ws, {"entity": "spaceship", "batch": one}), 404, "Entity not found")
    assert await count(client, ws, "solar_lead") == 0


async def test_more_than_10000_items_are_refused(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    batch = [{"lead_name": "x"}] * 10_001
    answer = await bulk(client, ws, {"entity": "solar_lead", "batch": batch})
    assert errors_of(answer) == {"batch": ["The batch field must hold 1 to 10000 items."]}
    assert await count(client, ws, "solar_lead") == 0


@pytest.fixture
async def roomy_client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server with the default body limit (the test app's is small)."""
    app = create_app(Settings(database_url), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=300) as c:
        yield c


async def test_10000_leads_in_one_request(
    roomy_client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    batch = [{"lead_name": f"Lead {i}", "email": f"lead{i}@example.com"} for i in range(10_000)]
    answer = ok(
        await roomy_client.post(
            BULK,
            json={"entity": "solar_lead", "batch": batch, "source": "csv_import"},
            headers=ws.auth,
        )
    )
    assert (answer["updated"], answer["skipped"], answer["failed"]) == ([], [], [])
    created = answer["created"]
    assert [c["index"] for c in created] == list(range(10_000))
    assert [c["email"] for c in created] == [f"lead{i}@example.com" for i in range(10_000)]
    assert len({c["lead_id"] for c in created}) == 10_000
    assert await count(roomy_client, ws, "solar_lead") == 10_000
    last = await native(roomy_client, ws, "solar_lead", created[-1]["lead_id"])
    assert (last["fields"]["lead_name"], last["fields"]["source"]) == ("Lead 9999", "csv_import")
