"""Custom field definitions of contacts and of properties (an object made on first use)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flownally.conftest import (
    API,
    FN,
    create_contact,
    create_field,
    fl_error,
    get_contact,
    list_fields,
    native_contact,
    ok,
    set_value,
    validation,
)
from tests.conftest import Workspace

#: The standard contact fields, shown as predefined custom fields (the name is not one).
PREDEFINED = [
    "cf_title",
    "cf_email",
    "cf_phone",
    "cf_mobile",
    "cf_company",
    "cf_website",
    "cf_address",
    "cf_city",
    "cf_state",
    "cf_zip",
    "cf_country",
    "cf_status",
    "cf_source",
    "cf_description",
]


async def test_contact_fields_start_with_the_predefined_ones(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    fields = await list_fields(client, ws.auth)
    assert [f["id"] for f in fields] == PREDEFINED
    email = next(f for f in fields if f["id"] == "cf_email")
    assert email == {
        "id": "cf_email",
        "name": "Email",
        "type": "text",
        "createdAt": email["createdAt"],
        "createdBy": None,
        "predefined": True,
        "entityType": "contact",
    }
    for f in fields:
        assert (f["predefined"], f["entityType"], f["type"]) == (True, "contact", "text")


async def test_created_fields_follow_the_predefined_ones(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None
) -> None:
    renewal = await create_field(client, ws.auth, "Renewal date", "date")
    assert (renewal["id"], renewal["type"], renewal["predefined"]) == (
        "cf_renewal_date",
        "date",
        False,
    )
    fields = await list_fields(client, ws.auth)
    assert [f["id"] for f in fields] == [
        *PREDEFINED,
        "cf_lifecycle_stage",
        "cf_preferred_store",
        "cf_renewal_date",
    ]
    assert fields[-1] == renewal


async def test_fields_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, store_fields: None
) -> None:
    assert [f["id"] for f in await list_fields(client, other_ws.auth)] == PREDEFINED
    answer = await client.post(
        f"{FN}/contacts", json={"customFields": {"lifecycleStage": "lead"}}, headers=other_ws.auth
    )
    fl_error(answer, 422, "Validation failed")
    # The same name is free in the other workspace.
    made = await create_field(client, other_ws.auth, "Lifecycle stage")
    assert made["id"] == "cf_lifecycle_stage"


async def test_a_new_field_takes_values_at_once(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create_field(client, ws.auth, "Favourite Colour")
    assert made["id"] == "cf_favourite_colour"
    contact = await create_contact(client, ws.auth, {"customFields": {"favouriteColour": "teal"}})
    assert contact["customFields"] == {"favouriteColour": "teal"}
    listed = ok(
        await client.get(
            f"{FN}/contacts", params={"customFields[favouriteColour]": "teal"}, headers=ws.auth
        )
    )
    assert [c["id"] for c in listed["contacts"]] == [contact["id"]]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"type": "text"}, [("name", "required", "is required")]),
        ({"name": "Tier"}, [("type", "required", "is required")]),
        ({}, [("name", "required", "is required"), ("type", "required", "is required")]),
        ({"name": "Tier", "type": "number"}, [("type", "invalid", "must be text or date")]),
        ({"name": "Tier", "type": "select"}, [("type", "invalid", "must be text or date")]),
        ({"name": "Tier", "type": "Text"}, [("type", "invalid", "must be text or date")]),
        ({"name": "Tier", "type": None}, [("type", "invalid", "must be text or date")]),
        (
            {"name": "Tier", "type": "text", "entityType": "contact"},
            [("entityType", "unknown", "unknown attribute")],
        ),
    ],
)
@pytest.mark.parametrize("entity", ["contacts", "properties"])
async def test_a_bad_field_definition_is_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    entity: str,
    body: dict[str, Any],
    details: list[tuple[str, str, str]],
) -> None:
    answer = await client.post(f"{FN}/{entity}/custom-fields", json=body, headers=ws.auth)
    fl_error(answer, 422, "Validation failed", validation(*details))
    assert "cf_tier" not in [f["id"] for f in await list_fields(client, ws.auth, entity)]


@pytest.mark.parametrize("name", ["", "x" * 201, None, 5])
async def test_a_bad_field_name_is_422(client: httpx.AsyncClient, ws: Workspace, name: Any) -> None:
    answer = await client.post(
        f"{FN}/contacts/custom-fields", json={"name": name, "type": "text"}, headers=ws.auth
    )
    fl_error(answer, 422, "Validation failed")
    assert [f["id"] for f in await list_fields(client, ws.auth)] == PREDEFINED


@pytest.mark.parametrize("name", ["", None, 5])
async def test_a_bad_field_name_is_422_naming_name(
    client: httpx.AsyncClient, ws: Workspace, name: Any
) -> None:
    answer = await client.post(
        f"{FN}/contacts/custom-fields", json={"name": name, "type": "text"}, headers=ws.auth
    )
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == ["name"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Lifecycle stage", "lifecycle_stage"),
        ("LIFECYCLE STAGE", "lifecycle_stage"),
        ("lifecycle-stage", "lifecycle_stage"),
        ("Email", "email"),
        ("First name", "first_name"),
    ],
)
async def test_a_field_whose_id_is_taken_is_409(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None, name: str, key: str
) -> None:
    answer = await client.post(
        f"{FN}/contacts/custom-fields", json={"name": name, "type": "text"}, headers=ws.auth
    )
    fl_error(answer, 409, f"contact already has a field keyed {key!r}", [])
    fields = await list_fields(client, ws.auth)
    assert [f["id"] for f in fields] == [*PREDEFINED, "cf_lifecycle_stage", "cf_preferred_store"]


# --- update ---------------------------------------------------------------------------


async def test_renaming_keeps_the_id_and_the_values(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    before = next(f for f in await list_fields(client, ws.auth) if f["id"] == "cf_lifecycle_stage")
    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_lifecycle_stage",
        json={"name": "Customer stage"},
        headers=ws.auth,
    )
    changed = ok(answer)
    assert changed == {**before, "name": "Customer stage"}
    assert await get_contact(client, ws.auth, anna["id"]) == anna
    await set_value(client, ws.auth, anna["id"], "cf_lifecycle_stage", "customer")
    assert (await get_contact(client, ws.auth, anna["id"]))["customFields"]["lifecycleStage"] == (
        "customer"
    )


async def test_retyping_a_field_converts_its_values(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    await create_field(client, ws.auth, "Renewal")
    await set_value(client, ws.auth, anna["id"], "cf_renewal", "2026-05-01")
    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_renewal", json={"type": "date"}, headers=ws.auth
    )
    assert ok(answer)["type"] == "date"
    assert (await get_contact(client, ws.auth, anna["id"]))["customFields"]["renewal"] == (
        "2026-05-01"
    )
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/cf_renewal",
        json={"value": "soon"},
        headers=ws.auth,
    )
    fl_error(answer, 422, "Validation failed")

    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_renewal",
        json={"name": "Renewal note", "type": "text"},
        headers=ws.auth,
    )
    back = ok(answer)
    assert (back["id"], back["name"], back["type"]) == ("cf_renewal", "Renewal note", "text")
    await set_value(client, ws.auth, anna["id"], "cf_renewal", "soon")


async def test_retyping_values_that_do_not_convert_is_409(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_preferred_store", json={"type": "date"}, headers=ws.auth
    )
    fl_error(answer, 409)
    field = next(f for f in await list_fields(client, ws.auth) if f["id"] == "cf_preferred_store")
    assert field["type"] == "text"
    assert await get_contact(client, ws.auth, anna["id"]) == anna


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"type": "number"}, [("type", "invalid", "must be text or date")]),
        ({"name": "X", "key": "x"}, [("key", "unknown", "unknown attribute")]),
    ],
)
async def test_a_bad_field_update_is_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    store_fields: None,
    body: dict[str, Any],
    details: list[tuple[str, str, str]],
) -> None:
    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_lifecycle_stage", json=body, headers=ws.auth
    )
    fl_error(answer, 422, "Validation failed", validation(*details))


async def test_a_predefined_field_may_be_renamed_not_retyped(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_email", json={"name": "E-mail"}, headers=ws.auth
    )
    changed = ok(answer)
    assert (changed["id"], changed["name"], changed["predefined"]) == ("cf_email", "E-mail", True)
    answer = await client.patch(
        f"{FN}/contacts/custom-fields/cf_email", json={"type": "date"}, headers=ws.auth
    )
    fl_error(answer, 422, "Validation failed")


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize(
    "field", ["cf_nope", "cf_first_name", "cf_last_name", "email", "lifecycle_stage"]
)
async def test_an_unknown_field_definition_is_404(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None, method: str, field: str
) -> None:
    answer = await client.request(
        method,
        f"{FN}/contacts/custom-fields/{field}",
        json={"name": "X"} if method == "PATCH" else None,
        headers=ws.auth,
    )
    fl_error(answer, 404, "Custom field not found", [])


# --- delete ---------------------------------------------------------------------------


async def test_deleting_a_field_drops_its_values(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    ok(await client.delete(f"{FN}/contacts/custom-fields/cf_preferred_store", headers=ws.auth), 204)
    shown = await get_contact(client, ws.auth, anna["id"])
    assert shown["customFields"] == {"phone": "+48123456789", "lifecycleStage": "lead"}
    assert "preferred_store" not in (await native_contact(client, ws, anna["id"]))["fields"]
    assert [f["id"] for f in await list_fields(client, ws.auth)] == [
        *PREDEFINED,
        "cf_lifecycle_stage",
    ]
    answer = await client.delete(f"{FN}/contacts/custom-fields/cf_preferred_store", headers=ws.auth)
    fl_error(answer, 404, "Custom field not found", [])
    answer = await client.post(
        f"{FN}/contacts", json={"customFields": {"preferredStore": "Krakow"}}, headers=ws.auth
    )
    fl_error(answer, 422, "Validation failed")
    # The name can be used again, and starts empty.
    await create_field(client, ws.auth, "Preferred store")
    assert (await get_contact(client, ws.auth, anna["id"]))["customFields"] == shown["customFields"]


@pytest.mark.parametrize("field", ["cf_email", "cf_phone", "cf_status"])
async def test_a_predefined_field_cannot_be_deleted(
    client: httpx.AsyncClient, ws: Workspace, field: str
) -> None:
    answer = await client.delete(f"{FN}/contacts/custom-fields/{field}", headers=ws.auth)
    key = field.removeprefix("cf_")
    fl_error(answer, 409, f"The standard field contact.{key} cannot be deleted", [])
    assert [f["id"] for f in await list_fields(client, ws.auth)] == PREDEFINED


# --- properties -----------------------------------------------------------------------


async def test_the_first_property_field_creates_the_property_object(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    assert await list_fields(client, ws.auth, "properties") == []
    answer = await client.get(f"{API}/objects/property", headers=ws.auth)
    assert answer.status_code == 404
    region = await create_field(client, ws.auth, "Region", entity="properties")
    tier = await create_field(client, ws.auth, "Renewal date", "date", entity="properties")
    assert await list_fields(client, ws.auth, "properties") == [region, tier]
    found = ok(await client.get(f"{API}/objects/property", headers=ws.auth))
    assert (found["key"], found["label"], found["plural_label"], found["standard"]) == (
        "property",
        "Property",
        "Properties",
        False,
    )
    assert [(f["key"], f["label"], f["type"]) for f in found["fields"]] == [
        ("region", "Region", "text"),
        ("renewal_date", "Renewal date", "date"),
    ]
    # Property fields are not contact fields, and a name may be used by both.
    assert [f["id"] for f in await list_fields(client, ws.auth)] == PREDEFINED
    contact_region = await create_field(client, ws.auth, "Region")
    assert (contact_region["id"], contact_region["entityType"]) == ("cf_region", "contact")
    assert await list_fields(client, ws.auth, "properties") == [region, tier]


async def test_property_fields_are_managed_like_contact_fields(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    region = await create_field(client, ws.auth, "Region", entity="properties")
    answer = await client.post(
        f"{FN}/properties/custom-fields", json={"name": "region", "type": "text"}, headers=ws.auth
    )
    fl_error(answer, 409, "property already has a field keyed 'region'", [])
    answer = await client.patch(
        f"{FN}/properties/custom-fields/cf_region", json={"name": "Area"}, headers=ws.auth
    )
    assert ok(answer) == {**region, "name": "Area"}
    answer = await client.patch(
        f"{FN}/properties/custom-fields/cf_region", json={"type": "date"}, headers=ws.auth
    )
    assert ok(answer) == {**region, "name": "Area", "type": "date"}
    ok(await client.delete(f"{FN}/properties/custom-fields/cf_region", headers=ws.auth), 204)
    assert await list_fields(client, ws.auth, "properties") == []
    answer = await client.delete(f"{FN}/properties/custom-fields/cf_region", headers=ws.auth)
    fl_error(answer, 404, "Custom field not found", [])


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_property_fields_before_the_first_are_404(
    client: httpx.AsyncClient, ws: Workspace, method: str
) -> None:
    answer = await client.request(
        method,
        f"{FN}/properties/custom-fields/cf_region",
        json={"name": "X"} if method == "PATCH" else None,
        headers=ws.auth,
    )
    fl_error(answer, 404, "Custom field not found", [])
    assert (await client.get(f"{API}/objects/property", headers=ws.auth)).status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("entity", ["deals", "contact", "property", "leads"])
async def test_other_entities_have_no_field_definitions(
    client: httpx.AsyncClient, ws: Workspace, method: str, entity: str
) -> None:
    answer = await client.request(
        method,
        f"{FN}/{entity}/custom-fields",
        json={"name": "X", "type": "text"} if method == "POST" else None,
        headers=ws.auth,
    )
    fl_error(answer, 404, "No such endpoint", [])
