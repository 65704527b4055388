"""Records through the native API: CRUD, validation, uniqueness, bulk, upsert and finding."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.schema import records as records_table
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"
CONTACT_FIELDS = [
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "mobile",
    "company",
    "website",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "status",
    "source",
    "description",
]
HOSTILE = [
    "'; DROP TABLE records; --",
    'Robert"); DELETE FROM records WHERE 1=1; --',
    "100% _real_ \\ back\\slash",
    "<script>alert(1)</script>",
    "Zoë ☃ 北京 \u200b tab\there",
    "  padded  ",
]


# --- helpers ------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, ws: Workspace, obj: str = "contact", **values: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": values}, headers=ws.auth
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def read(client: httpx.AsyncClient, ws: Workspace, record_id: str) -> dict[str, Any]:
    answer = await client.get(f"{CONTACTS}/{record_id}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def make_field(
    client: httpx.AsyncClient, ws: Workspace, key: str, type_: str = "text", **extra: Any
) -> None:
    answer = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": key, "label": key.replace("_", " ").title(), "type": type_, **extra},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text


async def search(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    answer = await client.post(f"{CONTACTS}/search", json=body, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def listing(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> dict[str, Any]:
    answer = await client.get(CONTACTS, params=params, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def count(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> int:
    answer = await client.post(f"{CONTACTS}/count", json=body, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


def ids(page: dict[str, Any]) -> list[str]:
    return [r["id"] for r in page["data"]]


async def my_user_id(client: httpx.AsyncClient, key_headers: dict[str, str]) -> str:
    answer = await client.get(f"{API}/me", headers=key_headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["user"]["id"])


async def walk(
    client: httpx.AsyncClient, ws: Workspace, limit: int, **body: Any
) -> list[dict[str, Any]]:
    """Every record of a search, page by page through ``next_cursor``."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = await search(client, ws, limit=limit, cursor=cursor, **body)
        assert len(page["data"]) <= limit
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor walk does not end")


# --- create and read ----------------------------------------------------------------------


async def test_create_answers_the_record_with_every_field(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        CONTACTS,
        json={"fields": {"first_name": "Ada", "last_name": "Lovelace", "city": "London"}},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert uuid.UUID(made["id"]).version == 7
    assert made["object"] == "contact"
    assert made["display_name"] == "Ada Lovelace"
    assert list(made["fields"]) == CONTACT_FIELDS
    assert made["fields"] == {
        **dict.fromkeys(CONTACT_FIELDS),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "city": "London",
    }
    assert made["owner_id"] == await my_user_id(client, ws.auth)
    assert made["created_at"].endswith("Z")
    assert made["updated_at"] == made["created_at"]
    assert made["archived_at"] is None
    assert await read(client, ws, made["id"]) == made


async def test_display_name_falls_back_to_email(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create(client, ws, email="solo@example.com", city="Oslo")
    assert made["display_name"] == "solo@example.com"


async def test_values_are_normalised(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create(
        client,
        ws,
        first_name="Ada",
        email="  Ada.Lovelace@Example.COM ",
        phone="+1 (415) 555-0123",
        mobile="+44 20 7946 0958",
        status="qualified",
        source="REFERRAL",
        website="example.com/ada",
    )
    fields = made["fields"]
    assert fields["email"] == "ada.lovelace@example.com"
    assert fields["phone"] == "+14155550123"
    assert fields["mobile"] == "+442079460958"
    assert fields["status"] == "Qualified"
    assert fields["source"] == "Referral"
    assert fields["website"] == "https://example.com/ada"
    assert (await read(client, ws, made["id"]))["fields"] == fields

    answer = await client.patch(
        f"{CONTACTS}/{made['id']}",
        json={"fields": {"email": "ADA@EXAMPLE.ORG", "phone": "415.555.0199 ", "status": "NEW"}},
        headers=ws.auth,
    )
    # A number without a country code is not E.164 and the field has no default region.
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["phone"]
    answer = await client.patch(
        f"{CONTACTS}/{made['id']}",
        json={"fields": {"email": "ADA@EXAMPLE.ORG", "phone": "+1 415.555.0199", "status": "NEW"}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()["fields"]
    assert (changed["email"], changed["phone"], changed["status"]) == (
        "ada@example.org",
        "+14155550199",
        "New",
    )


async def test_every_bad_field_gets_one_detail(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        CONTACTS,
        json={
            "fields": {
                "first_name": "Ada",
                "nickname": "Countess",
                "email": "not-an-email",
                "phone": "12",
                "last_name": {"not": "text"},
                "status": "Bogus",
                "website": "javascript:alert(1)",
            }
        },
        headers=ws.auth,
    )
    error = assert_error(answer, 422, "validation_failed")
    by_field = {d["field"]: d for d in error["details"]}
    assert sorted(by_field) == ["email", "last_name", "nickname", "phone", "status", "website"]
    assert len(error["details"]) == len(by_field)
    assert by_field["nickname"]["code"] == "unknown_field"
    for key in ("email", "phone", "last_name", "status", "website"):
        assert by_field[key]["code"] == "invalid"
        assert by_field[key]["message"]
    assert "Qualified" in by_field["status"]["message"]
    assert (await listing(client, ws))["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": "Ada"}, "fields"),
        ({"fields": {"first_name": "Ada"}, "colour": "red"}, "colour"),
        ({}, "fields"),
        ({"fields": {"first_name": "Ada"}, "owner_id": "nobody@example.com"}, "owner_id"),
    ],
)
async def test_malformed_record_bodies_are_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(CONTACTS, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [field]
    assert (await listing(client, ws))["data"] == []


async def test_wrong_types_per_field_type(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_field(client, ws, "score", "number")
    await make_field(client, ws, "born", "date")
    await make_field(client, ws, "vip", "boolean")
    answer = await client.post(
        CONTACTS,
        json={"fields": {"score": "lots", "born": "31/12/1990", "vip": "maybe", "city": True}},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert sorted(detail_fields(answer)) == ["born", "city", "score", "vip"]
    made = await create(client, ws, score="1,250", born="1990-12-31", vip="yes", city=42)
    assert {k: made["fields"][k] for k in ("score", "born", "vip", "city")} == {
        "score": 1250,
        "born": "1990-12-31",
        "vip": True,
        "city": "42",
    }


async def test_malformed_json_is_400(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        CONTACTS,
        content=b'{"fields": {"first_name": ',
        headers={**ws.auth, "Content-Type": "application/json"},
    )
    assert_error(answer, 400, "malformed_request")


async def test_unknown_object_and_record_are_404(client: httpx.AsyncClient, ws: Workspace) -> None:
    assert_error(
        await client.get(f"{API}/objects/spaceship/records", headers=ws.auth), 404, "not_found"
    )
    assert_error(
        await client.post(f"{API}/objects/spaceship/records", json={"fields": {}}, headers=ws.auth),
        404,
        "not_found",
    )
    for ref in (str(uuid.uuid4()), "not-an-id", "999999999"):
        assert_error(await client.get(f"{CONTACTS}/{ref}", headers=ws.auth), 404, "not_found")
        assert_error(
            await client.patch(f"{CONTACTS}/{ref}", json={"fields": {}}, headers=ws.auth),
            404,
            "not_found",
        )
        assert_error(await client.delete(f"{CONTACTS}/{ref}", headers=ws.auth), 404, "not_found")


async def _integer_id(engine: AsyncEngine, record_id: str) -> int:
    """The record's integer id, which the API accepts but does not show."""
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(records_table.c.id).where(records_table.c.uuid == uuid.UUID(record_id))
        )
        return int(found.scalar_one())


async def test_integer_id_is_accepted_within_the_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, engine: AsyncEngine
) -> None:
    made = await create(client, ws, first_name="Ada")
    number = await _integer_id(engine, made["id"])
    assert await read(client, ws, str(number)) == made
    answer = await client.patch(
        f"{CONTACTS}/{number}", json={"fields": {"city": "Paris"}}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == made["id"]
    # Integer ids are guessable: another workspace must still get 404.
    url = f"{CONTACTS}/{number}"
    assert_error(await client.get(url, headers=other_ws.auth), 404, "not_found")
    assert_error(
        await client.patch(url, json={"fields": {"city": "X"}}, headers=other_ws.auth),
        404,
        "not_found",
    )
    assert_error(await client.delete(url, headers=other_ws.auth), 404, "not_found")
    assert_error(await client.get(f"{url}/timeline", headers=other_ws.auth), 404, "not_found")
    assert (await read(client, ws, made["id"]))["fields"]["city"] == "Paris"


async def test_a_record_is_read_under_its_own_object_only(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Ada")
    answer = await client.get(f"{API}/objects/lead/records/{made['id']}", headers=ws.auth)
    assert_error(answer, 404, "not_found")


async def test_records_of_another_workspace_are_invisible(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Ada", email="ada@example.com")
    url = f"{CONTACTS}/{made['id']}"
    assert_error(await client.get(url, headers=other_ws.auth), 404, "not_found")
    assert_error(
        await client.patch(url, json={"fields": {"city": "X"}}, headers=other_ws.auth),
        404,
        "not_found",
    )
    assert_error(await client.delete(url, headers=other_ws.auth), 404, "not_found")
    assert (await listing(client, other_ws, q="ada"))["data"] == []
    assert await count(client, other_ws) == 0
    assert (await read(client, ws, made["id"]))["fields"]["city"] is None


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_text_is_stored_verbatim(
    client: httpx.AsyncClient, ws: Workspace, text: str
) -> None:
    made = await create(client, ws, first_name=text, company=text, description=text)
    assert made["fields"]["first_name"] == text
    stored = await read(client, ws, made["id"])
    assert (stored["fields"]["company"], stored["fields"]["description"]) == (text, text)
    other = await create(client, ws, first_name="Plain")
    found = await search(client, ws, filter={"field": "company", "op": "eq", "value": text})
    assert ids(found) == [made["id"]]
    found = await search(client, ws, filter={"field": "company", "op": "contains", "value": text})
    assert ids(found) == [made["id"]]
    assert ids(await listing(client, ws, q=text.strip())) == [made["id"]]
    assert set(ids(await listing(client, ws))) == {made["id"], other["id"]}


async def test_like_wildcards_in_filters_and_search_match_literally(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    percent = await create(client, ws, first_name="Ada", company="100% Cotton")
    under = await create(client, ws, first_name="Bob", company="snake_case Ltd")
    await create(client, ws, first_name="Cy", company="1000 Cotton snakeXcase")
    for value, expected in (("%", percent), ("0% C", percent), ("e_c", under), ("_", under)):
        found = await search(
            client, ws, filter={"field": "company", "op": "contains", "value": value}
        )
        assert ids(found) == [expected["id"]], value
        assert ids(await listing(client, ws, q=value)) == [expected["id"]], value


async def test_text_operators_ignore_case_beyond_ascii(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await create(client, ws, first_name="Émile", city="ZÜRICH")
    await create(client, ws, first_name="Emile", city="Zurich")
    for field, op, value in [
        ("first_name", "contains", "émile"),
        ("first_name", "starts", "éM"),
        ("city", "ends", "üRICH"),
        ("city", "contains", "zürich"),
    ]:
        found = await search(client, ws, filter={"field": field, "op": op, "value": value})
        assert ids(found) == [made["id"]], (field, op, value)
    assert ids(await listing(client, ws, q="ÉMILE")) == [made["id"]]
    assert ids(await listing(client, ws, q="zürich")) == [made["id"]]


# --- change -------------------------------------------------------------------------------


async def test_partial_update_and_clearing(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create(
        client, ws, first_name="Ada", last_name="Lovelace", title="Countess", city="London"
    )
    answer = await client.patch(
        f"{CONTACTS}/{made['id']}",
        json={"fields": {"city": "Paris", "title": None, "last_name": "King"}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed["fields"] == {
        **made["fields"],
        "city": "Paris",
        "title": None,
        "last_name": "King",
    }
    assert changed["display_name"] == "Ada King"
    assert changed["id"] == made["id"]
    assert changed["created_at"] == made["created_at"]
    assert changed["updated_at"] >= made["updated_at"]
    assert await read(client, ws, made["id"]) == changed

    # An empty string clears too; an empty patch changes nothing.
    answer = await client.patch(
        f"{CONTACTS}/{made['id']}", json={"fields": {"city": ""}}, headers=ws.auth
    )
    assert answer.json()["fields"]["city"] is None
    same = await client.patch(f"{CONTACTS}/{made['id']}", json={"fields": {}}, headers=ws.auth)
    assert same.status_code == 200
    assert same.json() == answer.json()


async def test_bad_update_changes_nothing(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create(client, ws, first_name="Ada", email="ada@example.com")
    answer = await client.patch(
        f"{CONTACTS}/{made['id']}",
        json={"fields": {"first_name": "Eve", "email": "broken", "shoe_size": 9}},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert sorted(detail_fields(answer)) == ["email", "shoe_size"]
    assert await read(client, ws, made["id"]) == made


async def test_required_field_cannot_be_cleared(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/company/records", json={"fields": {"website": "acme.com"}}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert answer.json()["error"]["details"][0] == {
        "field": "name",
        "code": "required",
        "message": "is required",
    }
    made = await create(client, ws, "company", name="Acme")
    answer = await client.patch(
        f"{API}/objects/company/records/{made['id']}",
        json={"fields": {"name": None}},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["name"]
    answer = await client.get(f"{API}/objects/company/records/{made['id']}", headers=ws.auth)
    assert answer.json()["fields"]["name"] == "Acme"


async def test_owner_defaults_to_the_caller_and_can_be_set(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    owner = await my_user_id(client, ws.auth)
    sam_key = await ws.add_key(role="admin", email="sam@example.com")
    sam = await my_user_id(client, {"Authorization": f"Bearer {sam_key}"})
    assert sam != owner

    mine = await create(client, ws, first_name="Ada")
    assert mine["owner_id"] == owner
    answer = await client.post(
        CONTACTS,
        json={"fields": {"first_name": "Bo"}},
        headers={"Authorization": f"Bearer {sam_key}"},
    )
    assert answer.json()["owner_id"] == sam
    answer = await client.post(
        CONTACTS,
        json={"fields": {"first_name": "Cy"}, "owner_id": "SAM@example.com"},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["owner_id"] == sam

    answer = await client.patch(f"{CONTACTS}/{mine['id']}", json={"owner_id": sam}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["owner_id"] == sam
    assert answer.json()["fields"] == mine["fields"]
    assert (await read(client, ws, mine["id"]))["owner_id"] == sam
    answer = await client.patch(
        f"{CONTACTS}/{mine['id']}", json={"owner_id": str(uuid.uuid4())}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["owner_id"]


# --- delete, restore, archive -------------------------------------------------------------


async def test_soft_delete_and_restore(client: httpx.AsyncClient, ws: Workspace) -> None:
    gone = await create(client, ws, first_name="Ada", email="ada@example.com")
    kept = await create(client, ws, first_name="Bob")
    url = f"{CONTACTS}/{gone['id']}"
    answer = await client.delete(url, headers=ws.auth)
    assert answer.status_code == 204
    assert answer.content == b""

    assert_error(await client.get(url, headers=ws.auth), 404, "not_found")
    assert ids(await listing(client, ws)) == [kept["id"]]
    assert ids(await listing(client, ws, archived="include")) == [kept["id"]]
    assert ids(await listing(client, ws, q="ada")) == []
    assert await count(client, ws) == 1
    assert_error(await client.delete(url, headers=ws.auth), 404, "not_found")
    assert_error(
        await client.patch(url, json={"fields": {"city": "X"}}, headers=ws.auth), 404, "not_found"
    )
    assert_error(await client.post(f"{url}/archive", headers=ws.auth), 404, "not_found")

    answer = await client.post(f"{url}/restore", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    restored = answer.json()
    assert restored["fields"] == gone["fields"]
    assert restored["id"] == gone["id"]
    assert await read(client, ws, gone["id"]) == restored
    assert set(ids(await listing(client, ws))) == {gone["id"], kept["id"]}
    # Only a deleted record can be restored.
    assert_error(await client.post(f"{url}/restore", headers=ws.auth), 404, "not_found")


async def test_archive_and_unarchive(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await create(client, ws, first_name="Ada")
    url = f"{CONTACTS}/{made['id']}"
    answer = await client.post(f"{url}/archive", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    archived = answer.json()
    assert archived["archived_at"] is not None
    assert archived["fields"] == made["fields"]
    assert await read(client, ws, made["id"]) == archived
    assert_error(await client.post(f"{url}/archive", headers=ws.auth), 409, "conflict")

    # An archived record can still be changed.
    answer = await client.patch(url, json={"fields": {"city": "Paris"}}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["archived_at"] == archived["archived_at"]

    answer = await client.post(f"{url}/unarchive", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["archived_at"] is None
    assert answer.json()["fields"]["city"] == "Paris"
    assert (await read(client, ws, made["id"]))["archived_at"] is None
    assert_error(await client.post(f"{url}/unarchive", headers=ws.auth), 409, "conflict")


async def test_archived_modes(client: httpx.AsyncClient, ws: Workspace) -> None:
    active = await create(client, ws, first_name="Active", city="Rome")
    archived = await create(client, ws, first_name="Archived", city="Rome")
    deleted = await create(client, ws, first_name="Deleted", city="Rome")
    assert (await client.post(f"{CONTACTS}/{archived['id']}/archive", headers=ws.auth)).is_success
    assert (await client.delete(f"{CONTACTS}/{deleted['id']}", headers=ws.auth)).is_success

    expected = {
        "exclude": [active["id"]],
        "include": [archived["id"], active["id"]],
        "only": [archived["id"]],
    }
    city = {"field": "city", "op": "eq", "value": "Rome"}
    for mode, wanted in expected.items():
        assert ids(await listing(client, ws, archived=mode)) == wanted, mode
        assert ids(await search(client, ws, archived=mode, filter=city)) == wanted, mode
        assert await count(client, ws, archived=mode, filter=city) == len(wanted), mode
        page = await listing(client, ws, archived=mode, include_total="true")
        assert page["total"] == len(wanted)
    assert ids(await listing(client, ws)) == expected["exclude"]
    found = await search(
        client, ws, archived="include", filter={"field": "archived_at", "op": "not_empty"}
    )
    assert ids(found) == [archived["id"]]
    for bad in (
        await client.get(CONTACTS, params={"archived": "all"}, headers=ws.auth),
        await client.post(f"{CONTACTS}/search", json={"archived": "yes"}, headers=ws.auth),
        await client.post(f"{CONTACTS}/count", json={"archived": None}, headers=ws.auth),
    ):
        assert_error(bad, 422, "validation_failed")
        assert detail_fields(bad) == ["archived"]


# --- uniqueness, upsert, bulk -------------------------------------------------------------


async def test_duplicate_unique_value_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_field(client, ws, "external_id", unique=True)
    first = await create(client, ws, first_name="Ada", external_id="X-1")
    answer = await client.post(
        CONTACTS, json={"fields": {"first_name": "Eve", "external_id": "X-1"}}, headers=ws.auth
    )
    error = assert_error(answer, 409, "conflict")
    assert [(d["field"], d["code"]) for d in error["details"]] == [("external_id", "duplicate")]
    second = await create(client, ws, first_name="Bob", external_id="X-2")
    answer = await client.patch(
        f"{CONTACTS}/{second['id']}", json={"fields": {"external_id": "X-1"}}, headers=ws.auth
    )
    assert_error(answer, 409, "conflict")
    assert (await read(client, ws, second["id"]))["fields"]["external_id"] == "X-2"
    # Saving a record with its own unique value is not a conflict.
    answer = await client.patch(
        f"{CONTACTS}/{first['id']}",
        json={"fields": {"external_id": "X-1", "city": "Rome"}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    assert await count(client, ws) == 2

    # A deleted record frees its value, and cannot be restored while another holds it.
    assert (await client.delete(f"{CONTACTS}/{first['id']}", headers=ws.auth)).status_code == 204
    third = await create(client, ws, first_name="Cy", external_id="X-1")
    answer = await client.post(f"{CONTACTS}/{first['id']}/restore", headers=ws.auth)
    assert_error(answer, 409, "conflict")
    assert set(ids(await listing(client, ws))) == {second["id"], third["id"]}


async def test_unique_values_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    first = await create(client, ws, "case", title="Broken", identifier="T-1")
    again = await client.post(
        f"{API}/objects/case/records",
        json={"fields": {"title": "Also broken", "identifier": "T-1"}},
        headers=ws.auth,
    )
    assert_error(again, 409, "conflict")
    elsewhere = await create(client, other_ws, "case", title="Broken", identifier="T-1")
    assert elsewhere["fields"]["identifier"] == first["fields"]["identifier"] == "T-1"


async def test_bulk_reports_bad_items_by_index(client: httpx.AsyncClient, ws: Workspace) -> None:
    items: list[Any] = [
        {"fields": {"first_name": "Ada", "email": "ADA@example.com"}},
        {"fields": {"first_name": "Bad", "email": "nope"}},
        {"fields": {"first_name": "Bob", "status": "customer"}},
        {"fields": {"first_name": "Who", "planet": "Mars"}},
        {"fields": "Cy"},
        {"fields": {"first_name": "Cy"}, "extra": 1},
        {"fields": {"first_name": "Dee", "phone": "+1 415 555 0123"}},
        "not an object",
    ]
    answer = await client.post(f"{CONTACTS}/bulk", json={"records": items}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["created"], result["failed"]) == (3, 5)
    assert [d["index"] for d in result["data"]] == list(range(len(items)))
    status = {d["index"]: d["status"] for d in result["data"]}
    assert [i for i, s in status.items() if s == "created"] == [0, 2, 6]
    bad = {d["index"]: d for d in result["data"] if d["status"] == "error"}
    for item in bad.values():
        assert item["http_status"] == 422
        assert item["error"]["code"] == "validation_failed"
    assert [d["field"] for d in bad[1]["error"]["details"]] == ["email"]
    assert [(d["field"], d["code"]) for d in bad[3]["error"]["details"]] == [
        ("planet", "unknown_field")
    ]
    assert [d["field"] for d in bad[4]["error"]["details"]] == ["fields"]
    assert [d["field"] for d in bad[5]["error"]["details"]] == ["item"]
    assert [d["field"] for d in bad[7]["error"]["details"]] == ["item"]

    created = {d["index"]: d["record"] for d in result["data"] if d["status"] == "created"}
    assert created[0]["fields"]["email"] == "ada@example.com"
    assert created[2]["fields"]["status"] == "Customer"
    assert created[6]["fields"]["phone"] == "+14155550123"
    for record in created.values():
        assert await read(client, ws, record["id"]) == record
    listed = await listing(client, ws, sort="first_name")
    assert [r["fields"]["first_name"] for r in listed["data"]] == ["Ada", "Bob", "Dee"]


async def test_bulk_refuses_duplicates_of_stored_and_earlier_items(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await make_field(client, ws, "external_id", unique=True)
    await create(client, ws, first_name="Old", external_id="E-1")
    items = [
        {"fields": {"first_name": "A", "external_id": "E-2"}},
        {"fields": {"first_name": "B", "external_id": "E-2"}},
        {"fields": {"first_name": "C", "external_id": "E-1"}},
        {"fields": {"first_name": "D", "external_id": "E-3"}},
        {"fields": {"first_name": "E"}},
        {"fields": {"first_name": "F"}},
    ]
    answer = await client.post(f"{CONTACTS}/bulk", json={"records": items}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [d["status"] for d in result["data"]] == [
        "created",
        "error",
        "error",
        "created",
        "created",
        "created",
    ]
    for index in (1, 2):
        item = result["data"][index]
        assert item["http_status"] == 409
        assert item["error"]["code"] == "conflict"
        assert [(d["field"], d["code"]) for d in item["error"]["details"]] == [
            ("external_id", "duplicate")
        ]
    listed = await listing(client, ws, sort="first_name")
    assert [r["fields"]["first_name"] for r in listed["data"]] == ["A", "D", "E", "F", "Old"]


@pytest.mark.parametrize("records", [[], "many", [{"fields": {}}] * 1001])
async def test_bulk_needs_one_to_a_thousand_items(
    client: httpx.AsyncClient, ws: Workspace, records: Any
) -> None:
    answer = await client.post(f"{CONTACTS}/bulk", json={"records": records}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["records"]
    assert await count(client, ws) == 0


async def test_upsert_creates_then_updates(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_field(client, ws, "external_id", unique=True)
    url = f"{CONTACTS}/upsert"
    answer = await client.put(
        url,
        json={"match": "external_id", "fields": {"external_id": "C-9", "first_name": "Ada"}},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["fields"]["first_name"] == "Ada"

    answer = await client.put(
        url,
        json={"match": "external_id", "fields": {"external_id": "C-9", "city": "London"}},
        headers=ws.auth,
    )
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert updated["id"] == made["id"]
    assert updated["fields"] == {**made["fields"], "city": "London"}
    assert await read(client, ws, made["id"]) == updated
    assert await count(client, ws) == 1

    answer = await client.put(
        url,
        json={"match": "external_id", "fields": {"external_id": "C-10", "first_name": "Bob"}},
        headers=ws.auth,
    )
    assert answer.status_code == 201
    assert await count(client, ws) == 2


async def test_upsert_refusals(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_field(client, ws, "external_id", unique=True)
    url = f"{CONTACTS}/upsert"
    cases = [
        ({"match": "email", "fields": {"email": "a@example.com"}}, "match"),
        ({"match": "nope", "fields": {"first_name": "A"}}, "match"),
        ({"match": "external_id", "fields": {"first_name": "A"}}, "external_id"),
        ({"match": "external_id", "fields": {"external_id": ""}}, "external_id"),
    ]
    for body, field in cases:
        answer = await client.put(url, json=body, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == [field], body
    # A bad value elsewhere in the fields is refused whether it would create or update.
    body = {"match": "external_id", "fields": {"external_id": "U-1", "email": "bad"}}
    answer = await client.put(url, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["email"]
    assert await count(client, ws) == 0


# --- sorting ------------------------------------------------------------------------------


async def _cities(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """Records named A..F with cities (two without); their ids by name."""
    cities = {"A": "Boston", "B": None, "C": "Austin", "D": None, "E": "Chicago", "F": "Austin"}
    made = {}
    for name, city in cities.items():
        values = {"first_name": name} if city is None else {"first_name": name, "city": city}
        made[name] = (await create(client, ws, **values))["id"]
    return made


def names(records: list[dict[str, Any]]) -> str:
    return "".join(r["fields"]["first_name"] for r in records)


async def test_sort_puts_missing_values_first_ascending_last_descending(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await _cities(client, ws)
    # Ties (Austin, and the two without a city) keep the order of creation, reversed
    # when descending.
    assert names((await listing(client, ws, sort="city"))["data"]) == "BDCFAE"
    assert names((await listing(client, ws, sort="-city"))["data"]) == "EAFCDB"
    asc = await search(client, ws, sort=[{"field": "city", "direction": "asc"}])
    desc = await search(client, ws, sort=[{"field": "city", "direction": "desc"}])
    assert (names(asc["data"]), names(desc["data"])) == ("BDCFAE", "EAFCDB")
    assert names((await listing(client, ws, sort="city,-first_name"))["data"]) == "DBFCAE"
    # Without a sort, newest first.
    assert names((await listing(client, ws))["data"]) == "FEDCBA"
    assert names((await listing(client, ws, sort="created_at"))["data"]) == "ABCDEF"
    assert names((await listing(client, ws, sort="-created_at"))["data"]) == "FEDCBA"


async def test_numbers_and_dates_sort_by_value(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make_field(client, ws, "score", "number")
    await make_field(client, ws, "born", "date")
    rows = {
        "A": (9, "1990-05-01"),
        "B": (100, "1989-12-31"),
        "C": (-3.5, None),
        "D": (None, "2001-01-09"),
        "E": (10, "1990-04-30"),
    }
    for name, (score, born) in rows.items():
        values: dict[str, Any] = {"first_name": name, "score": score, "born": born}
        await create(client, ws, **{k: v for k, v in values.items() if v is not None})
    assert names((await listing(client, ws, sort="score"))["data"]) == "DCAEB"
    assert names((await listing(client, ws, sort="-score"))["data"]) == "BEACD"
    assert names((await listing(client, ws, sort="born"))["data"]) == "CBEAD"
    assert names((await listing(client, ws, sort="-born"))["data"]) == "DAEBC"


@pytest.mark.parametrize("sort", ["city", "-city", "city,-first_name", "-status,city"])
async def test_cursor_pages_follow_the_sort_across_missing_values(
    client: httpx.AsyncClient, ws: Workspace, sort: str
) -> None:
    await _cities(client, ws)
    whole = (await listing(client, ws, sort=sort))["data"]
    spec = [
        {"field": p.lstrip("-"), "direction": "desc" if p.startswith("-") else "asc"}
        for p in sort.split(",")
    ]
    for limit in (1, 2, 4):
        assert names(await walk(client, ws, limit, sort=spec)) == names(whole)
    # The GET listing's cursors continue it the same way.
    seen: list[dict[str, Any]] = []
    page = await listing(client, ws, sort=sort, limit=2)
    seen += page["data"]
    while page["next_cursor"]:
        page = await listing(client, ws, sort=sort, limit=2, cursor=page["next_cursor"])
        seen += page["data"]
    assert names(seen) == names(whole)


@pytest.mark.parametrize(
    "sort",
    [
        [{"field": "shoe_size"}],
        [{"field": "city", "direction": "up"}],
        [{"field": "city", "order": "asc"}],
        "city",
    ],
)
async def test_bad_sort_is_422(client: httpx.AsyncClient, ws: Workspace, sort: Any) -> None:
    answer = await client.post(f"{CONTACTS}/search", json={"sort": sort}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    answer = await client.get(CONTACTS, params={"sort": "shoe_size"}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")


# --- pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sort",
    [
        [],
        [{"field": "created_at", "direction": "asc"}],
        [{"field": "city", "direction": "asc"}],
        [{"field": "city", "direction": "desc"}],
    ],
)
async def test_cursor_walk_visits_each_record_once_while_records_are_added(
    client: httpx.AsyncClient, ws: Workspace, sort: list[dict[str, str]]
) -> None:
    cities = ["Oslo", None, "Bergen", "Oslo", None, "Tromsø", "Alta", None, "Bergen"]
    before = set()
    for i, city in enumerate(cities):
        values = {"first_name": f"Old {i}", **({"city": city} if city else {})}
        before.add((await create(client, ws, **values))["id"])
    seen: list[str] = []
    added: set[str] = set()
    cursor = None
    for step in range(50):
        page = await search(client, ws, limit=2, cursor=cursor, sort=sort)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Records arrive between pages, with values before, at and after the position.
        city = ["Aalesund", None, "Oslo", "Zzz"][step % 4]
        values = {"first_name": f"New {step}", **({"city": city} if city else {})}
        added.add((await create(client, ws, **values))["id"])
    assert cursor is None
    assert len(seen) == len(set(seen)), "a record was visited twice"
    assert before <= set(seen), "a record was skipped"
    assert set(seen) <= before | added


async def test_offset_pages(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _cities(client, ws)
    whole = names((await listing(client, ws, sort="city"))["data"])
    pages = []
    for offset in (0, 2, 4):
        page = await listing(client, ws, sort="city", limit=2, offset=offset)
        pages.append(names(page["data"]))
    assert pages == [whole[0:2], whole[2:4], whole[4:6]]
    body = {"sort": [{"field": "city"}], "limit": 4, "offset": 3}
    assert names((await search(client, ws, **body))["data"]) == whole[3:]
    beyond = await listing(client, ws, offset=6)
    assert (beyond["data"], beyond["next_cursor"]) == ([], None)

    first = await listing(client, ws, limit=2)
    answer = await client.get(
        CONTACTS, params={"cursor": first["next_cursor"], "offset": 2}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["offset"]
    answer = await client.get(CONTACTS, params={"offset": -1}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")


async def test_limit_bounds(client: httpx.AsyncClient, ws: Workspace) -> None:
    await _cities(client, ws)
    page = await listing(client, ws, limit=5)
    assert len(page["data"]) == 5
    assert page["next_cursor"] is not None
    page = await listing(client, ws, limit=6)
    assert (len(page["data"]), page["next_cursor"]) == (6, None)
    for limit in (0, 501):
        assert_error(
            await client.get(CONTACTS, params={"limit": limit}, headers=ws.auth),
            422,
            "validation_failed",
        )
        assert_error(
            await client.post(f"{CONTACTS}/search", json={"limit": limit}, headers=ws.auth),
            422,
            "validation_failed",
        )


def _forged(signature: str, values: list[Any]) -> str:
    raw = orjson.dumps({"s": signature, "v": values})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "bm90IGpzb24",  # base64 of "not json"
        _forged("city,id", ["Oslo", 1]),  # made for another sort
        _forged("-id", []),  # too few values
        _forged("-id", ["x", "y"]),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
    ],
)
async def test_bad_cursor_is_422(client: httpx.AsyncClient, ws: Workspace, cursor: str) -> None:
    await create(client, ws, first_name="Ada")
    answer = await client.get(CONTACTS, params={"cursor": cursor}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["cursor"]
    answer = await client.post(f"{CONTACTS}/search", json={"cursor": cursor}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["cursor"]


async def test_cursor_of_one_sort_is_refused_by_another(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await _cities(client, ws)
    page = await listing(client, ws, sort="city", limit=2)
    answer = await client.get(
        CONTACTS, params={"sort": "-city", "cursor": page["next_cursor"]}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["cursor"]


# --- search, count, totals ----------------------------------------------------------------


async def test_q_searches_names_emails_and_phones(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = await create(
        client,
        ws,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@analytical.example",
        phone="+1 415 555 0123",
    )
    grace = await create(
        client, ws, first_name="Grace", last_name="Hopper", email="grace@navy.example"
    )
    nameless = await create(client, ws, email="Someone@Elsewhere.example", description="lovelace")
    cases = {
        "LOVE": [ada],
        "ada lovelace": [ada],
        "ANALYTICAL.EXAMPLE": [ada],
        "4155550123": [ada],
        "+1415555": [ada],
        "hopper": [grace],
        "someone@elsewhere": [nameless],
        "example": [nameless, grace, ada],
        "zzz": [],
        "  ": [nameless, grace, ada],
    }
    for q, wanted in cases.items():
        assert ids(await listing(client, ws, q=q)) == [r["id"] for r in wanted], q
        assert ids(await search(client, ws, q=q)) == [r["id"] for r in wanted], q
        assert await count(client, ws, q=q) == len(wanted), q
    both = await search(client, ws, q="example", filter={"field": "last_name", "op": "not_empty"})
    assert ids(both) == [grace["id"], ada["id"]]
    answer = await client.get(CONTACTS, params={"q": "x" * 201}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["q"]


async def test_count_and_total(client: httpx.AsyncClient, ws: Workspace) -> None:
    for i, status in enumerate(["New", "New", "Customer", None, "Qualified", "New"]):
        values = {"first_name": f"P{i}", **({"status": status} if status else {})}
        await create(client, ws, **values)
    new = {"field": "status", "op": "eq", "value": "new"}
    assert await count(client, ws) == 6
    assert await count(client, ws, filter=new) == 3
    assert await count(client, ws, filter={"field": "status", "op": "neq", "value": "New"}) == 3
    assert await count(client, ws, filter={"field": "status", "op": "empty"}) == 1
    assert await count(client, ws, filter=new, q="p5") == 1

    page = await search(client, ws, filter=new, limit=2, include_total=True)
    assert (len(page["data"]), page["total"]) == (2, 3)
    assert "total" not in await search(client, ws, filter=new, limit=2)
    page = await listing(client, ws, limit=1, include_total="true")
    assert (len(page["data"]), page["total"]) == (1, 6)
    assert "total" not in await listing(client, ws)
    page = await search(client, ws, filter=new, limit=2, include_total=True, offset=2)
    assert (len(page["data"]), page["total"]) == (1, 3)
    first = await search(client, ws, filter=new, limit=2, include_total=True)
    page = await search(
        client, ws, filter=new, limit=2, include_total=True, cursor=first["next_cursor"]
    )
    # The total counts every match, not what is left after the cursor.
    assert (len(page["data"]), page["total"]) == (1, 3)


async def test_filters_on_system_attributes(client: httpx.AsyncClient, ws: Workspace) -> None:
    sam_key = await ws.add_key(role="admin", email="sam@example.com")
    sam = await my_user_id(client, {"Authorization": f"Bearer {sam_key}"})
    first = await create(client, ws, first_name="Mine")
    answer = await client.post(
        CONTACTS,
        json={"fields": {"first_name": "Sams"}, "owner_id": sam},
        headers=ws.auth,
    )
    sams = answer.json()
    by_owner = await search(client, ws, filter={"field": "owner_id", "op": "eq", "value": sam})
    assert ids(by_owner) == [sams["id"]]
    by_email = {"field": "owner_id", "op": "eq", "value": "sam@example.com"}
    assert ids(await search(client, ws, filter=by_email)) == [sams["id"]]
    both = {first["id"], sams["id"]}
    # A record's own timestamps, given back, bound the records exactly (to the microsecond).
    cases = [
        ("gte", first["created_at"], both),
        ("lt", first["created_at"], set()),
        ("lte", sams["created_at"], both),
        ("gt", sams["created_at"], set()),
        ("eq", sams["created_at"], {sams["id"]}),
        ("gte", sams["updated_at"], {sams["id"]}),
    ]
    for op, stamp, wanted in cases:
        condition = {"field": "created_at", "op": op, "value": stamp}
        assert set(ids(await search(client, ws, filter=condition))) == wanted, (op, stamp)
    assert (
        await count(
            client, ws, filter={"field": "updated_at", "op": "gt", "value": sams["updated_at"]}
        )
        == 0
    )
    bad = await client.post(
        f"{CONTACTS}/search",
        json={"filter": {"field": "created_at", "op": "gt", "value": "last week"}},
        headers=ws.auth,
    )
    assert_error(bad, 422, "validation_failed")
    assert detail_fields(bad) == ["filter.value"]


async def test_records_show_their_number_in_the_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    path = "/api/v1/objects/contact/records"
    await client.post(path, json={"fields": {"first_name": "Theirs"}}, headers=other_ws.auth)
    numbers = []
    for name in ("A", "B"):
        made = await client.post(path, json={"fields": {"first_name": name}}, headers=ws.auth)
        numbers.append(made.json()["number"])
    assert numbers == [1, 2]
    found = await client.post(
        f"{path}/search",
        json={
            "filter": {"field": "number", "op": "gte", "value": 2},
            "sort": [{"field": "number"}],
        },
        headers=ws.auth,
    )
    assert [r["fields"]["first_name"] for r in found.json()["data"]] == ["B"]


async def test_totals_count_what_the_caller_may_see(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    """The total of a list counts the live records the caller may see, whether the list is
    filtered or not, and nothing of other workspaces."""
    made = [await create(client, ws, first_name=n, status="New") for n in ("A", "B", "C", "D")]
    await create(client, other_ws, first_name="E", status="New")
    await create(client, ws, first_name="F", status="Customer")
    archived = await client.post(f"{CONTACTS}/{made[2]['id']}/archive", headers=ws.auth)
    assert archived.status_code == 200
    assert (await client.delete(f"{CONTACTS}/{made[3]['id']}", headers=ws.auth)).status_code == 204
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.test"))
    mine = await client.post(
        CONTACTS, json={"fields": {"first_name": "Mine", "status": "New"}}, headers=agent
    )
    assert mine.status_code == 201
    new = {"field": "status", "op": "eq", "value": "new"}

    async def agents(path: str, **body: Any) -> Any:
        answer = await client.post(f"{CONTACTS}/{path}", json=body, headers=agent)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert (await listing(client, ws, limit=1, include_total="true"))["total"] == 4
    assert (await listing(client, ws, limit=1, include_total="true", q="mine"))["total"] == 1
    assert (await search(client, ws, filter=new, limit=1, include_total=True))["total"] == 3
    assert (await search(client, ws, archived="include", include_total=True))["total"] == 5
    assert await count(client, ws) == 4
    assert await count(client, ws, filter=new) == 3
    plain = await client.get(CONTACTS, params={"include_total": "true"}, headers=agent)
    assert plain.json()["total"] == 1
    assert (await agents("search", filter=new, include_total=True))["total"] == 1
    assert (await agents("count"))["count"] == 1
