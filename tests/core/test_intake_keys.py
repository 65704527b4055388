"""Matching loosely written intake keys to objects, fields and pipelines, without HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.intake.keys import KeyMatcher, find_object, matcher_for, normalise
from crm.core.metadata.model import WorkspaceMeta
from crm.core.metadata.service import fresh_metadata
from crm.db.engine import transaction
from tests.conftest import Workspace

API = "/api/v1"


def field_key(matcher: KeyMatcher, name: str) -> str | None:
    found = matcher.field(name)
    return found.key if found else None


def pipeline_key(matcher: KeyMatcher, name: str) -> str | None:
    found = matcher.pipeline(name)
    return found.key if found else None


async def meta_of(ws: Workspace) -> WorkspaceMeta:
    async with transaction(ws.engine, write=False) as conn:
        return await fresh_metadata(conn, ws.id)


async def add_field(client: httpx.AsyncClient, ws: Workspace, obj: str, **spec: Any) -> None:
    answer = await client.post(f"{API}/objects/{obj}/fields", json=spec, headers=ws.auth)
    assert answer.status_code == 201, answer.text


async def add_object(client: httpx.AsyncClient, ws: Workspace, **spec: Any) -> dict[str, Any]:
    answer = await client.post(f"{API}/objects", json=spec, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# --- normalise ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("Lead Name", "leadname"),
        ("lead_name", "leadname"),
        ("LEAD-NAME", "leadname"),
        ("  lead \t name\n", "leadname"),
        ("lead__--  name", "leadname"),
        ("E-Mail", "email"),
        ("e_mail", "email"),
        ("EMAIL", "email"),
        ("Straße", "strasse"),
        ("ÉMAIL", "émail"),
        ("status:Lead pipeline", "status:leadpipeline"),
        ("a.b", "a.b"),
        ("zip2", "zip2"),
        ("", ""),
        (" _-", ""),
    ],
)
def test_normalise(key: str, expected: str) -> None:
    assert normalise(key) == expected


def test_normalise_is_idempotent() -> None:
    for key in ("Lead Name", "E-Mail address", "Straße"):
        assert normalise(normalise(key)) == normalise(key)


# --- matcher_for --------------------------------------------------------------------------


async def test_fields_by_key_or_label(ws: Workspace) -> None:
    meta = await meta_of(ws)
    contact = meta.object("contact")
    matcher = matcher_for(meta, contact)
    for key, field in [
        ("first_name", "first_name"),
        ("First Name", "first_name"),
        ("FIRST-NAME", "first_name"),
        ("Postal code", "zip"),
        ("postal_code", "zip"),
        ("ZIP", "zip"),
        ("e-mail", "email"),
    ]:
        found = matcher.field(key)
        assert found is not None, key
        assert found.key == field
        assert found is contact.fields[field]
    for key in ("utm_source", "email address", "", "first name x"):
        assert matcher.field(key) is None


async def test_a_key_beats_a_label(client: httpx.AsyncClient, ws: Workspace) -> None:
    # "Phone" is the label of the new field, but the key of a standard one: the key wins,
    # whichever field comes first.
    await add_field(client, ws, "contact", key="home_phone", label="Phone", type="phone")
    await add_field(client, ws, "contact", key="office", label="City", type="text")
    meta = await meta_of(ws)
    matcher = matcher_for(meta, meta.object("contact"))
    assert [field_key(matcher, k) for k in ("phone", "Phone", "PHONE")] == ["phone"] * 3
    assert field_key(matcher, "city") == "city"
    assert field_key(matcher, "home phone") == "home_phone"
    assert field_key(matcher, "Office") == "office"


async def test_first_field_wins_a_shared_label(client: httpx.AsyncClient, ws: Workspace) -> None:
    await add_field(client, ws, "contact", key="home_a", label="Home", type="text")
    await add_field(client, ws, "contact", key="home_b", label="Home", type="text")
    meta = await meta_of(ws)
    contact = meta.object("contact")
    first = min(
        (contact.fields["home_a"], contact.fields["home_b"]), key=lambda f: (f.position, f.id)
    )
    assert matcher_for(meta, contact).field("home") is first


async def test_many_to_many_relations_are_not_matched(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await add_field(
        client,
        ws,
        "contact",
        key="companies",
        label="Employers",
        type="relation",
        options={"object": "company", "multiple": True},
    )
    await add_field(
        client,
        ws,
        "contact",
        key="employer",
        label="Main employer",
        type="relation",
        options={"object": "company"},
    )
    meta = await meta_of(ws)
    matcher = matcher_for(meta, meta.object("contact"))
    assert matcher.field("companies") is None
    assert matcher.field("Employers") is None
    assert field_key(matcher, "main employer") == "employer"


async def test_pipelines_by_key_or_label(client: httpx.AsyncClient, ws: Workspace) -> None:
    meta = await meta_of(ws)
    lead = matcher_for(meta, meta.object("lead"))
    by_key, by_label = lead.pipeline("stage"), lead.pipeline("LEAD_PIPELINE")
    assert by_key is not None
    assert by_key is by_label
    assert by_key.label == "Lead pipeline"
    assert by_key.object_type_id == meta.object("lead").id
    # Only the object's own pipelines: the deals' pipeline is not the leads'.
    assert lead.pipeline("Sales pipeline") is None
    deal = matcher_for(meta, meta.object("deal"))
    assert deal.pipeline("sales pipeline") is not None
    assert deal.pipeline("lead pipeline") is None
    assert matcher_for(meta, meta.object("contact")).pipeline("stage") is None


async def test_a_pipeline_key_beats_a_pipeline_label(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{API}/pipelines",
        json={
            "key": "lead_pipeline",
            "label": "Nurture",
            "object": "lead",
            "stages": [{"name": "Cold", "kind": "open"}, {"name": "Warm", "kind": "open"}],
        },
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    meta = await meta_of(ws)
    lead = matcher_for(meta, meta.object("lead"))
    assert pipeline_key(lead, "Lead pipeline") == "lead_pipeline"
    assert pipeline_key(lead, "nurture") == "lead_pipeline"
    stage = lead.pipeline("stage")
    assert stage is not None
    assert stage.label == "Lead pipeline"


async def test_matcher_follows_metadata_versions(client: httpx.AsyncClient, ws: Workspace) -> None:
    before = await meta_of(ws)
    contact = before.object("contact")
    matcher = matcher_for(before, contact)
    assert matcher_for(before, contact) is matcher
    assert matcher.field("Favourite colour") is None
    await add_field(client, ws, "contact", key="colour", label="Favourite colour", type="text")
    after = await meta_of(ws)
    assert after.version != before.version
    assert field_key(matcher_for(after, after.object("contact")), "favourite-colour") == "colour"
    # The old version's matcher is unchanged.
    assert matcher_for(before, contact).field("Favourite colour") is None


async def test_matchers_are_per_workspace_and_object(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await add_field(client, ws, "contact", key="colour", label="Colour", type="text")
    ours, theirs = await meta_of(ws), await meta_of(other_ws)
    assert matcher_for(ours, ours.object("contact")).field("colour") is not None
    assert matcher_for(theirs, theirs.object("contact")).field("colour") is None
    assert matcher_for(ours, ours.object("lead")).field("colour") is None
    company = matcher_for(ours, ours.object("company"))
    name = company.field("name")
    assert name is not None
    assert name.object_type_id == ours.object("company").id


# --- find_object --------------------------------------------------------------------------


async def test_find_object_by_key_uuid_or_label(ws: Workspace) -> None:
    meta = await meta_of(ws)
    contact = meta.object("contact")
    for ref in (
        "contact",
        "Contact",
        "CONTACT",
        " contact ",
        "Contacts",
        "contacts",
        str(contact.uuid),
        str(contact.uuid).upper(),
        f" {contact.uuid} ",
    ):
        assert find_object(meta, ref) is contact, ref
    assert find_object(meta, "Companies") is meta.object("company")
    assert find_object(meta, "case") is meta.object("case")


async def test_find_custom_object_loosely(client: httpx.AsyncClient, ws: Workspace) -> None:
    await add_object(
        client,
        ws,
        key="sales_opportunity",
        label="Sales opportunity",
        plural_label="Sales opportunities",
    )
    meta = await meta_of(ws)
    wanted = meta.object("sales_opportunity")
    for ref in (
        "sales_opportunity",
        "Sales Opportunity",
        "SALES-OPPORTUNITIES",
        "salesopportunity",
    ):
        assert find_object(meta, ref) is wanted, ref


@pytest.mark.parametrize("ref", ["spaceship", "", "   ", "contactz", "con tact s x", "1"])
async def test_find_object_unknown_is_none(ws: Workspace, ref: str) -> None:
    assert find_object(await meta_of(ws), ref) is None


async def test_find_object_is_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await add_object(client, other_ws, key="vessel", label="Vessel")
    meta = await meta_of(ws)
    assert find_object(meta, "vessel") is None
    assert find_object(meta, theirs["id"]) is None
    assert find_object(meta, str(uuid.uuid4())) is None


async def test_find_object_a_key_beats_another_objects_label(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await add_object(client, ws, key="alpha", label="Beta", plural_label="Betas")
    await add_object(client, ws, key="beta", label="Gamma", plural_label="Gammas")
    meta = await meta_of(ws)
    assert find_object(meta, "beta") is meta.object("beta")
    assert find_object(meta, "BETA") is meta.object("beta")
