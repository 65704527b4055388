"""Contacts one at a time: create, read, change, delete, archive, field values and tags,
and that a Flownally contact is the native API's contact record."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.flownally.conftest import (
    API,
    FN,
    NOBODY,
    at,
    count,
    create_contact,
    create_field,
    create_tag,
    face_id,
    fl_error,
    get_contact,
    is_face_id,
    is_utc_time,
    native_contact,
    ok,
    set_value,
    tag,
    uuid_of,
    validation,
)
from tests.conftest import Workspace

UNKNOWN_CONTACT = f"con_{NOBODY}"
UNKNOWN_TAG = f"tag_{NOBODY}"


# --- create ---------------------------------------------------------------------------


async def test_a_contact_needs_no_attribute(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create_contact(client, ws.auth, {})
    assert is_face_id(made["id"], "con")
    assert made == {
        "id": made["id"],
        "tenantId": made["tenantId"],
        "name": None,
        "createdAt": made["createdAt"],
        "updatedAt": made["createdAt"],
        "identities": [],
        "tagIds": [],
        "customFields": {},
        "archivedAt": None,
    }


async def test_custom_fields_may_be_named_by_key_or_definition_id(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None
) -> None:
    made = await create_contact(
        client,
        ws.auth,
        {
            "name": "Piotr Nowak",
            "customFields": {
                "cf_lifecycle_stage": "lead",
                "preferred_store": "Gdansk",
                "email": "piotr@example.com",
            },
        },
    )
    assert made["customFields"] == {
        "email": "piotr@example.com",
        "lifecycleStage": "lead",
        "preferredStore": "Gdansk",
    }
    assert made["identities"] == []


async def test_a_phone_is_normalised_to_e164(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create_contact(client, ws.auth, {"name": "Ola", "phone": "+48 601 234 567"})
    assert [i["metadata"] for i in made["identities"]] == [{"phoneNumber": "+48601234567"}]


E164 = "must be a phone number in E.164 form, such as +14155550123"


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("48123456789", E164),
        ("+48-abc", E164),
        ("", E164),
        (48123456789, E164),
        ("+48 12", "is not a valid phone number"),
    ],
)
async def test_a_malformed_phone_is_422_naming_phone(
    client: httpx.AsyncClient, ws: Workspace, phone: Any, message: str
) -> None:
    answer = await client.post(
        f"{FN}/contacts", json={"name": "B", "phone": phone}, headers=ws.auth
    )
    fl_error(answer, 422, "Validation failed", validation(("phone", "invalid", message)))
    assert await count(client, ws.auth) == 0


async def test_a_phone_another_contact_has_is_409_and_creates_nothing(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    answer = await client.post(
        f"{FN}/contacts", json={"name": "Other", "phone": "+48123456789"}, headers=ws.auth
    )
    fl_error(
        answer,
        409,
        "Another record has the whatsapp identity +48123456789",
        [{"field": "address", "code": "duplicate", "message": "belongs to another record"}],
    )
    assert await count(client, ws.auth) == 1


async def test_a_deleted_contact_lets_go_of_its_phone(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    ok(await client.delete(f"{FN}/contacts/{anna['id']}", headers=ws.auth), 204)
    again = await create_contact(client, ws.auth, {"name": "Anna K", "phone": "+48123456789"})
    assert [i["metadata"] for i in again["identities"]] == [{"phoneNumber": "+48123456789"}]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"name": "B", "email": "b@example.com"}, [("email", "unknown", "unknown attribute")]),
        (
            {"name": "B", "tagIds": [], "channel": "sms"},
            [
                ("tagIds", "unknown", "unknown attribute"),
                ("channel", "unknown", "unknown attribute"),
            ],
        ),
        ({"name": 5}, [("name", "invalid", "must be a string")]),
        ({"customFields": "x"}, [("customFields", "invalid", "must be an object")]),
        (
            {"customFields": {"nope": "x", "firstName": "Ann"}},
            [
                ("customFields.nope", "unknown", "no such custom field"),
                ("customFields.firstName", "unknown", "no such custom field"),
            ],
        ),
        ({"customFields": {"email": "not-an-email"}}, None),
    ],
)
async def test_a_bad_create_body_is_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    body: dict[str, Any],
    details: list[tuple[str, str, str]] | None,
) -> None:
    answer = await client.post(f"{FN}/contacts", json=body, headers=ws.auth)
    fl_error(answer, 422, "Validation failed", None if details is None else validation(*details))
    assert await count(client, ws.auth) == 0


async def test_a_body_that_is_no_object_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(f"{FN}/contacts", json=["Anna"], headers=ws.auth)
    fl_error(
        answer, 422, "Validation failed", validation(("body", "invalid", "must be a JSON object"))
    )


# --- read -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        UNKNOWN_CONTACT,
        "con_nope",
        "con_",
        f"tag_{NOBODY}",
        NOBODY,
        "00000000-0000-0000-0000-000000000001",
        "con_1",
        f"con_{NOBODY}0",
        "con_Z" + NOBODY[1:],
    ],
)
async def test_an_unknown_or_malformed_contact_id_is_404(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> None:
    answer = await client.get(f"{FN}/contacts/{ref}", headers=ws.auth)
    fl_error(answer, 404, "Contact not found", [])


async def test_another_workspaces_contact_is_404_everywhere(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, anna: dict[str, Any]
) -> None:
    theirs = other_ws.auth
    cid = anna["id"]
    their_tag = await create_tag(client, theirs, "VIP")
    await create_field(client, theirs, "Lifecycle stage")
    for answer in [
        await client.get(f"{FN}/contacts/{cid}", headers=theirs),
        await client.patch(f"{FN}/contacts/{cid}", json={"name": "Mine"}, headers=theirs),
        await client.post(f"{FN}/contacts/{cid}/archive", headers=theirs),
        await client.post(f"{FN}/contacts/{cid}/unarchive", headers=theirs),
        await client.put(
            f"{FN}/contacts/{cid}/custom-fields/cf_lifecycle_stage",
            json={"value": "x"},
            headers=theirs,
        ),
        await client.post(f"{FN}/contacts/{cid}/tags/{their_tag}", headers=theirs),
        await client.delete(f"{FN}/contacts/{cid}/tags/{their_tag}", headers=theirs),
        await client.delete(f"{FN}/contacts/{cid}", headers=theirs),
    ]:
        fl_error(answer, 404, "Contact not found", [])
    assert await get_contact(client, ws.auth, cid) == anna
    assert await count(client, theirs) == 0


# --- update ---------------------------------------------------------------------------


async def test_patch_changes_only_what_the_body_names(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    answer = await client.patch(
        f"{FN}/contacts/{anna['id']}", json={"name": "Anna Nowak"}, headers=ws.auth
    )
    changed = ok(answer)
    assert at(changed["updatedAt"]) > at(anna["updatedAt"])
    assert changed == {**anna, "name": "Anna Nowak", "updatedAt": changed["updatedAt"]}

    answer = await client.patch(
        f"{FN}/contacts/{anna['id']}",
        json={"customFields": {"preferredStore": "Warsaw"}},
        headers=ws.auth,
    )
    again = ok(answer)
    assert again == {
        **changed,
        "updatedAt": again["updatedAt"],
        "customFields": {**anna["customFields"], "preferredStore": "Warsaw"},
    }

    # An empty body (and a null name) change nothing.
    for body in ({}, {"name": None}):
        answer = await client.patch(f"{FN}/contacts/{anna['id']}", json=body, headers=ws.auth)
        assert ok(answer) == again


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"phone": "+48111111111"}, [("phone", "unknown", "unknown attribute")]),
        ({"name": ["Anna"]}, [("name", "invalid", "must be a string")]),
        (
            {"customFields": {"nope": "x"}},
            [("customFields.nope", "unknown", "no such custom field")],
        ),
    ],
)
async def test_a_bad_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    ws: Workspace,
    anna: dict[str, Any],
    body: dict[str, Any],
    details: list[tuple[str, str, str]],
) -> None:
    answer = await client.patch(f"{FN}/contacts/{anna['id']}", json=body, headers=ws.auth)
    fl_error(answer, 422, "Validation failed", validation(*details))
    assert await get_contact(client, ws.auth, anna["id"]) == anna


async def test_patching_an_unknown_contact_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.patch(
        f"{FN}/contacts/{UNKNOWN_CONTACT}", json={"name": "X"}, headers=ws.auth
    )
    fl_error(answer, 404, "Contact not found", [])


# --- delete ---------------------------------------------------------------------------


async def test_a_deleted_contact_is_gone_from_every_read(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    await tag(client, ws.auth, anna["id"], vip)
    ok(await client.delete(f"{FN}/contacts/{anna['id']}", headers=ws.auth), 204)
    fl_error(await client.get(f"{FN}/contacts/{anna['id']}", headers=ws.auth), 404)
    fl_error(await client.delete(f"{FN}/contacts/{anna['id']}", headers=ws.auth), 404)
    assert ok(await client.get(f"{FN}/contacts", headers=ws.auth))["contacts"] == []
    assert await count(client, ws.auth) == 0
    assert await count(client, ws.auth, {"archived": "true"}) == 0
    tags = ok(await client.get(f"{FN}/tags", headers=ws.auth))["tags"]
    assert [t["labeledCount"] for t in tags] == [0]
    answer = await client.get(
        f"{API}/objects/contact/records/{uuid_of(anna['id'])}", headers=ws.auth
    )
    assert answer.status_code == 404


async def test_deleting_an_unknown_contact_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.delete(f"{FN}/contacts/{UNKNOWN_CONTACT}", headers=ws.auth)
    fl_error(answer, 404, "Contact not found", [])


# --- archive --------------------------------------------------------------------------


async def test_archive_and_unarchive_answer_409_when_already_so(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    archive = f"{FN}/contacts/{anna['id']}/archive"
    unarchive = f"{FN}/contacts/{anna['id']}/unarchive"
    fl_error(
        await client.post(unarchive, headers=ws.auth), 409, "The contact is already active", []
    )
    ok(await client.post(archive, headers=ws.auth), 204)
    archived = await get_contact(client, ws.auth, anna["id"])
    assert is_utc_time(archived["archivedAt"])
    assert archived == {
        **anna,
        "archivedAt": archived["archivedAt"],
        "updatedAt": archived["archivedAt"],
    }
    fl_error(
        await client.post(archive, headers=ws.auth), 409, "The contact is already archived", []
    )
    assert await get_contact(client, ws.auth, anna["id"]) == archived
    ok(await client.post(unarchive, headers=ws.auth), 204)
    restored = await get_contact(client, ws.auth, anna["id"])
    assert restored == {**anna, "updatedAt": restored["updatedAt"]}


@pytest.mark.parametrize("action", ["archive", "unarchive"])
async def test_archiving_an_unknown_contact_is_404(
    client: httpx.AsyncClient, ws: Workspace, action: str
) -> None:
    answer = await client.post(f"{FN}/contacts/{UNKNOWN_CONTACT}/{action}", headers=ws.auth)
    fl_error(answer, 404, "Contact not found", [])


# --- custom field values --------------------------------------------------------------


async def test_setting_and_clearing_a_field_value(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    await set_value(client, ws.auth, anna["id"], "cf_preferred_store", "Warsaw")
    shown = await get_contact(client, ws.auth, anna["id"])
    assert shown["customFields"] == {**anna["customFields"], "preferredStore": "Warsaw"}
    # A predefined field takes a value the same way.
    await set_value(client, ws.auth, anna["id"], "cf_company", "Acme")
    assert (await get_contact(client, ws.auth, anna["id"]))["customFields"]["company"] == "Acme"

    # An empty string clears the value; the definition stays.
    await set_value(client, ws.auth, anna["id"], "cf_preferred_store", "")
    shown = await get_contact(client, ws.auth, anna["id"])
    assert shown["customFields"] == {
        "phone": "+48123456789",
        "lifecycleStage": "lead",
        "company": "Acme",
    }
    native = await native_contact(client, ws, anna["id"])
    assert native["fields"]["preferred_store"] is None
    fields = ok(await client.get(f"{FN}/contacts/custom-fields", headers=ws.auth))["customFields"]
    assert "cf_preferred_store" in [f["id"] for f in fields]
    # Clearing what is clear is fine.
    await set_value(client, ws.auth, anna["id"], "cf_preferred_store", "")


async def test_a_date_field_takes_dates_only(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    await create_field(client, ws.auth, "Renewal date", "date")
    await set_value(client, ws.auth, anna["id"], "cf_renewal_date", "2026-05-01")
    shown = await get_contact(client, ws.auth, anna["id"])
    assert shown["customFields"]["renewalDate"] == "2026-05-01"
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/cf_renewal_date",
        json={"value": "next spring"},
        headers=ws.auth,
    )
    fl_error(answer, 422, "Validation failed")
    assert (await get_contact(client, ws.auth, anna["id"]))["customFields"]["renewalDate"] == (
        "2026-05-01"
    )


async def test_a_bad_field_value_is_422_naming_value(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    await create_field(client, ws.auth, "Renewal date", "date")
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/cf_renewal_date",
        json={"value": "next spring"},
        headers=ws.auth,
    )
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == ["value"]


@pytest.mark.parametrize("field", ["cf_nope", "cf_first_name", "cf_last_name", "nope", "cf_"])
async def test_setting_an_unknown_field_is_404(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any], field: str
) -> None:
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/{field}", json={"value": "x"}, headers=ws.auth
    )
    fl_error(answer, 404, "Custom field not found", [])
    assert await get_contact(client, ws.auth, anna["id"]) == anna


async def test_setting_a_field_of_an_unknown_contact_is_404(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None
) -> None:
    answer = await client.put(
        f"{FN}/contacts/{UNKNOWN_CONTACT}/custom-fields/cf_preferred_store",
        json={"value": "Krakow"},
        headers=ws.auth,
    )
    fl_error(answer, 404, "Contact not found", [])


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, [("value", "required", "is required")]),
        ({"value": "x", "extra": 1}, [("extra", "unknown", "unknown attribute")]),
    ],
)
async def test_a_field_value_body_needs_value_alone(
    client: httpx.AsyncClient,
    ws: Workspace,
    anna: dict[str, Any],
    body: dict[str, Any],
    details: list[tuple[str, str, str]],
) -> None:
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/cf_preferred_store", json=body, headers=ws.auth
    )
    fl_error(answer, 422, "Validation failed", validation(*details))


# --- tags on a contact ----------------------------------------------------------------


async def test_adding_and_removing_a_tag_is_idempotent(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    gold = await create_tag(client, ws.auth, "Gold")
    path = f"{FN}/contacts/{anna['id']}/tags"
    for _ in range(2):
        ok(await client.post(f"{path}/{vip}", headers=ws.auth), 204)
    ok(await client.post(f"{path}/{gold}", headers=ws.auth), 204)
    shown = await get_contact(client, ws.auth, anna["id"])
    assert shown["tagIds"] == [gold, vip]  # by tag name
    tags = ok(await client.get(f"{FN}/tags", headers=ws.auth))["tags"]
    assert [(t["name"], t["labeledCount"]) for t in tags] == [("Gold", 1), ("VIP", 1)]

    for _ in range(2):
        ok(await client.delete(f"{path}/{vip}", headers=ws.auth), 204)
    assert (await get_contact(client, ws.auth, anna["id"]))["tagIds"] == [gold]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize("tag_ref", [UNKNOWN_TAG, "tag_nope", f"con_{NOBODY}"])
async def test_an_unknown_tag_on_a_contact_is_404(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any], method: str, tag_ref: str
) -> None:
    answer = await client.request(
        method, f"{FN}/contacts/{anna['id']}/tags/{tag_ref}", headers=ws.auth
    )
    fl_error(answer, 404, "Tag not found", [])


async def test_another_workspaces_tag_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, anna: dict[str, Any]
) -> None:
    theirs = await create_tag(client, other_ws.auth, "VIP")
    answer = await client.post(f"{FN}/contacts/{anna['id']}/tags/{theirs}", headers=ws.auth)
    fl_error(answer, 404, "Tag not found", [])


async def test_tagging_an_unknown_contact_is_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    answer = await client.post(f"{FN}/contacts/{UNKNOWN_CONTACT}/tags/{vip}", headers=ws.auth)
    fl_error(answer, 404, "Contact not found", [])


# --- the same record as the native API's ----------------------------------------------


async def test_a_contact_is_the_native_contact_record(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    native = await native_contact(client, ws, anna["id"])
    assert native["id"] == uuid_of(anna["id"])
    assert native["object"] == "contact"
    assert native["display_name"] == "Anna Kowalska"
    assert (native["created_at"], native["updated_at"], native["archived_at"]) == (
        anna["createdAt"],
        anna["updatedAt"],
        None,
    )
    assert {k: v for k, v in native["fields"].items() if v is not None} == {
        "first_name": "Anna",
        "last_name": "Kowalska",
        "phone": "+48123456789",
        "lifecycle_stage": "lead",
        "preferred_store": "Krakow",
    }
    identities = ok(
        await client.get(
            f"{API}/objects/contact/records/{native['id']}/identities", headers=ws.auth
        )
    )["data"]
    assert [(i["id"], i["channel"], i["address"]) for i in identities] == [
        (uuid_of(anna["identities"][0]["id"]), "whatsapp", "+48123456789")
    ]
    listed = ok(await client.get(f"{API}/objects/contact/records", headers=ws.auth))["data"]
    assert [r["id"] for r in listed] == [native["id"]]


@pytest.mark.parametrize(
    ("name", "first", "last", "shown"),
    [
        ("Anna Kowalska", "Anna", "Kowalska", "Anna Kowalska"),
        ("  Jan   Maria  Rokita ", "Jan Maria", "Rokita", "Jan Maria Rokita"),
        ("Madonna", "Madonna", None, "Madonna"),
        ("", None, None, None),
    ],
)
async def test_the_name_is_split_into_first_and_last_name(
    client: httpx.AsyncClient,
    ws: Workspace,
    name: str,
    first: str | None,
    last: str | None,
    shown: str | None,
) -> None:
    made = await create_contact(client, ws.auth, {"name": name})
    assert made["name"] == shown
    fields = (await native_contact(client, ws, made["id"]))["fields"]
    assert (fields["first_name"], fields["last_name"]) == (first, last)


async def test_renaming_rewrites_first_and_last_name(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    answer = await client.patch(
        f"{FN}/contacts/{anna['id']}", json={"name": "Cher"}, headers=ws.auth
    )
    assert ok(answer)["name"] == "Cher"
    fields = (await native_contact(client, ws, anna["id"]))["fields"]
    assert (fields["first_name"], fields["last_name"]) == ("Cher", None)


async def test_a_native_contact_shows_on_the_face(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None
) -> None:
    native = ok(
        await client.post(
            f"{API}/objects/contact/records",
            json={
                "fields": {
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "email": "jane@example.com",
                    "lifecycle_stage": "customer",
                }
            },
            headers=ws.auth,
        ),
        201,
    )
    shown = await get_contact(client, ws.auth, face_id("con", native["id"]))
    assert shown == {
        "id": shown["id"],
        "tenantId": shown["tenantId"],
        "name": "Jane Doe",
        "createdAt": native["created_at"],
        "updatedAt": native["updated_at"],
        "identities": [],
        "tagIds": [],
        "customFields": {"email": "jane@example.com", "lifecycleStage": "customer"},
        "archivedAt": None,
    }
    assert uuid_of(shown["id"]) == native["id"]

    # Changes on either side are the other's.
    ok(
        await client.patch(
            f"{API}/objects/contact/records/{native['id']}",
            json={"fields": {"company": "Acme"}},
            headers=ws.auth,
        )
    )
    assert (await get_contact(client, ws.auth, shown["id"]))["customFields"]["company"] == "Acme"
    ok(await client.post(f"{FN}/contacts/{shown['id']}/archive", headers=ws.auth), 204)
    assert is_utc_time((await native_contact(client, ws, shown["id"]))["archived_at"])
