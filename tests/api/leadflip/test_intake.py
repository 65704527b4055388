"""POST /intake: loose keys, entities, unmapped values, assignee, notes, status and forms."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.leadflip.conftest import (
    LF,
    Entity,
    count,
    errors_of,
    get_lead,
    lf_error,
    make_entity,
    my_id,
    native,
    notes_of,
    ok,
    take_in,
    user_id,
)
from tests.conftest import Workspace

# --- key matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["lead_name", "LEAD_NAME", "Lead Name", "lead-name", "leadname", "Lead - _ Name", "lEaD nAmE"],
)
async def test_keys_ignore_case_spaces_underscores_and_dashes(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity, key: str
) -> None:
    answer = await take_in(
        client, ws.auth, {"entity": "solar_lead", key: "Ada", "E_MAIL": "ada@example.com"}
    )
    assert answer["unmapped"] == []
    found = await get_lead(client, ws.auth, answer["lead_id"])
    assert found["fields"] == {"lead_name": "Ada", "email": "ada@example.com"}


LABELLED = [
    {"key": "lead_name", "label": "Lead name", "type": "text", "required": True},
    {"key": "email", "label": "E-mail", "type": "email"},
    {"key": "phone", "label": "Mobile number", "type": "phone"},
    # Each of these two is named by the other's label: a key wins over a label.
    {"key": "company", "label": "Employer", "type": "text"},
    {"key": "employer", "label": "Company", "type": "text"},
]


async def test_keys_match_labels(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_entity(client, ws, key="web_lead", label="Web Lead", fields=LABELLED)
    answer = await take_in(
        client,
        ws.auth,
        {
            "entity": "web_lead",
            "Lead Name": "Grace",
            "E-mail": "grace@example.com",
            "Mobile Number": "+1 415 555 0123",
        },
    )
    assert answer["unmapped"] == []
    found = await get_lead(client, ws.auth, answer["lead_id"])
    assert found["fields"] == {
        "lead_name": "Grace",
        "email": "grace@example.com",
        "phone": "+14155550123",
    }


async def test_a_key_wins_over_a_label(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_entity(client, ws, key="web_lead", label="Web Lead", fields=LABELLED)
    answer = await take_in(
        client,
        ws.auth,
        {"entity": "web_lead", "lead_name": "Ann", "Company": "Acme", "EMPLOYER": "Globex"},
    )
    found = await get_lead(client, ws.auth, answer["lead_id"])
    assert found["fields"] == {"lead_name": "Ann", "company": "Acme", "employer": "Globex"}
    answer = await take_in(client, ws.auth, {"entity": "web_lead", "lead_name": "Bo", "company": 1})
    found = await get_lead(client, ws.auth, answer["lead_id"])
    assert found["fields"] == {"lead_name": "Bo", "company": "1"}


# --- entities -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    ["solar_lead", "solar_leads", "Solar Lead", "Solar Leads", "SOLAR-LEADS", "uuid", "UUID"],
)
async def test_entity_by_slug_uuid_label_or_plural_label(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity, ref: str
) -> None:
    entity = {"uuid": solar.id, "UUID": solar.id.upper()}.get(ref, ref)
    answer = await take_in(client, ws.auth, {"entity": entity, "lead_name": "Ada"})
    found = await get_lead(client, ws.auth, answer["lead_id"])
    assert found["entity"] == solar.id
    assert found["fields"] == {"lead_name": "Ada"}


async def test_lead_object_is_the_old_name_of_entity(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await take_in(client, ws.auth, {"lead_object": "solar_leads", "lead_name": "Old"})
    assert answer["unmapped"] == []
    assert (await get_lead(client, ws.auth, answer["lead_id"]))["entity"] == solar.id
    # The standard lead object is an entity too.
    answer = await take_in(
        client, ws.auth, {"lead_object": "Leads", "First Name": "Ada", "Last Name": "Lovelace"}
    )
    record = await native(client, ws, "lead", answer["lead_id"])
    assert (record["fields"]["first_name"], record["fields"]["last_name"]) == ("Ada", "Lovelace")


async def test_unknown_or_missing_entity(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    theirs = await make_entity(client, other_ws, key="their_lead", label="Their Lead")
    for entity in ("spaceship", theirs.id, "their_lead", 5):
        answer = await client.post(
            f"{LF}/intake", json={"entity": entity, "lead_name": "X"}, headers=ws.auth
        )
        lf_error(answer, 404, "Entity not found")
    for payload in ({"lead_name": "X"}, {"entity": "", "lead_name": "X"}):
        answer = await client.post(f"{LF}/intake", json=payload, headers=ws.auth)
        assert errors_of(answer) == {"entity": ["The entity field is required."]}
    assert await count(client, ws, "solar_lead") == 0
    assert await count(client, other_ws, "their_lead") == 0


# --- unmapped keys --------------------------------------------------------------------------


async def test_unmapped_keys_are_kept_on_the_record(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await take_in(
        client,
        ws.auth,
        {
            "entity": "solar_lead",
            "lead_name": "Ada",
            "utm_source": "google",
            "Campaign ID": 42,
            "interests": ["solar", "battery"],
        },
    )
    assert answer["unmapped"] == ["utm_source", "Campaign ID", "interests"]
    kept = {"utm_source": "google", "Campaign ID": 42, "interests": ["solar", "battery"]}
    record = await native(client, ws, "solar_lead", answer["lead_id"])
    assert record["unmapped"] == kept
    assert record["fields"]["lead_name"] == "Ada"
    assert (await get_lead(client, ws.auth, answer["lead_id"]))["unmapped"] == kept


# --- assignee -------------------------------------------------------------------------------


async def test_assignee_by_email_or_uuid_sets_the_owner(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    await ws.add_key(role="agent", email="sam@acme.com")
    sam = await user_id(client, ws, "sam@acme.com")
    for assignee in ("sam@acme.com", sam):
        answer = await take_in(
            client, ws.auth, {"entity": "solar_lead", "lead_name": "Ada", "assignee": assignee}
        )
        assert answer["unmapped"] == []
        assert (await native(client, ws, "solar_lead", answer["lead_id"]))["owner_id"] == sam
        assert (await get_lead(client, ws.auth, answer["lead_id"]))["assignee"] == sam
    # Without one, the caller owns the lead.
    answer = await take_in(client, ws.auth, {"entity": "solar_lead", "lead_name": "Bob"})
    owner = await my_id(client, ws.auth)
    assert (await native(client, ws, "solar_lead", answer["lead_id"]))["owner_id"] == owner


async def test_unknown_assignee_is_422(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, solar: Entity
) -> None:
    await other_ws.add_key(role="agent", email="olga@globex.com")
    olga = await user_id(client, other_ws, "olga@globex.com")
    for assignee in ("nobody@acme.com", "olga@globex.com", olga, "not-a-user"):
        answer = await client.post(
            f"{LF}/intake",
            json={"entity": "solar_lead", "lead_name": "Ada", "assignee": assignee},
            headers=ws.auth,
        )
        assert errors_of(answer) == {
            "assignee": ["The assignee field must be an active user's id or email."]
        }
    assert await count(client, ws, "solar_lead") == 0


@pytest.mark.parametrize("assignee", [5, ["owner@example.com"]])
async def test_assignee_that_is_not_text_is_422(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity, assignee: Any
) -> None:
    answer = await client.post(
        f"{LF}/intake",
        json={"entity": "solar_lead", "lead_name": "Ada", "assignee": assignee},
        headers=ws.auth,
    )
    assert list(errors_of(answer)) == ["assignee"]
    assert await count(client, ws, "solar_lead") == 0


# --- notes ----------------------------------------------------------------------------------


async def test_note_and_notes_become_notes(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await take_in(
        client,
        ws.auth,
        {
            "entity": "solar_lead",
            "lead_name": "Ada",
            "note": "Came from the roof calculator",
            "notes": ["Wants a battery", {"text": "Called twice", "tag": "call"}],
        },
    )
    assert answer["unmapped"] == []
    notes = await notes_of(client, ws, "solar_lead", answer["lead_id"])
    assert sorted((n["body"], n["tag"], n["kind"]) for n in notes) == [
        ("Called twice", "call", "note"),
        ("Came from the roof calculator", None, "note"),
        ("Wants a battery", None, "note"),
    ]
    assert {n["record_id"] for n in notes} == {answer["lead_id"]}
    events = (await get_lead(client, ws.auth, answer["lead_id"]))["events"]
    assert [e["message"] for e in events].count("Note added") == 3


async def test_a_single_note_object(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await take_in(
        client,
        ws.auth,
        {"entity": "solar_lead", "lead_name": "Ada", "notes": {"text": "Hi", "tag": "form"}},
    )
    notes = await notes_of(client, ws, "solar_lead", answer["lead_id"])
    assert [(n["body"], n["tag"]) for n in notes] == [("Hi", "form")]


async def test_bad_notes_are_422(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"notes": ["x"] * 21}, "notes"),
        ({"notes": [{"text": "x", "colour": "red"}]}, "notes[0]"),
        ({"notes": ["fine", 5]}, "notes[1]"),
        ({"note": 5}, "note"),
    ]
    for extra, field in bad:
        answer = await client.post(
            f"{LF}/intake",
            json={"entity": "solar_lead", "lead_name": "Ada", **extra},
            headers=ws.auth,
        )
        assert list(errors_of(answer)) == [field], extra
    assert await count(client, ws, "solar_lead") == 0


# --- status:<pipeline> ----------------------------------------------------------------------


async def test_status_by_stage_name_in_any_case_or_uuid(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    cases = [
        ("status:stage", "qualified", "Qualified"),
        ("status:stage", "NEW", "New"),
        ("status:stage", solar.stages["Qualified"], "Qualified"),
        ("Status: Stage", "New", "New"),
        ("status:Sales", "Qualified", "Qualified"),  # the pipeline by its label
    ]
    for key, value, expected in cases:
        answer = await take_in(
            client, ws.auth, {"entity": "solar_lead", "lead_name": "A", key: value}
        )
        assert answer["unmapped"] == [], key
        found = await get_lead(client, ws.auth, answer["lead_id"])
        assert found["status_step"] == expected, (key, value)
        record = await native(client, ws, "solar_lead", answer["lead_id"])
        assert record["fields"]["stage"] == expected


async def test_unknown_pipeline_or_stage_is_422(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await client.post(
        f"{LF}/intake",
        json={"entity": "solar_lead", "lead_name": "A", "status:funnel": "New"},
        headers=ws.auth,
    )
    assert errors_of(answer) == {"status:funnel": ["No pipeline 'funnel' on solar_lead."]}
    answer = await client.post(
        f"{LF}/intake",
        json={"entity": "solar_lead", "lead_name": "A", "status:stage": "Won"},
        headers=ws.auth,
    )
    assert errors_of(answer) == {
        "status:stage": ["No stage 'Won' in Sales; stages: New, Qualified."]
    }
    assert await count(client, ws, "solar_lead") == 0


# --- forms ----------------------------------------------------------------------------------


async def test_url_encoded_form(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    answer = ok(
        await client.post(
            f"{LF}/intake",
            data={
                "entity": "Solar Leads",
                "Lead Name": "Form Fan",
                "E-mail": "FAN@example.com",
                "status:stage": "qualified",
                "note": "From the landing page",
                "gclid": "abc123",
            },
            headers=ws.auth,
        )
    )
    assert answer["result"] == "created"
    assert answer["unmapped"] == ["gclid"]
    found = await get_lead(client, ws.auth, answer["lead_id"])
    assert found["fields"] == {
        "lead_name": "Form Fan",
        "email": "fan@example.com",
        "stage": "Qualified",
    }
    assert found["unmapped"] == {"gclid": "abc123"}
    notes = await notes_of(client, ws, "solar_lead", answer["lead_id"])
    assert [n["body"] for n in notes] == ["From the landing page"]


async def test_multipart_form(client: httpx.AsyncClient, ws: Workspace, solar: Entity) -> None:
    # Parts without a file name are plain values.
    parts = {
        "entity": (None, "solar_lead"),
        "lead_name": (None, "Multi Part"),
        "phone": (None, "+1 415 555 0199"),
        "status:stage": (None, "New"),
    }
    answer = await client.post(f"{LF}/intake", files=parts, headers=ws.auth)
    assert answer.request.headers["content-type"].startswith("multipart/form-data")
    lead_id = ok(answer)["lead_id"]
    found = await get_lead(client, ws.auth, lead_id)
    assert found["fields"] == {"lead_name": "Multi Part", "phone": "+14155550199", "stage": "New"}


async def test_form_with_an_uploaded_file_is_refused(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await client.post(
        f"{LF}/intake",
        data={"entity": "solar_lead", "lead_name": "Ada"},
        files={"resume": ("cv.txt", b"hello")},
        headers=ws.auth,
    )
    assert errors_of(answer) == {"resume": ["The resume field must be a value, not a file."]}
    assert await count(client, ws, "solar_lead") == 0
