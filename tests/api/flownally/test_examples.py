"""Each example of the Flownally contacts document, run as written (CSV imports aside)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.flownally.conftest import (
    ANNA,
    API,
    FN,
    at,
    create_field,
    create_tag,
    face_id,
    fl_error,
    get_contact,
    is_face_id,
    is_utc_time,
    list_fields,
    my_user_id,
    ok,
)
from tests.conftest import Workspace


async def test_create_contact_example(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None
) -> None:
    made = ok(await client.post(f"{FN}/contacts", json=ANNA, headers=ws.auth), 201)
    assert is_face_id(made["id"], "con")
    assert is_utc_time(made["createdAt"])
    (identity,) = made["identities"]
    assert is_face_id(identity["id"], "idn")
    assert made == {
        "id": made["id"],
        "tenantId": face_id("tn", ws.uuid),
        "name": "Anna Kowalska",
        "createdAt": made["createdAt"],
        "updatedAt": made["createdAt"],
        "identities": [
            {
                "id": identity["id"],
                "channel": "whatsapp",
                "metadata": {"phoneNumber": "+48123456789"},
            }
        ],
        "tagIds": [],
        # The phone is also kept in the predefined cf_phone field.
        "customFields": {
            "phone": "+48123456789",
            "lifecycleStage": "lead",
            "preferredStore": "Krakow",
        },
        "archivedAt": None,
    }


async def test_get_contact_example(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    assert await get_contact(client, ws.auth, anna["id"]) == anna


async def test_list_contacts_example(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    """The list example: Anna tagged, as a customer of the Krakow store."""
    vip = await create_tag(client, ws.auth, "VIP")
    ok(await client.post(f"{FN}/contacts/{anna['id']}/tags/{vip}", headers=ws.auth), 204)
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/cf_lifecycle_stage",
        json={"value": "customer"},
        headers=ws.auth,
    )
    ok(answer, 204)
    page = ok(await client.get(f"{FN}/contacts", headers=ws.auth))
    (shown,) = page["contacts"]
    assert is_utc_time(shown["updatedAt"])
    assert at(shown["updatedAt"]) > at(anna["updatedAt"])
    assert page == {
        "contacts": [
            {
                **anna,
                "updatedAt": shown["updatedAt"],
                "tagIds": [vip],
                "customFields": {
                    "phone": "+48123456789",
                    "lifecycleStage": "customer",
                    "preferredStore": "Krakow",
                },
            }
        ],
        "nextPageToken": None,
    }
    assert await get_contact(client, ws.auth, anna["id"]) == shown


async def test_count_contacts_example(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{FN}/contacts/count", params={"archived": "false"}, headers=ws.auth)
    assert ok(answer) == {"totalSize": 0}


async def test_update_contact_example(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    answer = await client.patch(
        f"{FN}/contacts/{anna['id']}", json={"name": "order_ready"}, headers=ws.auth
    )
    changed = ok(answer)
    assert is_utc_time(changed["updatedAt"])
    assert at(changed["updatedAt"]) > at(anna["updatedAt"])
    assert changed == {**anna, "name": "order_ready", "updatedAt": changed["updatedAt"]}
    assert await get_contact(client, ws.auth, anna["id"]) == changed


async def test_delete_contact_example(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    ok(await client.delete(f"{FN}/contacts/{anna['id']}", headers=ws.auth), 204)
    answer = await client.get(f"{FN}/contacts/{anna['id']}", headers=ws.auth)
    fl_error(answer, 404, "Contact not found", [])


async def test_archive_and_unarchive_examples(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    ok(await client.post(f"{FN}/contacts/{anna['id']}/archive", headers=ws.auth), 204)
    archived = await get_contact(client, ws.auth, anna["id"])
    assert is_utc_time(archived["archivedAt"])
    ok(await client.post(f"{FN}/contacts/{anna['id']}/unarchive", headers=ws.auth), 204)
    assert (await get_contact(client, ws.auth, anna["id"]))["archivedAt"] is None


async def test_set_field_value_example(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    answer = await client.put(
        f"{FN}/contacts/{anna['id']}/custom-fields/cf_preferred_store",
        json={"value": "Krakow"},
        headers=ws.auth,
    )
    ok(answer, 204)
    assert (await get_contact(client, ws.auth, anna["id"]))["customFields"] == anna["customFields"]


async def test_add_and_remove_tag_examples(
    client: httpx.AsyncClient, ws: Workspace, anna: dict[str, Any]
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    ok(await client.post(f"{FN}/contacts/{anna['id']}/tags/{vip}", headers=ws.auth), 204)
    assert (await get_contact(client, ws.auth, anna["id"]))["tagIds"] == [vip]
    ok(await client.delete(f"{FN}/contacts/{anna['id']}/tags/{vip}", headers=ws.auth), 204)
    assert (await get_contact(client, ws.auth, anna["id"]))["tagIds"] == []


async def test_tag_examples(client: httpx.AsyncClient, ws: Workspace) -> None:
    assert ok(await client.get(f"{FN}/tags", headers=ws.auth)) == {"tags": []}
    made = ok(await client.post(f"{FN}/tags", json={"name": "VIP"}, headers=ws.auth), 201)
    assert is_face_id(made["id"], "tag")
    assert is_utc_time(made["createdAt"])
    me = await my_user_id(client, ws.auth)
    assert made == {
        "id": made["id"],
        "name": "VIP",
        "createdAt": made["createdAt"],
        "createdBy": me,
        "labeledCount": 0,
    }
    assert ok(await client.get(f"{FN}/tags", headers=ws.auth)) == {"tags": [made]}
    ok(await client.delete(f"{FN}/tags/{made['id']}", headers=ws.auth), 204)
    assert ok(await client.get(f"{FN}/tags", headers=ws.auth)) == {"tags": []}


async def test_contact_field_definition_examples(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = ok(
        await client.post(
            f"{FN}/contacts/custom-fields",
            json={"name": "Lifecycle stage", "type": "text"},
            headers=ws.auth,
        ),
        201,
    )
    assert is_utc_time(made["createdAt"])
    me = await my_user_id(client, ws.auth)
    assert made == {
        "id": "cf_lifecycle_stage",
        "name": "Lifecycle stage",
        "type": "text",
        "createdAt": made["createdAt"],
        "createdBy": me,
        "predefined": False,
        "entityType": "contact",
    }
    assert (await list_fields(client, ws.auth))[-1] == made

    # The update example renames it to Region; its id stays.
    changed = ok(
        await client.patch(
            f"{FN}/contacts/custom-fields/cf_lifecycle_stage",
            json={"name": "Region", "type": "text"},
            headers=ws.auth,
        )
    )
    assert changed == {**made, "name": "Region"}
    assert (await list_fields(client, ws.auth))[-1] == changed

    ok(await client.delete(f"{FN}/contacts/custom-fields/cf_lifecycle_stage", headers=ws.auth), 204)
    assert "cf_lifecycle_stage" not in [f["id"] for f in await list_fields(client, ws.auth)]


async def test_property_field_definition_examples(client: httpx.AsyncClient, ws: Workspace) -> None:
    assert await list_fields(client, ws.auth, "properties") == []
    made = await create_field(client, ws.auth, "Region", entity="properties")
    assert is_utc_time(made["createdAt"])
    assert made == {
        "id": "cf_region",
        "name": "Region",
        "type": "text",
        "createdAt": made["createdAt"],
        "createdBy": await my_user_id(client, ws.auth),
        "predefined": False,
        "entityType": "property",
    }
    assert await list_fields(client, ws.auth, "properties") == [made]

    changed = ok(
        await client.patch(
            f"{FN}/properties/custom-fields/cf_region",
            json={"name": "Region", "type": "text"},
            headers=ws.auth,
        )
    )
    assert changed == made

    ok(await client.delete(f"{FN}/properties/custom-fields/cf_region", headers=ws.auth), 204)
    assert await list_fields(client, ws.auth, "properties") == []
    # The property object the first field brought stays, now without fields.
    found = ok(await client.get(f"{API}/objects/property", headers=ws.auth))
    assert found["fields"] == []
