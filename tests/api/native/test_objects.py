"""Object types and their fields through the native API, and records following the changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, detail_fields

API = "/api/v1"
STANDARD = ["contact", "company", "lead", "deal", "case", "task"]


# --- helpers ------------------------------------------------------------------------------


async def make_object(
    client: httpx.AsyncClient, ws: Workspace, key: str = "property", **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects", json={"key": key, "label": key.title(), **extra}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def make_field(
    client: httpx.AsyncClient, ws: Workspace, obj: str, key: str, type_: str = "text", **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/fields",
        json={"key": key, "label": key.replace("_", " ").title(), "type": type_, **extra},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def make_record(
    client: httpx.AsyncClient, ws: Workspace, obj: str, **values: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": values}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def read_record(
    client: httpx.AsyncClient, ws: Workspace, obj: str, record_id: str
) -> dict[str, Any]:
    answer = await client.get(f"{API}/objects/{obj}/records/{record_id}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def field_keys(client: httpx.AsyncClient, ws: Workspace, obj: str) -> list[str]:
    answer = await client.get(f"{API}/objects/{obj}/fields", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [f["key"] for f in answer.json()["data"]]


# --- object types -------------------------------------------------------------------------


async def test_list_standard_objects(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{API}/objects", headers=ws.auth)
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert [o["key"] for o in data] == STANDARD
    company = data[1]
    assert company["label"] == "Company"
    assert company["plural_label"] == "Companies"
    assert company["standard"] is True
    assert company["display_fields"] == ["name"]
    name = next(f for f in company["fields"] if f["key"] == "name")
    assert name["type"] == "text"
    assert name["required"] is True
    assert name["standard"] is True


async def test_get_standard_object_and_its_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{API}/objects/contact", headers=ws.auth)
    assert answer.status_code == 200
    contact = answer.json()
    assert contact["key"] == "contact"
    assert contact["display_fields"] == ["first_name", "last_name", "email"]
    by_key = {f["key"]: f for f in contact["fields"]}
    assert by_key["email"]["type"] == "email"
    assert by_key["phone"]["type"] == "phone"
    assert by_key["status"]["type"] == "select"
    assert [c["value"] for c in by_key["status"]["options"]["choices"]][:2] == [
        "New",
        "Contacted",
    ]

    listed = await client.get(f"{API}/objects/contact/fields", headers=ws.auth)
    assert listed.status_code == 200
    assert [f["key"] for f in listed.json()["data"]] == [f["key"] for f in contact["fields"]]

    one = await client.get(f"{API}/objects/contact/fields/email", headers=ws.auth)
    assert one.status_code == 200
    assert one.json() == by_key["email"]
    by_id = await client.get(
        f"{API}/objects/contact/fields/{by_key['email']['id']}", headers=ws.auth
    )
    assert by_id.status_code == 200
    assert by_id.json()["key"] == "email"


async def test_deal_and_task_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    deal = (await client.get(f"{API}/objects/deal", headers=ws.auth)).json()
    types = {f["key"]: f["type"] for f in deal["fields"]}
    assert types["amount"] == "currency"
    assert types["close_date"] == "date"
    assert types["company"] == "relation"
    assert types["stage"] == "stage"
    task = (await client.get(f"{API}/objects/task", headers=ws.auth)).json()
    completed = next(f for f in task["fields"] if f["key"] == "is_completed")
    assert completed["type"] == "boolean"
    assert completed["default"] is False


async def test_create_custom_object(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects", json={"key": "property", "label": "Property"}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["key"] == "property"
    assert created["label"] == "Property"
    assert created["plural_label"].startswith("Propert")
    assert created["standard"] is False
    assert created["fields"] == []
    assert created["display_fields"] == []

    listed = (await client.get(f"{API}/objects", headers=ws.auth)).json()["data"]
    assert [o["key"] for o in listed] == [*STANDARD, "property"]
    fetched = await client.get(f"{API}/objects/property", headers=ws.auth)
    assert fetched.json() == created
    assert (await client.get(f"{API}/objects/{created['id']}", headers=ws.auth)).json() == created


async def test_create_custom_object_with_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects",
        json={
            "key": "property",
            "label": "Property",
            "plural_label": "Properties",
            "display_fields": ["address"],
            "fields": [
                {"key": "address", "label": "Address", "type": "text", "required": True},
                {"key": "price", "label": "Price", "type": "currency"},
                {"key": "listed_on", "label": "Listed on", "type": "date"},
            ],
        },
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["plural_label"] == "Properties"
    assert created["display_fields"] == ["address"]
    assert [(f["key"], f["type"]) for f in created["fields"]] == [
        ("address", "text"),
        ("price", "currency"),
        ("listed_on", "date"),
    ]
    assert created["fields"][1]["options"] == {"currency": "USD"}

    record = await make_record(
        client, ws, "property", address="1 Main St", price="250,000.5", listed_on="2024-05-01"
    )
    assert record["object"] == "property"
    assert record["display_name"] == "1 Main St"
    assert record["fields"] == {
        "address": "1 Main St",
        "price": 250000.5,
        "listed_on": "2024-05-01",
    }


async def test_bad_initial_field_is_named_by_position(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{API}/objects",
        json={
            "key": "property",
            "label": "Property",
            "fields": [
                {"key": "address", "label": "Address", "type": "text"},
                {"key": "price", "label": "Price", "type": "money"},
            ],
        },
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["fields[1].type"]
    # Nothing of the refused request was kept.
    assert (await client.get(f"{API}/objects/property", headers=ws.auth)).status_code == 404


async def test_display_fields_must_exist(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects",
        json={"key": "property", "label": "Property", "display_fields": ["nope"]},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["display_fields"]
    assert (await client.get(f"{API}/objects/property", headers=ws.auth)).status_code == 404


async def test_duplicate_object_key_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    again = await client.post(
        f"{API}/objects", json={"key": "property", "label": "Again"}, headers=ws.auth
    )
    assert_error(again, 409, "conflict")
    standard = await client.post(
        f"{API}/objects", json={"key": "contact", "label": "Contact"}, headers=ws.auth
    )
    assert_error(standard, 409, "conflict")


async def test_same_key_in_another_workspace_is_fine(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_object(client, other_ws, "property")
    assert (await client.get(f"{API}/objects/property", headers=ws.auth)).status_code == 200
    mine = await make_object(client, ws, "vessel")
    theirs = await client.get(f"{API}/objects/{mine['id']}", headers=other_ws.auth)
    assert_error(theirs, 404, "not_found")


@pytest.mark.parametrize(
    "key", ["Bad Key", "id", "created_at", "fields", "1st", "_private", "", "a" * 64, "ünï"]
)
async def test_bad_object_key_is_422(client: httpx.AsyncClient, ws: Workspace, key: str) -> None:
    answer = await client.post(
        f"{API}/objects", json={"key": key, "label": "Thing"}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["key"]


async def test_object_needs_key_and_label(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(f"{API}/objects", json={}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert sorted(detail_fields(answer)) == ["key", "label"]
    blank = await client.post(
        f"{API}/objects", json={"key": "thing", "label": "   "}, headers=ws.auth
    )
    assert_error(blank, 422, "validation_failed")
    assert detail_fields(blank) == ["label"]
    extra = await client.post(
        f"{API}/objects", json={"key": "thing", "label": "Thing", "colour": "red"}, headers=ws.auth
    )
    assert_error(extra, 422, "validation_failed")
    assert detail_fields(extra) == ["colour"]


async def test_malformed_json_is_400(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects",
        content=b'{"key": "property",',
        headers={**ws.auth, "Content-Type": "application/json"},
    )
    assert_error(answer, 400, "malformed_request")


async def test_patch_object_labels_and_display_fields(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await make_field(client, ws, "property", "city")
    answer = await client.patch(
        f"{API}/objects/property",
        json={"label": " Listing ", "plural_label": "Listings", "display_fields": ["address"]},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    patched = answer.json()
    assert patched["key"] == "property"
    assert patched["label"] == "Listing"
    assert patched["plural_label"] == "Listings"
    assert patched["display_fields"] == ["address"]
    assert (await client.get(f"{API}/objects/property", headers=ws.auth)).json() == patched

    record = await make_record(client, ws, "property", address="1 Main St", city="Leeds")
    assert record["display_name"] == "1 Main St"


async def test_patch_standard_object_labels(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.patch(
        f"{API}/objects/company",
        json={"label": "Account", "plural_label": "Accounts", "display_fields": ["name", "email"]},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["label"] == "Account"
    assert answer.json()["display_fields"] == ["name", "email"]


async def test_patch_object_refusals(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    key = await client.patch(f"{API}/objects/property", json={"key": "home"}, headers=ws.auth)
    assert_error(key, 422, "validation_failed")
    assert detail_fields(key) == ["key"]
    shown = await client.patch(
        f"{API}/objects/property", json={"display_fields": ["nope"]}, headers=ws.auth
    )
    assert_error(shown, 422, "validation_failed")
    assert detail_fields(shown) == ["display_fields"]
    label = await client.patch(f"{API}/objects/property", json={"label": ""}, headers=ws.auth)
    assert_error(label, 422, "validation_failed")
    assert detail_fields(label) == ["label"]
    unchanged = (await client.get(f"{API}/objects/property", headers=ws.auth)).json()
    assert unchanged["key"] == "property"
    assert unchanged["label"] == "Property"
    assert (await client.get(f"{API}/objects/home", headers=ws.auth)).status_code == 404


async def test_delete_custom_object_and_its_records(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    record = await make_record(client, ws, "property", address="1 Main St")

    answer = await client.delete(f"{API}/objects/property", headers=ws.auth)
    assert answer.status_code == 204
    assert answer.content == b""
    assert_error(await client.get(f"{API}/objects/property", headers=ws.auth), 404, "not_found")
    gone = await client.get(f"{API}/objects/property/records/{record['id']}", headers=ws.auth)
    assert_error(gone, 404, "not_found")
    keys = [o["key"] for o in (await client.get(f"{API}/objects", headers=ws.auth)).json()["data"]]
    assert keys == STANDARD

    # A new object with the same key starts empty: the old record did not survive.
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    again = await client.get(f"{API}/objects/property/records/{record['id']}", headers=ws.auth)
    assert_error(again, 404, "not_found")
    listed = await client.get(f"{API}/objects/property/records", headers=ws.auth)
    assert listed.status_code == 200
    assert listed.json()["data"] == []


async def test_delete_standard_object_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    for key in STANDARD:
        answer = await client.delete(f"{API}/objects/{key}", headers=ws.auth)
        assert_error(answer, 409, "conflict")
    assert (await client.get(f"{API}/objects/contact", headers=ws.auth)).status_code == 200


async def test_delete_object_still_related_to_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(
        client, ws, "company", "head_office", "relation", options={"object": "property"}
    )
    answer = await client.delete(f"{API}/objects/property", headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert detail_fields(answer) == ["company.head_office"]
    assert (await client.get(f"{API}/objects/property", headers=ws.auth)).status_code == 200


async def test_unknown_object_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    for answer in (
        await client.get(f"{API}/objects/nope", headers=ws.auth),
        await client.patch(f"{API}/objects/nope", json={"label": "X"}, headers=ws.auth),
        await client.delete(f"{API}/objects/nope", headers=ws.auth),
        await client.get(f"{API}/objects/nope/fields", headers=ws.auth),
        await client.get(f"{API}/objects/nope/fields/name", headers=ws.auth),
        await client.post(
            f"{API}/objects/nope/fields",
            json={"key": "x", "label": "X", "type": "text"},
            headers=ws.auth,
        ),
        await client.get(f"{API}/objects/nope/records", headers=ws.auth),
    ):
        assert_error(answer, 404, "not_found")


async def test_agent_may_read_but_not_change_objects(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent = {"Authorization": f"Bearer {await ws.add_key(role='agent', email='al@acme.test')}"}
    assert (await client.get(f"{API}/objects", headers=agent)).status_code == 200
    created = await client.post(
        f"{API}/objects", json={"key": "property", "label": "Property"}, headers=agent
    )
    assert_error(created, 403, "permission_denied")
    assert_error(
        await client.patch(f"{API}/objects/contact", json={"label": "Person"}, headers=agent),
        403,
        "permission_denied",
    )
    assert_error(
        await client.delete(f"{API}/objects/contact", headers=agent), 403, "permission_denied"
    )


async def test_agent_manages_field_definitions(client: httpx.AsyncClient, ws: Workspace) -> None:
    """Agents define the fields they work with (admin:fields:manage), as Flownally allows."""
    agent = {"Authorization": f"Bearer {await ws.add_key(role='agent', email='al@acme.test')}"}
    field = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "region", "label": "Region", "type": "text"},
        headers=agent,
    )
    assert field.status_code == 201, field.text
    assert "region" in await field_keys(client, ws, "contact")
    gone = await client.delete(f"{API}/objects/contact/fields/region", headers=agent)
    assert gone.status_code == 204, gone.text
    assert "region" not in await field_keys(client, ws, "contact")


# --- fields -------------------------------------------------------------------------------

EVERY_TYPE: list[tuple[str, dict[str, Any], Any, Any]] = [
    # type, options, input value, stored value
    ("text", {}, "hello", "hello"),
    ("long_text", {}, "a\nlong\ntext", "a\nlong\ntext"),
    ("number", {}, "1,234", 1234),
    ("currency", {"currency": "EUR"}, 9.999, 10.0),
    ("date", {}, "2024-02-29", "2024-02-29"),
    ("datetime", {}, "2024-03-10T12:00:00+02:00", "2024-03-10T10:00:00Z"),
    ("boolean", {}, "yes", True),
    ("email", {}, "Ada@Example.COM", "ada@example.com"),
    ("phone", {"default_region": "gb"}, "020 7946 0018", "+442079460018"),
    ("url", {}, "example.com", "https://example.com"),
    ("select", {"choices": ["Red", "Green"]}, "green", "Green"),
    ("multi_select", {"choices": ["Red", "Green"]}, "red, GREEN", ["Red", "Green"]),
]


@pytest.mark.parametrize(("type_", "options", "given", "stored"), EVERY_TYPE)
async def test_create_field_of_each_type(
    client: httpx.AsyncClient,
    ws: Workspace,
    type_: str,
    options: dict[str, Any],
    given: Any,
    stored: Any,
) -> None:
    await make_object(client, ws, "property")
    answer = await client.post(
        f"{API}/objects/property/fields",
        json={"key": "value_x", "label": "Value", "type": type_, "options": options},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["key"] == "value_x"
    assert created["type"] == type_
    assert created["standard"] is False
    assert created["required"] is False
    fetched = await client.get(f"{API}/objects/property/fields/value_x", headers=ws.auth)
    assert fetched.json() == created

    record = await make_record(client, ws, "property", value_x=given)
    assert record["fields"]["value_x"] == stored
    assert (await read_record(client, ws, "property", record["id"]))["fields"]["value_x"] == stored


async def test_field_options_are_normalised(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    select = await make_field(
        client, ws, "property", "kind", "select", options={"choices": ["Flat", "House"]}
    )
    assert select["options"] == {
        "choices": [{"value": "Flat", "label": "Flat"}, {"value": "House", "label": "House"}]
    }
    phone = await make_field(
        client, ws, "property", "agent_phone", "phone", options={"default_region": "gb"}
    )
    assert phone["options"] == {"default_region": "GB"}
    currency = await make_field(client, ws, "property", "price", "currency")
    assert currency["options"] == {"currency": "USD"}


async def test_create_relation_and_user_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    relation = await make_field(
        client, ws, "property", "owner_company", "relation", options={"object": "company"}
    )
    assert relation["options"] == {"object": "company"}
    await make_field(client, ws, "property", "agent", "user")

    me = (await client.get(f"{API}/me", headers=ws.auth)).json()["user"]
    company = await make_record(client, ws, "company", name="Acme")
    record = await make_record(
        client, ws, "property", owner_company=company["id"], agent=me["email"].upper()
    )
    assert record["fields"] == {"owner_company": company["id"], "agent": me["id"]}
    by_id = await make_record(client, ws, "property", agent=me["id"])
    assert by_id["fields"]["agent"] == me["id"]

    missing = await client.post(
        f"{API}/objects/property/records",
        json={"fields": {"owner_company": "0190a3b4-7c2d-7000-8000-000000000001"}},
        headers=ws.auth,
    )
    assert_error(missing, 422, "validation_failed")
    assert detail_fields(missing) == ["owner_company"]
    nobody = await client.post(
        f"{API}/objects/property/records",
        json={"fields": {"agent": "nobody@nowhere.test"}},
        headers=ws.auth,
    )
    assert_error(nobody, 422, "validation_failed")
    assert detail_fields(nobody) == ["agent"]


@pytest.mark.parametrize(
    ("spec", "bad"),
    [
        ({"type": "select"}, "options"),
        ({"type": "select", "options": {"choices": []}}, "options"),
        ({"type": "multi_select", "options": {"choices": ["a", "A"]}}, "options"),
        ({"type": "relation"}, "options"),
        ({"type": "relation", "options": {"object": "spaceship"}}, "options"),
        ({"type": "currency", "options": {"currency": "euro"}}, "options"),
        ({"type": "phone", "options": {"default_region": "XX"}}, "options"),
    ],
)
async def test_bad_field_options_are_422(
    client: httpx.AsyncClient, ws: Workspace, spec: dict[str, Any], bad: str
) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "extra", "label": "Extra", **spec},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [bad]
    assert "extra" not in await field_keys(client, ws, "contact")


async def test_stage_field_cannot_be_created_directly(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{API}/objects/lead/fields",
        json={
            "key": "stage",
            "label": "Stage",
            "type": "stage",
            "options": {"pipeline_id": "whatever"},
        },
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["type"]


async def test_duplicate_field_key_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "email", "label": "Another email", "type": "email"},
        headers=ws.auth,
    )
    assert_error(answer, 409, "conflict")
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    again = await client.post(
        f"{API}/objects/property/fields",
        json={"key": "address", "label": "Address", "type": "long_text"},
        headers=ws.auth,
    )
    assert_error(again, 409, "conflict")
    assert await field_keys(client, ws, "property") == ["address"]


async def test_unknown_field_type_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "colour", "label": "Colour", "type": "rgb"},
        headers=ws.auth,
    )
    error = assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["type"]
    assert "multi_select" in error["details"][0]["message"]


async def test_unknown_field_attribute_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "colour", "label": "Colour", "type": "text", "colour": "blue"},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert answer.json()["error"]["details"] == [
        {
            "field": "colour",
            "code": "unknown",
            "message": answer.json()["error"]["details"][0]["message"],
        }
    ]
    assert "colour" not in await field_keys(client, ws, "contact")


@pytest.mark.parametrize(
    ("type_", "options", "default"),
    [
        ("number", {}, "lots"),
        ("boolean", {}, "perhaps"),
        ("date", {}, "someday"),
        ("email", {}, "not-an-email"),
        ("select", {"choices": ["a", "b"]}, "c"),
    ],
)
async def test_bad_default_is_422(
    client: httpx.AsyncClient, ws: Workspace, type_: str, options: dict[str, Any], default: Any
) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={
            "key": "extra",
            "label": "Extra",
            "type": type_,
            "options": options,
            "default": default,
        },
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["default"]


async def test_default_is_normalised_and_applied(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    field = await make_field(
        client,
        ws,
        "property",
        "kind",
        "select",
        options={"choices": ["Flat", "House"]},
        default="house",
    )
    assert field["default"] == "House"
    record = await make_record(client, ws, "property", address="1 Main St")
    assert record["fields"]["kind"] == "House"
    chosen = await make_record(client, ws, "property", address="2 Main St", kind="flat")
    assert chosen["fields"]["kind"] == "Flat"


@pytest.mark.parametrize("key", ["Bad Key", "id", "owner_id", "updated_at", "9lives"])
async def test_bad_field_key_is_422(client: httpx.AsyncClient, ws: Workspace, key: str) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": key, "label": "Thing", "type": "text"},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["key"]


async def test_cannot_make_long_text_unique(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "bio", "label": "Bio", "type": "long_text", "unique": True},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["unique"]


async def test_unknown_field_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    for answer in (
        await client.get(f"{API}/objects/contact/fields/nope", headers=ws.auth),
        await client.patch(
            f"{API}/objects/contact/fields/nope", json={"label": "X"}, headers=ws.auth
        ),
        await client.delete(f"{API}/objects/contact/fields/nope", headers=ws.auth),
    ):
        assert_error(answer, 404, "not_found")


async def test_relabel_field(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.patch(
        f"{API}/objects/contact/fields/title",
        json={"label": "Job title", "group": "work", "position": 99},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    patched = answer.json()
    assert (patched["key"], patched["label"], patched["group"]) == ("title", "Job title", "work")
    assert (await field_keys(client, ws, "contact"))[-1] == "title"


async def test_rename_field_moves_record_values(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await make_field(client, ws, "property", "town")
    one = await make_record(client, ws, "property", address="1 Main St", town="Leeds")
    two = await make_record(client, ws, "property", address="2 Main St")

    answer = await client.patch(
        f"{API}/objects/property/fields/town", json={"key": "city"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["key"] == "city"
    assert await field_keys(client, ws, "property") == ["address", "city"]
    assert_error(
        await client.get(f"{API}/objects/property/fields/town", headers=ws.auth), 404, "not_found"
    )

    assert (await read_record(client, ws, "property", one["id"]))["fields"] == {
        "address": "1 Main St",
        "city": "Leeds",
    }
    assert (await read_record(client, ws, "property", two["id"]))["fields"] == {
        "address": "2 Main St",
        "city": None,
    }
    new = await make_record(client, ws, "property", address="3 Main St", city="York")
    assert new["fields"]["city"] == "York"
    old_key = await client.post(
        f"{API}/objects/property/records", json={"fields": {"town": "York"}}, headers=ws.auth
    )
    assert_error(old_key, 422, "validation_failed")
    assert detail_fields(old_key) == ["town"]


async def test_rename_display_field_keeps_it_displayed(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await make_field(client, ws, "property", "notes")
    shown = await client.patch(
        f"{API}/objects/property", json={"display_fields": ["address"]}, headers=ws.auth
    )
    assert shown.status_code == 200, shown.text
    answer = await client.patch(
        f"{API}/objects/property/fields/address", json={"key": "street"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    obj = (await client.get(f"{API}/objects/property", headers=ws.auth)).json()
    assert obj["display_fields"] == ["street"]
    record = await make_record(client, ws, "property", notes="damp", street="1 Main St")
    assert record["display_name"] == "1 Main St"
    deleted = await client.delete(f"{API}/objects/property/fields/street", headers=ws.auth)
    assert_error(deleted, 409, "conflict")


async def test_cannot_retype_a_field_to_stage(client: httpx.AsyncClient, ws: Workspace) -> None:
    deal = await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth)
    pipeline_id = deal.json()["data"][0]["id"]
    await make_field(client, ws, "deal", "phase")
    answer = await client.patch(
        f"{API}/objects/deal/fields/phase",
        json={"type": "stage", "options": {"pipeline_id": pipeline_id}},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["type"]
    field = await client.get(f"{API}/objects/deal/fields/phase", headers=ws.auth)
    assert field.json()["type"] == "text"


async def test_rename_field_onto_existing_key_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await make_field(client, ws, "property", "town")
    record = await make_record(client, ws, "property", address="1 Main St", town="Leeds")
    answer = await client.patch(
        f"{API}/objects/property/fields/town", json={"key": "address"}, headers=ws.auth
    )
    assert_error(answer, 409, "conflict")
    assert (await read_record(client, ws, "property", record["id"]))["fields"] == {
        "address": "1 Main St",
        "town": "Leeds",
    }


async def test_standard_field_keeps_key_and_type(client: httpx.AsyncClient, ws: Workspace) -> None:
    renamed = await client.patch(
        f"{API}/objects/contact/fields/title", json={"key": "job_title"}, headers=ws.auth
    )
    assert_error(renamed, 422, "validation_failed")
    assert detail_fields(renamed) == ["key"]
    retyped = await client.patch(
        f"{API}/objects/contact/fields/title", json={"type": "long_text"}, headers=ws.auth
    )
    assert_error(retyped, 422, "validation_failed")
    assert (await client.get(f"{API}/objects/contact/fields/title", headers=ws.auth)).json()[
        "type"
    ] == "text"


async def test_retype_text_to_number_converts_values(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await make_field(client, ws, "property", "rooms")
    one = await make_record(client, ws, "property", address="1 Main St", rooms="42")
    two = await make_record(client, ws, "property", address="2 Main St", rooms=" 3 ")
    none = await make_record(client, ws, "property", address="3 Main St")
    assert one["fields"]["rooms"] == "42"

    answer = await client.patch(
        f"{API}/objects/property/fields/rooms", json={"type": "number"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "number"
    assert (await read_record(client, ws, "property", one["id"]))["fields"]["rooms"] == 42
    assert (await read_record(client, ws, "property", two["id"]))["fields"]["rooms"] == 3
    assert (await read_record(client, ws, "property", none["id"]))["fields"]["rooms"] is None

    refused = await client.post(
        f"{API}/objects/property/records", json={"fields": {"rooms": "many"}}, headers=ws.auth
    )
    assert_error(refused, 422, "validation_failed")
    assert detail_fields(refused) == ["rooms"]


async def test_retype_that_cannot_convert_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "rooms")
    good = await make_record(client, ws, "property", rooms="4")
    bad = await make_record(client, ws, "property", rooms="lots")
    worse = await make_record(client, ws, "property", rooms="a few")

    answer = await client.patch(
        f"{API}/objects/property/fields/rooms", json={"type": "number"}, headers=ws.auth
    )
    error = assert_error(answer, 409, "conflict")
    assert sorted(detail_fields(answer)) == sorted([bad["id"], worse["id"]])
    assert {d["code"] for d in error["details"]} == {"not_convertible"}
    # Nothing changed: the field is still text and the values are as they were.
    field = await client.get(f"{API}/objects/property/fields/rooms", headers=ws.auth)
    assert field.json()["type"] == "text"
    assert (await read_record(client, ws, "property", good["id"]))["fields"]["rooms"] == "4"
    assert (await read_record(client, ws, "property", bad["id"]))["fields"]["rooms"] == "lots"


async def test_retype_text_to_select_and_multi_select_to_text(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "kind")
    await make_field(
        client, ws, "property", "tags", "multi_select", options={"choices": ["garden", "garage"]}
    )
    record = await make_record(client, ws, "property", kind="flat", tags=["garage", "garden"])

    to_select = await client.patch(
        f"{API}/objects/property/fields/kind",
        json={"type": "select", "options": {"choices": ["Flat", "House"]}},
        headers=ws.auth,
    )
    assert to_select.status_code == 200, to_select.text
    to_text = await client.patch(
        f"{API}/objects/property/fields/tags", json={"type": "text"}, headers=ws.auth
    )
    assert to_text.status_code == 200, to_text.text
    fields = (await read_record(client, ws, "property", record["id"]))["fields"]
    assert fields == {"kind": "Flat", "tags": "garage, garden"}


async def test_removing_a_choice_in_use_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(
        client, ws, "property", "kind", "select", options={"choices": ["Flat", "House"]}
    )
    record = await make_record(client, ws, "property", kind="House")
    answer = await client.patch(
        f"{API}/objects/property/fields/kind",
        json={"options": {"choices": ["Flat", "Bungalow"]}},
        headers=ws.auth,
    )
    assert_error(answer, 409, "conflict")
    assert detail_fields(answer) == [record["id"]]
    added = await client.patch(
        f"{API}/objects/property/fields/kind",
        json={"options": {"choices": ["Flat", "House", "Bungalow"]}},
        headers=ws.auth,
    )
    assert added.status_code == 200, added.text
    assert [c["value"] for c in added.json()["options"]["choices"]] == [
        "Flat",
        "House",
        "Bungalow",
    ]


async def test_unique_with_duplicates_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "ref")
    await make_record(client, ws, "property", ref="A-1")
    await make_record(client, ws, "property", ref="A-1")
    await make_record(client, ws, "property", ref="B-2")

    answer = await client.patch(
        f"{API}/objects/property/fields/ref", json={"unique": True}, headers=ws.auth
    )
    error = assert_error(answer, 409, "conflict")
    assert detail_fields(answer) == ["ref"]
    assert error["details"][0]["code"] == "duplicate"
    assert "A-1" in error["details"][0]["message"]
    field = (await client.get(f"{API}/objects/property/fields/ref", headers=ws.auth)).json()
    assert field["unique"] is False
    # Still not unique: another duplicate is accepted.
    await make_record(client, ws, "property", ref="B-2")


async def test_new_unique_field_over_duplicates_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "ref")
    await make_record(client, ws, "property", ref="A-1")
    await make_record(client, ws, "property", ref="A-1")
    await client.patch(
        f"{API}/objects/property/fields/ref", json={"key": "old_ref"}, headers=ws.auth
    )
    # A fresh field has no values, so it can be unique; then duplicates are refused.
    created = await make_field(client, ws, "property", "ref", unique=True)
    assert created["unique"] is True
    assert created["indexed"] is True
    await make_record(client, ws, "property", ref="X-1")
    duplicate = await client.post(
        f"{API}/objects/property/records", json={"fields": {"ref": "X-1"}}, headers=ws.auth
    )
    assert_error(duplicate, 409, "conflict")
    assert detail_fields(duplicate) == ["ref"]


async def test_unique_without_duplicates(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "ref")
    await make_record(client, ws, "property", ref="A-1")
    await make_record(client, ws, "property", ref="B-2")
    await make_record(client, ws, "property")
    answer = await client.patch(
        f"{API}/objects/property/fields/ref", json={"unique": True}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["unique"] is True
    duplicate = await client.post(
        f"{API}/objects/property/records", json={"fields": {"ref": "A-1"}}, headers=ws.auth
    )
    assert_error(duplicate, 409, "conflict")


async def test_delete_custom_field_strips_values(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await make_field(client, ws, "property", "notes")
    record = await make_record(client, ws, "property", address="1 Main St", notes="damp")

    answer = await client.delete(f"{API}/objects/property/fields/notes", headers=ws.auth)
    assert answer.status_code == 204
    assert answer.content == b""
    assert await field_keys(client, ws, "property") == ["address"]
    assert (await read_record(client, ws, "property", record["id"]))["fields"] == {
        "address": "1 Main St"
    }
    refused = await client.post(
        f"{API}/objects/property/records", json={"fields": {"notes": "dry"}}, headers=ws.auth
    )
    assert_error(refused, 422, "validation_failed")
    assert detail_fields(refused) == ["notes"]

    # A new field with the same key does not bring the old value back.
    await make_field(client, ws, "property", "notes")
    assert (await read_record(client, ws, "property", record["id"]))["fields"] == {
        "address": "1 Main St",
        "notes": None,
    }


async def test_delete_custom_field_on_standard_object(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_field(client, ws, "contact", "region")
    contact = await make_record(client, ws, "contact", first_name="Ada", region="North")
    answer = await client.delete(f"{API}/objects/contact/fields/region", headers=ws.auth)
    assert answer.status_code == 204
    fields = (await read_record(client, ws, "contact", contact["id"]))["fields"]
    assert "region" not in fields
    assert fields["first_name"] == "Ada"


async def test_delete_standard_field_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.delete(f"{API}/objects/contact/fields/email", headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert "email" in await field_keys(client, ws, "contact")


async def test_delete_display_field_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address")
    await client.patch(
        f"{API}/objects/property", json={"display_fields": ["address"]}, headers=ws.auth
    )
    answer = await client.delete(f"{API}/objects/property/fields/address", headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert await field_keys(client, ws, "property") == ["address"]


async def test_records_validate_against_new_fields(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_object(client, ws, "property")
    await make_field(client, ws, "property", "address", required=True)
    await make_field(client, ws, "property", "beds", "number")

    missing = await client.post(
        f"{API}/objects/property/records", json={"fields": {"beds": 2}}, headers=ws.auth
    )
    error = assert_error(missing, 422, "validation_failed")
    assert error["details"] == [
        {"field": "address", "code": "required", "message": error["details"][0]["message"]}
    ]
    both = await client.post(
        f"{API}/objects/property/records",
        json={"fields": {"beds": "two", "colour": "red"}},
        headers=ws.auth,
    )
    assert_error(both, 422, "validation_failed")
    assert sorted(detail_fields(both)) == ["address", "beds", "colour"]
    ok = await make_record(client, ws, "property", address="1 Main St", beds="2")
    assert ok["fields"] == {"address": "1 Main St", "beds": 2}


async def test_making_a_field_required_applies_to_new_records(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_field(client, ws, "contact", "region")
    await make_record(client, ws, "contact", first_name="Ada")
    answer = await client.patch(
        f"{API}/objects/contact/fields/region", json={"required": True}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["required"] is True
    missing = await client.post(
        f"{API}/objects/contact/records", json={"fields": {"first_name": "Bob"}}, headers=ws.auth
    )
    assert_error(missing, 422, "validation_failed")
    assert detail_fields(missing) == ["region"]


async def test_fields_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    await make_field(client, ws, "contact", "region")
    assert "region" in await field_keys(client, ws, "contact")
    assert "region" not in await field_keys(client, other_ws, "contact")
    refused = await client.post(
        f"{API}/objects/contact/records",
        json={"fields": {"region": "North"}},
        headers=other_ws.auth,
    )
    assert_error(refused, 422, "validation_failed")


async def test_default_plural_label(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        "/api/v1/objects", json={"key": "property", "label": "Property"}, headers=ws.auth
    )
    assert answer.json()["plural_label"] == "Properties"
