"""Pipelines through the native API: stages, the stage field they bring, records in stages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, detail_fields

API = "/api/v1"
#: The tests' own pipeline on lead, keyed apart from the seeded ``stage`` pipeline.
SALES = {
    "key": "funnel",
    "label": "Sales",
    "object": "lead",
    "stages": [
        {"name": "New", "kind": "open", "probability": 10},
        {"name": "Working", "kind": "open", "probability": 50},
        {"name": "Converted", "kind": "won", "probability": 100},
        {"name": "Dropped", "kind": "lost", "probability": 0},
    ],
}


# --- helpers ------------------------------------------------------------------------------


async def make_pipeline(client: httpx.AsyncClient, ws: Workspace, **changes: Any) -> dict[str, Any]:
    answer = await client.post(f"{API}/pipelines", json={**SALES, **changes}, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def make_lead(client: httpx.AsyncClient, ws: Workspace, **values: Any) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/lead/records",
        json={"fields": {"first_name": "Ada", **values}},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def read_lead(client: httpx.AsyncClient, ws: Workspace, record_id: str) -> dict[str, Any]:
    answer = await client.get(f"{API}/objects/lead/records/{record_id}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def get_pipeline(client: httpx.AsyncClient, ws: Workspace, ref: str) -> dict[str, Any]:
    answer = await client.get(f"{API}/pipelines/{ref}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def stage_list(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """The pipeline's stages as a PATCH body would give them back (ids kept)."""
    return [
        {"id": s["id"], "name": s["name"], "kind": s["kind"], "probability": s["probability"]}
        for s in pipeline["stages"]
    ]


def ids_by_name(pipeline: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["id"] for s in pipeline["stages"]}


async def lead_pipelines(client: httpx.AsyncClient, ws: Workspace) -> list[dict[str, Any]]:
    answer = await client.get(f"{API}/pipelines", params={"object": "lead"}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


#: The seeded lead pipeline's stages: (name, kind, probability, system_key).
LEAD_STAGES = [
    ("New", "open", 10, "new"),
    ("Contacted", "open", 20, None),
    ("Qualified", "open", 50, "qualified"),
    ("Unqualified", "lost", 0, "lost"),
    ("Converted", "won", 100, "won"),
]


def assert_seeded_lead_pipeline(pipeline: dict[str, Any]) -> None:
    assert pipeline["key"] == "stage"
    assert pipeline["label"] == "Lead pipeline"
    assert pipeline["object"] == "lead"
    assert [
        (s["name"], s["kind"], s["probability"], s["system_key"]) for s in pipeline["stages"]
    ] == LEAD_STAGES
    assert [s["position"] for s in pipeline["stages"]] == [0, 1, 2, 3, 4]


async def patch_pipeline(
    client: httpx.AsyncClient, ws: Workspace, pipeline_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"{API}/pipelines/{pipeline_id}", json=body, headers=ws.auth)


# --- the seeded deal pipeline -------------------------------------------------------------


async def test_deal_has_a_seeded_pipeline(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    assert answer.status_code == 200
    [deal] = answer.json()["data"]
    assert deal["key"] == "stage"
    assert deal["object"] == "deal"
    assert [(s["name"], s["kind"], s["probability"]) for s in deal["stages"]] == [
        ("Qualification", "open", 10),
        ("Proposal", "open", 40),
        ("Negotiation", "open", 70),
        ("Won", "won", 100),
        ("Lost", "lost", 0),
    ]
    assert [s["position"] for s in deal["stages"]] == [0, 1, 2, 3, 4]
    assert deal["stages"][3]["system_key"] == "won"

    field = await client.get(f"{API}/objects/deal/fields/stage", headers=ws.auth)
    assert field.status_code == 200
    assert field.json()["type"] == "stage"
    assert field.json()["options"] == {"pipeline_id": deal["id"]}

    created = await client.post(
        f"{API}/objects/deal/records",
        json={"fields": {"name": "Big deal", "stage": "proposal"}},
        headers=ws.auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["fields"]["stage"] == "Proposal"


async def test_lead_has_a_seeded_pipeline(client: httpx.AsyncClient, ws: Workspace) -> None:
    [lead] = await lead_pipelines(client, ws)
    assert_seeded_lead_pipeline(lead)
    assert len({s["id"] for s in lead["stages"]}) == 5
    assert await get_pipeline(client, ws, lead["id"]) == lead

    field = await client.get(f"{API}/objects/lead/fields/stage", headers=ws.auth)
    assert field.status_code == 200, field.text
    assert field.json()["type"] == "stage"
    assert field.json()["options"] == {"pipeline_id": lead["id"]}
    # Beside its pipeline, a lead has a status select of its own, as contacts do.
    lead_status = await client.get(f"{API}/objects/lead/fields/status", headers=ws.auth)
    assert lead_status.json()["type"] == "select"
    status = await client.get(f"{API}/objects/contact/fields/status", headers=ws.auth)
    assert status.status_code == 200, status.text
    assert status.json()["type"] == "select"

    for given in ("qualified", "Qualified", "QUALIFIED", "  qUaLiFiEd "):
        created = await make_lead(client, ws, stage=given)
        assert created["fields"]["stage"] == "Qualified", given
        assert (await read_lead(client, ws, created["id"]))["fields"]["stage"] == "Qualified"
    assert (await make_lead(client, ws))["fields"]["stage"] is None

    # The standard lead pipeline, like the deal's, cannot be deleted.
    assert_error(
        await client.delete(f"{API}/pipelines/{lead['id']}", headers=ws.auth), 409, "conflict"
    )
    assert await get_pipeline(client, ws, lead["id"]) == lead


async def test_object_without_pipeline_has_none(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{API}/pipelines", params={"object": "contact"}, headers=ws.auth)
    assert answer.status_code == 200
    assert answer.json()["data"] == []
    assert_error(
        await client.get(f"{API}/objects/contact/fields/stage", headers=ws.auth), 404, "not_found"
    )
    assert_error(
        await client.get(f"{API}/objects/lead/fields/funnel", headers=ws.auth), 404, "not_found"
    )


# --- creating -----------------------------------------------------------------------------


async def test_create_pipeline_on_lead(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(f"{API}/pipelines", json=SALES, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["key"] == "funnel"
    assert created["label"] == "Sales"
    assert created["object"] == "lead"
    assert [(s["name"], s["kind"], s["probability"], s["position"]) for s in created["stages"]] == [
        ("New", "open", 10, 0),
        ("Working", "open", 50, 1),
        ("Converted", "won", 100, 2),
        ("Dropped", "lost", 0, 3),
    ]
    assert len({s["id"] for s in created["stages"]}) == 4

    field = await client.get(f"{API}/objects/lead/fields/funnel", headers=ws.auth)
    assert field.status_code == 200, field.text
    assert field.json()["type"] == "stage"
    assert field.json()["label"] == "Sales"
    assert field.json()["options"] == {"pipeline_id": created["id"]}
    lead = (await client.get(f"{API}/objects/lead", headers=ws.auth)).json()
    assert {"stage", "funnel"} <= {f["key"] for f in lead["fields"]}

    assert await get_pipeline(client, ws, created["id"]) == created
    listed = await client.get(f"{API}/pipelines", headers=ws.auth)
    assert sorted((p["object"], p["key"]) for p in listed.json()["data"]) == [
        ("deal", "stage"),
        ("lead", "funnel"),
        ("lead", "stage"),
    ]
    assert listed.json()["data"][-1] == created
    seeded, own = await lead_pipelines(client, ws)
    assert_seeded_lead_pipeline(seeded)
    assert own == created


async def test_stage_defaults(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(
        client,
        ws,
        key="journey",
        stages=[
            {"name": "Start"},
            {"name": "Done", "kind": "won"},
            {"name": "Gone", "kind": "lost"},
        ],
    )
    assert [(s["kind"], s["probability"]) for s in created["stages"]] == [
        ("open", 0),
        ("won", 100),
        ("lost", 0),
    ]


async def test_pipeline_on_custom_object(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await client.post(
        f"{API}/objects", json={"key": "ticket", "label": "Ticket"}, headers=ws.auth
    )
    assert made.status_code == 201, made.text
    pipeline = await make_pipeline(
        client,
        ws,
        key="status",
        label="Status",
        object="ticket",
        stages=[{"name": "Open"}, {"name": "Closed", "kind": "won"}],
    )
    assert pipeline["object"] == "ticket"
    record = await client.post(
        f"{API}/objects/ticket/records", json={"fields": {"status": "closed"}}, headers=ws.auth
    )
    assert record.status_code == 201, record.text
    assert record.json()["fields"] == {"status": "Closed"}


async def test_pipeline_on_unknown_object_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/pipelines", json={**SALES, "object": "nope"}, headers=ws.auth
    )
    assert_error(answer, 404, "not_found")


async def test_pipeline_key_taken_by_a_field_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    taken = await client.post(f"{API}/pipelines", json={**SALES, "key": "email"}, headers=ws.auth)
    assert_error(taken, 409, "conflict")
    # The seeded pipeline's stage field holds the key "stage" on lead.
    seeded = await client.post(f"{API}/pipelines", json={**SALES, "key": "stage"}, headers=ws.auth)
    error = assert_error(seeded, 409, "conflict")
    assert error["message"] == "lead already has a field keyed 'stage'"
    await make_pipeline(client, ws)
    again = await client.post(f"{API}/pipelines", json=SALES, headers=ws.auth)
    assert_error(again, 409, "conflict")
    listed = await lead_pipelines(client, ws)
    assert [p["key"] for p in listed] == ["stage", "funnel"]
    assert_seeded_lead_pipeline(listed[0])


async def test_duplicate_stage_names_are_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/pipelines",
        json={**SALES, "stages": [{"name": "New"}, {"name": "Working"}, {"name": " new "}]},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["stages[2].name"]
    assert_error(
        await client.get(f"{API}/objects/lead/fields/funnel", headers=ws.auth), 404, "not_found"
    )
    [seeded] = await lead_pipelines(client, ws)
    assert_seeded_lead_pipeline(seeded)


async def test_bad_stage_kind_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/pipelines",
        json={**SALES, "stages": [{"name": "New"}, {"name": "Done", "kind": "finished"}]},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    [where] = detail_fields(answer)
    # The body model names it "stages.1.kind"; the service style would be "stages[1].kind".
    assert where in ("stages.1.kind", "stages[1].kind")


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({"stages": []}, "stages"),
        ({"stages": [{"name": "New", "probability": 101}]}, "stages[0].probability"),
        ({"stages": [{"name": "New", "probability": -1}]}, "stages[0].probability"),
        ({"stages": [{"name": ""}]}, "stages[0].name"),
        ({"stages": [{"name": "New", "system_key": "Not A Key"}]}, "stages[0].system_key"),
        ({"key": "Bad Key"}, "key"),
        ({"key": "id"}, "key"),
        ({"label": " "}, "label"),
    ],
)
async def test_bad_pipeline_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], bad: str
) -> None:
    answer = await client.post(f"{API}/pipelines", json={**SALES, **body}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [bad]


async def test_pipeline_body_must_be_complete(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/pipelines", json={"key": "stage", "extra": 1}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert sorted(detail_fields(answer)) == ["extra", "label", "object", "stages"]


async def test_agent_may_read_but_not_change_pipelines(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = {"Authorization": f"Bearer {await ws.add_key(role='agent', email='al@acme.test')}"}
    assert (await client.get(f"{API}/pipelines", headers=agent)).status_code == 200
    assert_error(
        await client.post(f"{API}/pipelines", json=SALES, headers=agent), 403, "permission_denied"
    )
    deal = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    deal_id = deal.json()["data"][0]["id"]
    assert_error(
        await client.patch(f"{API}/pipelines/{deal_id}", json={"label": "Mine"}, headers=agent),
        403,
        "permission_denied",
    )
    assert_error(
        await client.delete(f"{API}/pipelines/{deal_id}", headers=agent), 403, "permission_denied"
    )
    assert (await get_pipeline(client, ws, deal_id))["label"] == "Sales pipeline"


async def test_pipelines_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    created = await make_pipeline(client, ws)
    assert_error(
        await client.get(f"{API}/pipelines/{created['id']}", headers=other_ws.auth),
        404,
        "not_found",
    )
    [mine_seeded, mine] = await lead_pipelines(client, ws)
    assert mine == created
    [theirs] = await lead_pipelines(client, other_ws)
    assert_seeded_lead_pipeline(theirs)
    assert theirs["id"] != mine_seeded["id"]
    assert_error(
        await client.get(f"{API}/objects/lead/fields/funnel", headers=other_ws.auth),
        404,
        "not_found",
    )
    assert_error(
        await client.delete(f"{API}/pipelines/{created['id']}", headers=other_ws.auth),
        404,
        "not_found",
    )


# --- records in stages --------------------------------------------------------------------


async def test_record_stage_by_name_or_id(client: httpx.AsyncClient, ws: Workspace) -> None:
    pipeline = await make_pipeline(client, ws)
    stage_ids = ids_by_name(pipeline)

    by_name = await make_lead(client, ws, funnel="working")
    assert by_name["fields"]["funnel"] == "Working"
    shouting = await make_lead(client, ws, funnel="  CONVERTED ")
    assert shouting["fields"]["funnel"] == "Converted"
    by_id = await make_lead(client, ws, funnel=stage_ids["Dropped"])
    assert by_id["fields"]["funnel"] == "Dropped"
    none = await make_lead(client, ws)
    assert none["fields"]["funnel"] is None

    assert (await read_lead(client, ws, by_id["id"]))["fields"]["funnel"] == "Dropped"
    moved = await client.patch(
        f"{API}/objects/lead/records/{by_name['id']}",
        json={"fields": {"funnel": "New"}},
        headers=ws.auth,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["fields"]["funnel"] == "New"
    cleared = await client.patch(
        f"{API}/objects/lead/records/{by_name['id']}",
        json={"fields": {"funnel": None}},
        headers=ws.auth,
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["fields"]["funnel"] is None


async def test_unknown_stage_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_pipeline(client, ws)
    deal = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    won_deal_stage = deal.json()["data"][0]["stages"][3]["id"]
    # "Qualified" and this id are stages of the lead's other (seeded) pipeline, not the funnel's.
    seeded = (await lead_pipelines(client, ws))[0]
    assert seeded["key"] == "stage"
    qualified_lead_stage = ids_by_name(seeded)["Qualified"]
    for bad in (
        "Qualified",
        qualified_lead_stage,
        won_deal_stage,
        "0190a3b4-7c2d-7000-8000-000000000001",
        3,
    ):
        answer = await client.post(
            f"{API}/objects/lead/records",
            json={"fields": {"first_name": "Ada", "funnel": bad}},
            headers=ws.auth,
        )
        error = assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == ["funnel"], bad
        if bad == "Qualified":
            assert "New" in error["details"][0]["message"]


# --- changing -----------------------------------------------------------------------------


async def test_relabel_pipeline(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws)
    answer = await patch_pipeline(client, ws, created["id"], {"label": " Lead funnel "})
    assert answer.status_code == 200, answer.text
    assert answer.json()["label"] == "Lead funnel"
    assert answer.json()["stages"] == created["stages"]
    assert (await get_pipeline(client, ws, created["id"]))["label"] == "Lead funnel"


async def test_reorder_and_rename_stages_keep_ids(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws)
    ids = ids_by_name(created)
    lead = await make_lead(client, ws, funnel="Working")

    stages = stage_list(created)
    stages[1]["name"] = "In progress"
    stages[1]["probability"] = 60
    reordered = [stages[1], stages[0], stages[3], stages[2]]
    answer = await patch_pipeline(client, ws, created["id"], {"stages": reordered})
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert [(s["name"], s["id"], s["position"]) for s in updated["stages"]] == [
        ("In progress", ids["Working"], 0),
        ("New", ids["New"], 1),
        ("Dropped", ids["Dropped"], 2),
        ("Converted", ids["Converted"], 3),
    ]
    assert updated["stages"][0]["probability"] == 60
    assert await get_pipeline(client, ws, created["id"]) == updated

    # The record stayed in its stage, which now reads by its new name.
    assert (await read_lead(client, ws, lead["id"]))["fields"]["funnel"] == "In progress"
    assert (await make_lead(client, ws, funnel="in progress"))["fields"]["funnel"] == "In progress"
    old_name = await client.post(
        f"{API}/objects/lead/records", json={"fields": {"funnel": "Working"}}, headers=ws.auth
    )
    assert_error(old_name, 422, "validation_failed")


async def test_add_a_stage(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws)
    stages = stage_list(created)
    stages.insert(2, {"name": "Nurturing", "kind": "open", "probability": 30})
    answer = await patch_pipeline(client, ws, created["id"], {"stages": stages})
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert [s["name"] for s in updated["stages"]] == [
        "New",
        "Working",
        "Nurturing",
        "Converted",
        "Dropped",
    ]
    assert [s["position"] for s in updated["stages"]] == [0, 1, 2, 3, 4]
    new_id = updated["stages"][2]["id"]
    assert new_id not in ids_by_name(created).values()
    assert ids_by_name(updated)["New"] == ids_by_name(created)["New"]
    lead = await make_lead(client, ws, funnel=new_id)
    assert lead["fields"]["funnel"] == "Nurturing"


async def test_remove_an_empty_stage(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws)
    await make_lead(client, ws, funnel="New")
    stages = [s for s in stage_list(created) if s["name"] != "Working"]
    answer = await patch_pipeline(client, ws, created["id"], {"stages": stages})
    assert answer.status_code == 200, answer.text
    assert [s["name"] for s in answer.json()["stages"]] == ["New", "Converted", "Dropped"]
    gone = await client.post(
        f"{API}/objects/lead/records", json={"fields": {"funnel": "Working"}}, headers=ws.auth
    )
    assert_error(gone, 422, "validation_failed")
    assert detail_fields(gone) == ["funnel"]


async def test_removing_a_stage_holding_records_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    created = await make_pipeline(client, ws)
    lead = await make_lead(client, ws, funnel="Working")
    stages = [s for s in stage_list(created) if s["name"] != "Working"]
    answer = await patch_pipeline(client, ws, created["id"], {"label": "Renamed", "stages": stages})
    error = assert_error(answer, 409, "conflict")
    assert "Working" in error["message"]
    assert detail_fields(answer) == ["stages"]
    # Nothing of the refused change was kept, the label included.
    assert await get_pipeline(client, ws, created["id"]) == created
    assert (await read_lead(client, ws, lead["id"]))["fields"]["funnel"] == "Working"

    # A stage left out without its id is removed too: a same-named new stage is no refuge.
    renamed = [{**s, "id": None} if s["name"] == "Working" else s for s in stage_list(created)]
    again = await patch_pipeline(client, ws, created["id"], {"stages": renamed})
    assert_error(again, 409, "conflict")

    moved = await client.patch(
        f"{API}/objects/lead/records/{lead['id']}",
        json={"fields": {"funnel": "New"}},
        headers=ws.auth,
    )
    assert moved.status_code == 200, moved.text
    ok = await patch_pipeline(client, ws, created["id"], {"stages": stages})
    assert ok.status_code == 200, ok.text


async def test_patch_refusals(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws)
    deal = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    deal_stage = deal.json()["data"][0]["stages"][0]

    stages = stage_list(created)
    foreign = await patch_pipeline(
        client,
        ws,
        created["id"],
        {"stages": [*stages, {"id": deal_stage["id"], "name": "Qualification"}]},
    )
    assert_error(foreign, 422, "validation_failed")
    assert detail_fields(foreign) == ["stages"]

    dupes = await patch_pipeline(client, ws, created["id"], {"stages": [*stages, {"name": "NEW"}]})
    assert_error(dupes, 422, "validation_failed")
    assert detail_fields(dupes) == ["stages[4].name"]

    empty = await patch_pipeline(client, ws, created["id"], {"stages": []})
    assert_error(empty, 422, "validation_failed")
    assert detail_fields(empty) == ["stages"]

    key = await patch_pipeline(client, ws, created["id"], {"key": "phase"})
    assert_error(key, 422, "validation_failed")
    assert detail_fields(key) == ["key"]

    label = await patch_pipeline(client, ws, created["id"], {"label": ""})
    assert_error(label, 422, "validation_failed")
    assert detail_fields(label) == ["label"]

    assert await get_pipeline(client, ws, created["id"]) == created


async def test_stage_field_is_managed_by_its_pipeline(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_pipeline(client, ws)
    deleted = await client.delete(f"{API}/objects/lead/fields/funnel", headers=ws.auth)
    assert_error(deleted, 409, "conflict")
    retyped = await client.patch(
        f"{API}/objects/lead/fields/funnel", json={"type": "text"}, headers=ws.auth
    )
    assert_error(retyped, 422, "validation_failed")
    assert detail_fields(retyped) == ["type"]
    renamed = await client.patch(
        f"{API}/objects/lead/fields/funnel", json={"key": "phase"}, headers=ws.auth
    )
    assert_error(renamed, 422, "validation_failed")
    assert detail_fields(renamed) == ["key"]
    deal = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    rebound = await client.patch(
        f"{API}/objects/lead/fields/funnel",
        json={"options": {"pipeline_id": deal.json()["data"][0]["id"]}},
        headers=ws.auth,
    )
    assert_error(rebound, 422, "validation_failed")
    assert detail_fields(rebound) == ["options"]
    relabelled = await client.patch(
        f"{API}/objects/lead/fields/funnel", json={"label": "Funnel stage"}, headers=ws.auth
    )
    assert relabelled.status_code == 200, relabelled.text
    field = await client.get(f"{API}/objects/lead/fields/funnel", headers=ws.auth)
    assert field.json()["type"] == "stage"
    assert field.json()["label"] == "Funnel stage"
    # The pipeline still guards its stages and can still be deleted.
    lead = await make_lead(client, ws, funnel="Working")
    [pipeline_id] = [p["id"] for p in await lead_pipelines(client, ws) if p["key"] == "funnel"]
    assert (await read_lead(client, ws, lead["id"]))["fields"]["funnel"] == "Working"
    assert (
        await client.delete(f"{API}/pipelines/{pipeline_id}", headers=ws.auth)
    ).status_code == 204


async def test_standard_stage_field_keeps_its_key(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.patch(
        f"{API}/objects/deal/fields/stage", json={"key": "phase"}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["key"]


async def test_unknown_pipeline_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    missing = "0190a3b4-7c2d-7000-8000-000000000001"
    for answer in (
        await client.get(f"{API}/pipelines/{missing}", headers=ws.auth),
        await client.get(f"{API}/pipelines/nope", headers=ws.auth),
        await patch_pipeline(client, ws, missing, {"label": "X"}),
        await client.delete(f"{API}/pipelines/{missing}", headers=ws.auth),
    ):
        assert_error(answer, 404, "not_found")
    unknown_object = await client.get(
        f"{API}/pipelines", params={"object": "nope"}, headers=ws.auth
    )
    assert_error(unknown_object, 404, "not_found")


async def test_pipeline_by_key_when_unambiguous(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws, key="funnel")
    assert (await get_pipeline(client, ws, "funnel"))["id"] == created["id"]
    # Lead and deal both have a pipeline keyed "stage": the key alone names neither.
    assert_error(await client.get(f"{API}/pipelines/stage", headers=ws.auth), 404, "not_found")
    assert_error(await patch_pipeline(client, ws, "stage", {"label": "X"}), 404, "not_found")
    for obj in ("deal", "lead"):
        listed = await client.get(f"{API}/pipelines", params={"object": obj}, headers=ws.auth)
        by_id = await get_pipeline(client, ws, listed.json()["data"][0]["id"])
        assert (by_id["object"], by_id["key"]) == (obj, "stage")


# --- deleting -----------------------------------------------------------------------------


async def test_delete_pipeline(client: httpx.AsyncClient, ws: Workspace) -> None:
    created = await make_pipeline(client, ws)
    lead = await make_lead(client, ws, funnel="Working", stage="Contacted")

    answer = await client.delete(f"{API}/pipelines/{created['id']}", headers=ws.auth)
    assert answer.status_code == 204
    assert answer.content == b""
    assert_error(
        await client.get(f"{API}/pipelines/{created['id']}", headers=ws.auth), 404, "not_found"
    )
    assert_error(
        await client.get(f"{API}/objects/lead/fields/funnel", headers=ws.auth), 404, "not_found"
    )
    [seeded] = await lead_pipelines(client, ws)
    assert_seeded_lead_pipeline(seeded)

    fields = (await read_lead(client, ws, lead["id"]))["fields"]
    assert "funnel" not in fields
    assert fields["first_name"] == "Ada"
    # The lead's other pipeline and its field are untouched.
    assert fields["stage"] == "Contacted"
    refused = await client.post(
        f"{API}/objects/lead/records", json={"fields": {"funnel": "New"}}, headers=ws.auth
    )
    assert_error(refused, 422, "validation_failed")
    assert detail_fields(refused) == ["funnel"]

    # A new pipeline with the same key starts clean.
    await make_pipeline(client, ws)
    assert (await read_lead(client, ws, lead["id"]))["fields"]["funnel"] is None


async def test_the_standard_deal_pipeline_cannot_be_deleted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    listed = await client.get("/api/v1/pipelines?object=deal", headers=ws.auth)
    pipeline_id = listed.json()["data"][0]["id"]
    answer = await client.delete(f"/api/v1/pipelines/{pipeline_id}", headers=ws.auth)
    assert answer.status_code == 409
    assert (
        await client.get(f"/api/v1/pipelines/{pipeline_id}", headers=ws.auth)
    ).status_code == 200


async def test_pipeline_by_object_and_key(client: httpx.AsyncClient, ws: Workspace) -> None:
    """lead and deal both have a pipeline keyed stage: object.key names each one."""
    lead = await client.get(f"{API}/pipelines/lead.stage", headers=ws.auth)
    deal = await client.get(f"{API}/pipelines/deal.stage", headers=ws.auth)
    assert (lead.status_code, deal.status_code) == (200, 200)
    assert (lead.json()["object"], lead.json()["label"]) == ("lead", "Lead pipeline")
    assert (deal.json()["object"], deal.json()["label"]) == ("deal", "Sales pipeline")
    both = await client.get(f"{API}/pipelines/stage", headers=ws.auth)
    error = assert_error(both, 404, "not_found")
    assert "deal, lead" in error["message"]
    assert_error(await client.get(f"{API}/pipelines/case.stage", headers=ws.auth), 404, "not_found")
