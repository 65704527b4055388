"""CSV imports: uploading a file, the worker turning its rows into records, and following
an import's progress and refused rows."""

from __future__ import annotations

import codecs
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.service import create_role
from crm.core.clock import utcnow
from crm.core.imports import process
from crm.core.imports.storage import CHUNK_BYTES
from crm.db.engine import transaction
from crm.db.schema import import_chunks, imports
from crm.worker.loop import drain
from tests.api.imports_support import client_with_import_limit
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
UPLOAD = f"{API}/objects/contact/imports"
#: The content type of the hand-made multipart bodies below.
MULTIPART_B0UNDARY = "multipart/form-data; boundary=b0undary"
CONTACTS = f"{API}/objects/contact/records"

IMPORT_KEYS = {
    "id",
    "object",
    "status",
    "filename",
    "size_bytes",
    "encoding",
    "phone_channel",
    "total_rows",
    "processed_rows",
    "created",
    "updated",
    "skipped",
    "failed",
    "succeeded",
    "errors_kept",
    "failure",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
}


# --- helpers ------------------------------------------------------------------------------


def as_bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    csv: str | bytes,
    *,
    obj: str = "contact",
    filename: str = "people.csv",
    form: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a CSV as the ``file`` field of a multipart form."""
    return await client.post(
        f"{API}/objects/{obj}/imports",
        files={"file": (filename, as_bytes(csv), "text/csv")},
        data=form or {},
        params=params or {},
        headers=headers,
    )


def started(answer: httpx.Response) -> dict[str, Any]:
    """A 202 answer to an upload: the import, whose Location is where to follow it."""
    assert answer.status_code == 202, answer.text
    body = dict(answer.json())
    assert set(body) == IMPORT_KEYS
    assert answer.headers["location"] == f"{API}/imports/{body['id']}"
    assert body["status"] == "pending"
    return body


async def follow(client: httpx.AsyncClient, headers: dict[str, str], import_id: str) -> Any:
    answer = await client.get(f"{API}/imports/{import_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == IMPORT_KEYS
    return answer.json()


async def upload_and_drain(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    headers: dict[str, str],
    csv: str | bytes,
    **options: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload a CSV and let the worker do it: the import as the upload answered it, and as
    it ends."""
    made = started(await upload(client, headers, csv, **options))
    assert await drain(engine) >= 1
    done = dict(await follow(client, headers, made["id"]))
    assert done["status"] in ("completed", "failed")
    return made, done


async def run_import(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    headers: dict[str, str],
    csv: str | bytes,
    **options: Any,
) -> dict[str, Any]:
    """Upload a CSV, let the worker do it, and the import as it ends."""
    _, done = await upload_and_drain(client, engine, headers, csv, **options)
    return done


async def post_body(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: Any,
    content_type: str = "text/csv",
    **options: Any,
) -> httpx.Response:
    """POST ``content`` as the whole body of an upload of contacts, as ``content_type``."""
    return await client.post(
        UPLOAD, content=content, headers={**headers, "Content-Type": content_type}, **options
    )


async def errors_of(
    client: httpx.AsyncClient, headers: dict[str, str], import_id: str
) -> list[tuple[int, str | None, str]]:
    """Every row error of an import, page by page, as (row, column, message)."""
    out: list[tuple[int, str | None, str]] = []
    after = 0
    while True:
        answer = await client.get(
            f"{API}/imports/{import_id}/errors",
            params={"after": after, "limit": 1000},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) == {"data", "next_after"}
        out += [(e["row"], e["column"], e["message"]) for e in page["data"]]
        if page["next_after"] is None:
            return out
        after = page["next_after"]


async def records(
    client: httpx.AsyncClient, headers: dict[str, str], obj: str = "contact"
) -> list[dict[str, Any]]:
    answer = await client.get(
        f"{API}/objects/{obj}/records", params={"limit": 500}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def by_email(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """The workspace's contacts by email."""
    return {r["fields"].get("email"): r for r in await records(client, headers)}


async def identities_of(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str
) -> list[tuple[str, str]]:
    answer = await client.get(f"{CONTACTS}/{record_id}/identities", headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted((i["channel"], i["address"]) for i in answer.json()["data"])


async def tag_names(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: str
) -> list[str]:
    answer = await client.get(f"{CONTACTS}/{record_id}/tags", headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(t["name"] for t in answer.json()["data"])


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], obj: str = "contact", **params: Any
) -> dict[str, Any]:
    answer = await client.get(f"{API}/objects/{obj}/imports", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body = dict(answer.json())
    assert set(body) == {"data", "next_before"}
    return body


async def listed_ids(
    client: httpx.AsyncClient, headers: dict[str, str], obj: str = "contact"
) -> list[str]:
    return [i["id"] for i in (await listed(client, headers, obj, limit=500))["data"]]


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    answer = await client.get(f"{API}/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["user"]["id"])


def counts(done: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "total_rows", "processed_rows", "created", "updated", "skipped", "failed")
    return {k: done[k] for k in keys}


def completed(
    total_rows: int, *, created: int = 0, updated: int = 0, skipped: int = 0, failed: int = 0
) -> dict[str, Any]:
    """The ``counts`` of an import that completed having processed all its ``total_rows``."""
    return {
        "status": "completed",
        "total_rows": total_rows,
        "processed_rows": total_rows,
        "created": created,
        "updated": updated,
        "skipped": skipped,
        "failed": failed,
    }


def invalid(answer: httpx.Response, fields: list[str]) -> dict[str, Any]:
    """A 422 whose details name ``fields``; its error."""
    error = assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields
    return error


@pytest.fixture(autouse=True)
async def _no_import_left_running(ws: Workspace, engine: AsyncEngine) -> AsyncIterator[None]:
    """A test whose import broke the worker must not leave it for another test's drain."""
    yield
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            sa.delete(imports).where(
                imports.c.workspace_id == ws.id, imports.c.status.in_(("pending", "processing"))
            )
        )


@pytest.fixture
async def small_client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server whose imports may be at most 1,000 bytes."""
    async with client_with_import_limit(engine, database_url, 1000) as c:
        yield c


# --- uploading and following --------------------------------------------------------------


async def test_an_upload_is_accepted_and_waits_for_the_worker(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    csv = "Email,First Name\nada@example.com,Ada\n"
    made = started(await upload(client, ws.auth, csv, filename="people.csv"))
    assert made["object"] == "contact"
    assert made["filename"] == "people.csv"
    assert made["size_bytes"] == len(csv)
    assert (made["encoding"], made["phone_channel"]) == ("utf-8", None)
    assert made["total_rows"] is None
    assert (made["processed_rows"], made["created"], made["updated"]) == (0, 0, 0)
    assert (made["skipped"], made["failed"], made["succeeded"], made["errors_kept"]) == (
        0,
        0,
        0,
        0,
    )
    assert made["failure"] is None
    assert made["created_by"] == await me(client, ws.auth)
    assert made["created_at"] <= made["updated_at"]
    assert (made["started_at"], made["finished_at"]) == (None, None)
    uuid.UUID(made["id"])
    # Nothing is written until a worker takes the import.
    assert await follow(client, ws.auth, made["id"]) == made
    assert await records(client, ws.auth) == []


async def test_the_worker_turns_rows_into_records(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = (
        "First Name,Last Name,E-mail,Phone,Company,City\n"
        "Ada,Lovelace,ada@example.com,+48 123 456 789,Analytical,London\n"
        "Grace,Hopper,grace@example.com,,Navy,Arlington\n"
        "Alan,Turing,alan@example.com,+44 20 7946 0000,,Manchester\n"
    )
    made, done = await upload_and_drain(client, engine, ws.auth, csv)
    assert counts(done) == completed(3, created=3)
    assert (done["succeeded"], done["errors_kept"], done["failure"]) == (3, 0, None)
    assert made["created_at"] <= done["started_at"] <= done["finished_at"] == done["updated_at"]
    assert await errors_of(client, ws.auth, made["id"]) == []
    found = await by_email(client, ws.auth)
    assert set(found) == {"ada@example.com", "grace@example.com", "alan@example.com"}
    ada = found["ada@example.com"]["fields"]
    assert (ada["first_name"], ada["last_name"], ada["company"], ada["city"]) == (
        "Ada",
        "Lovelace",
        "Analytical",
        "London",
    )
    assert ada["phone"] == "+48123456789"
    grace = found["grace@example.com"]["fields"]
    assert grace.get("phone") is None
    assert found["alan@example.com"]["fields"].get("company") is None
    owner = await me(client, ws.auth)
    assert {r["owner_id"] for r in found.values()} == {owner}
    assert {r["unmapped"] or None for r in found.values()} == {None}
    # A worker with nothing left to do finds nothing.
    assert await drain(engine) == 0


async def test_columns_match_fields_by_key_or_label_loosely(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "FIRST_NAME,last-name, Postal Code ,EMAIL\nAda,Lovelace,00-950,ada@example.com\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["failed"]) == (1, 0)
    (ada,) = await records(client, ws.auth)
    assert ada["fields"]["first_name"] == "Ada"
    assert ada["fields"]["last_name"] == "Lovelace"
    assert ada["fields"]["zip"] == "00-950"
    assert ada["fields"]["email"] == "ada@example.com"


async def test_any_object_type_can_be_imported(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Name,Industry,Employees\nAcme,Anvils,12\n,Rockets,3\n"
    made, done = await upload_and_drain(client, engine, ws.auth, csv, obj="company")
    assert made["object"] == "company"
    assert (done["created"], done["failed"]) == (1, 1)
    (acme,) = await records(client, ws.auth, "company")
    assert acme["fields"]["name"] == "Acme"
    assert acme["fields"]["industry"] == "Anvils"
    assert acme["fields"]["employees"] == 12
    ((row, column, message),) = await errors_of(client, ws.auth, made["id"])
    assert (row, column) == (3, "Name")
    # The same message as creating such a company by hand gives.
    by_hand = await client.post(
        f"{API}/objects/company/records", json={"fields": {"industry": "x"}}, headers=ws.auth
    )
    error = assert_error(by_hand, 422, "validation_failed")
    assert [d["message"] for d in error["details"] if d["field"] == "name"] == [message]
    # The company import is not among the contact imports.
    assert await listed_ids(client, ws.auth) == []
    assert await listed_ids(client, ws.auth, "company") == [made["id"]]


# --- duplicates ---------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], fields: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(CONTACTS, json={"fields": fields}, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_row_with_an_existing_email_updates_that_record(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    ada = await create(
        client, ws.auth, {"first_name": "Ada", "email": "ada@example.com", "city": "London"}
    )
    csv = "Email,First Name,Company\nADA@example.com,Augusta,Analytical\nbob@example.com,Bob,\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert counts(done) == completed(2, created=1, updated=1)
    assert done["succeeded"] == 2
    found = await by_email(client, ws.auth)
    assert set(found) == {"ada@example.com", "bob@example.com"}
    updated = found["ada@example.com"]
    assert updated["id"] == ada["id"]
    # The file's values win; what the file does not give stays.
    assert updated["fields"]["first_name"] == "Augusta"
    assert updated["fields"]["company"] == "Analytical"
    assert updated["fields"]["city"] == "London"


async def test_a_row_with_an_existing_phone_updates_that_record(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada", "phone": "+48123456789"})
    done = await run_import(client, engine, ws.auth, "Phone,Last Name\n+48 123-456-789,Byron\n")
    assert (done["created"], done["updated"]) == (0, 1)
    (only,) = await records(client, ws.auth)
    assert only["id"] == ada["id"]
    assert (only["fields"]["first_name"], only["fields"]["last_name"]) == ("Ada", "Byron")


async def test_rows_of_one_file_that_match_each_other_make_one_record(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = (
        "Email,Phone,First Name,City\n"
        "ada@example.com,,Ada,\n"
        "ada@example.com,+48 123 456 789,,London\n"
        ",+48123456789,Augusta,\n"
        "bob@example.com,,Bob,\n"
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["updated"], done["failed"], done["succeeded"]) == (2, 2, 0, 4)
    found = await by_email(client, ws.auth)
    assert set(found) == {"ada@example.com", "bob@example.com"}
    ada = found["ada@example.com"]["fields"]
    assert (ada["first_name"], ada["phone"], ada["city"]) == ("Augusta", "+48123456789", "London")


async def test_rows_match_each_other_across_batches(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "BATCH", 2)
    csv = (
        "Email,First Name\n"
        "ada@example.com,Ada\n"
        "bob@example.com,Bob\n"
        "not-an-email,Eve\n"
        "ada@example.com,Augusta\n"
        "cy@example.com,Cy\n"
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert counts(done) == completed(5, created=3, updated=1, failed=1)
    assert [(row, column) for row, column, _ in await errors_of(client, ws.auth, done["id"])] == [
        (4, "Email")
    ]
    found = await by_email(client, ws.auth)
    assert set(found) == {"ada@example.com", "bob@example.com", "cy@example.com"}
    assert found["ada@example.com"]["fields"]["first_name"] == "Augusta"


# --- identities, tags, names and unmapped columns -----------------------------------------


async def test_a_channel_column_gives_an_identity_that_a_later_import_matches(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    first = await run_import(client, engine, ws.auth, "First Name,Telegram\nAda,ada_tg\n")
    assert (first["created"], first["failed"]) == (1, 0)
    (ada,) = await records(client, ws.auth)
    assert await identities_of(client, ws.auth, ada["id"]) == [("telegram", "ada_tg")]
    second = await run_import(
        client, engine, ws.auth, "Telegram,Last Name,First Name\nada_tg,Lovelace,Augusta\n"
    )
    assert (second["created"], second["updated"], second["failed"]) == (0, 1, 0)
    (same,) = await records(client, ws.auth)
    assert same["id"] == ada["id"]
    assert (same["fields"]["first_name"], same["fields"]["last_name"]) == ("Augusta", "Lovelace")
    assert await identities_of(client, ws.auth, ada["id"]) == [("telegram", "ada_tg")]


async def test_phone_channel_makes_each_phone_an_identity(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "First Name,Mobile Phone,Phone\nAda,,+48 123 456 789\nBob,,\n"
    made, done = await upload_and_drain(
        client, engine, ws.auth, csv, params={"phone_channel": "whatsapp"}
    )
    assert made["phone_channel"] == "whatsapp"
    assert (done["created"], done["failed"], done["phone_channel"]) == (2, 0, "whatsapp")
    people = {r["fields"]["first_name"]: r for r in await records(client, ws.auth)}
    assert await identities_of(client, ws.auth, people["Ada"]["id"]) == [
        ("whatsapp", "+48123456789")
    ]
    assert await identities_of(client, ws.auth, people["Bob"]["id"]) == []
    found = await client.get(
        f"{API}/identities/record",
        params={"channel": "whatsapp", "address": "+48123456789"},
        headers=ws.auth,
    )
    assert found.status_code == 200, found.text
    assert found.json()["id"] == people["Ada"]["id"]


async def test_without_phone_channel_a_phone_is_no_identity(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    done = await run_import(client, engine, ws.auth, "First Name,Phone\nAda,+48123456789\n")
    assert done["created"] == 1
    (ada,) = await records(client, ws.auth)
    assert await identities_of(client, ws.auth, ada["id"]) == []


async def test_a_bad_phone_channel_is_refused(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await upload(
        client, ws.auth, "Email\na@example.com\n", params={"phone_channel": "fax"}
    )
    error = invalid(answer, ["phone_channel"])
    assert "whatsapp" in error["details"][0]["message"]
    assert await listed_ids(client, ws.auth) == []


async def test_a_tags_column_tags_records_creating_missing_tags(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = await client.post(f"{API}/tags", json={"name": "VIP"}, headers=ws.auth)
    assert made.status_code == 201, made.text
    csv = 'Email,Tags\nada@example.com,"vip, Lead;Press"\nbob@example.com,Lead\ncy@example.com,\n'
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["failed"]) == (3, 0)
    found = await by_email(client, ws.auth)
    assert await tag_names(client, ws.auth, found["ada@example.com"]["id"]) == [
        "Lead",
        "Press",
        "VIP",
    ]
    assert await tag_names(client, ws.auth, found["bob@example.com"]["id"]) == ["Lead"]
    assert await tag_names(client, ws.auth, found["cy@example.com"]["id"]) == []
    all_tags = await client.get(f"{API}/tags", headers=ws.auth)
    assert sorted(t["name"] for t in all_tags.json()["data"]) == ["Lead", "Press", "VIP"]


async def test_a_key_that_may_not_create_tags_may_only_use_existing_ones(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = await client.post(f"{API}/tags", json={"name": "VIP"}, headers=ws.auth)
    assert made.status_code == 201, made.text
    key = bearer(await ws.add_key(scopes=["contact:create", "contact:list", "contact:read"]))
    csv = "Email,Tags\nada@example.com,VIP\nbob@example.com,VIP;Newcomer\n"
    done = await run_import(client, engine, key, csv)
    assert (done["status"], done["created"], done["failed"]) == ("completed", 1, 1)
    assert await errors_of(client, key, done["id"]) == [
        (3, "Tags", "no tag named 'Newcomer', and this key may not create tags")
    ]
    found = await by_email(client, ws.auth)
    assert set(found) == {"ada@example.com"}
    assert await tag_names(client, ws.auth, found["ada@example.com"]["id"]) == ["VIP"]
    all_tags = await client.get(f"{API}/tags", headers=ws.auth)
    assert [t["name"] for t in all_tags.json()["data"]] == ["VIP"]


async def test_a_name_column_fills_first_and_last_name(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    for i, header in enumerate(("Name", "Full Name", "full_name")):
        csv = (
            f"Email,{header}\n"
            f"ada{i}@example.com,Ada  Lovelace\n"
            f"cher{i}@example.com,Cher\n"
            f"mary{i}@example.com,Mary Ann Smith\n"
        )
        done = await run_import(client, engine, ws.auth, csv)
        assert (done["created"], done["failed"]) == (3, 0), header
    names = {
        email: (r["fields"].get("first_name"), r["fields"].get("last_name"))
        for email, r in (await by_email(client, ws.auth)).items()
    }
    assert names == {
        f"{who}{i}@example.com": name
        for i in range(3)
        for who, name in (
            ("ada", ("Ada", "Lovelace")),
            ("cher", ("Cher", None)),
            ("mary", ("Mary Ann", "Smith")),
        )
    }


async def test_a_name_column_leaves_a_first_name_given_before_it(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "First Name,Name,Email\nAugusta,Ada Lovelace,ada@example.com\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert done["created"] == 1
    (ada,) = await records(client, ws.auth)
    assert (ada["fields"]["first_name"], ada["fields"]["last_name"]) == ("Augusta", "Lovelace")


async def test_columns_matching_no_field_are_kept_unmapped(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,Favourite Colour,Shoe Size\nada@example.com,green,38\nbob@example.com,,\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["failed"]) == (2, 0)
    found = await by_email(client, ws.auth)
    assert found["ada@example.com"]["unmapped"] == {"Favourite Colour": "green", "Shoe Size": "38"}
    assert not found["bob@example.com"]["unmapped"]
    got = await client.get(f"{CONTACTS}/{found['ada@example.com']['id']}", headers=ws.auth)
    assert got.json()["unmapped"] == {"Favourite Colour": "green", "Shoe Size": "38"}


async def test_a_row_with_only_unmapped_values_fails(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,Favourite Colour\nada@example.com,green\n,blue\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["failed"]) == (1, 1)
    ((row, column, message),) = await errors_of(client, ws.auth, done["id"])
    assert (row, column) == (3, None)
    assert "no key matches a field" in message


# --- refused rows -------------------------------------------------------------------------


async def test_a_ragged_row_fails_without_a_column(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,First Name\nada@example.com,Ada,extra\nbob@example.com\ncy@example.com,Cy\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert counts(done) == completed(3, created=1, failed=2)
    assert (done["succeeded"], done["errors_kept"]) == (1, 2)
    assert await errors_of(client, ws.auth, done["id"]) == [
        (2, None, "The row has 3 cells where the header has 2"),
        (3, None, "The row has 1 cells where the header has 2"),
    ]
    assert set(await by_email(client, ws.auth)) == {"cy@example.com"}


async def test_an_invalid_value_fails_its_row_on_its_column(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = (
        "First Name,E-mail,Phone,Website\n"
        "Ada,not-an-email,,\n"
        "Bob,bob@example.com,12,\n"
        "Cy,cy@example.com,,https://cy.example.com\n"
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["failed"], done["errors_kept"]) == (1, 2, 2)
    refused = await errors_of(client, ws.auth, done["id"])
    assert [(row, column) for row, column, _ in refused] == [(2, "E-mail"), (3, "Phone")]
    # The messages are those the records API gives for the same values.
    by_hand = await client.post(
        CONTACTS, json={"fields": {"email": "not-an-email", "phone": "12"}}, headers=ws.auth
    )
    error = assert_error(by_hand, 422, "validation_failed")
    messages = {d["field"]: d["message"] for d in error["details"]}
    assert [message for _, _, message in refused] == [messages["email"], messages["phone"]]
    assert set(await by_email(client, ws.auth)) == {"cy@example.com"}


async def test_every_problem_of_a_row_is_told(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,Phone,Website\nnot-an-email,12,not a url\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["failed"], done["errors_kept"]) == (1, 3)
    refused = await errors_of(client, ws.auth, done["id"])
    assert sorted(column or "" for _, column, _ in refused) == ["Email", "Phone", "Website"]
    assert {row for row, _, _ in refused} == {2}


async def test_bytes_that_are_not_utf8_fail_only_their_row(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = (
        b"Email,First Name,City\n"
        b"ada@example.com,Ada,London\n"
        b"bob@example.com,B\xf6b,Berlin\n"
        b"cy@example.com,Cy,Krak\xc3\xb3w\n"
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert counts(done) == completed(3, created=2, failed=1)
    assert await errors_of(client, ws.auth, done["id"]) == [
        (3, "First Name", "is not valid utf-8 text")
    ]
    found = await by_email(client, ws.auth)
    assert set(found) == {"ada@example.com", "cy@example.com"}
    assert found["cy@example.com"]["fields"]["city"] == "Kraków"


async def test_the_worst_rows_do_not_stop_the_file(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    """A bare carriage return inside a cell, a NUL and a cell beyond the header's width."""
    csv = (
        b"Email,First Name\n"
        b"ada@example.com,A\rda\n"
        b"bob@example.com,B\x00b\n"
        b"cy@example.com,Cy,\xff\n"
        b"dee@example.com,Dee\n"
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["status"], done["created"], done["failed"]) == ("completed", 1, 3)
    refused = await errors_of(client, ws.auth, done["id"])
    assert [(row, column) for row, column, _ in refused] == [
        (2, None),
        (3, "First Name"),
        (4, None),
    ]
    assert refused[0][2].startswith("The row is not valid CSV")
    assert "NUL" in refused[1][2]
    assert refused[2][2] == "The row is not valid utf-8 text"
    assert set(await by_email(client, ws.auth)) == {"dee@example.com"}


# --- how the file is read -----------------------------------------------------------------


async def test_a_quoted_cell_may_hold_line_breaks(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = (
        "Email,Description,First Name\r\n"
        'ada@example.com,"First line\r\nsecond, with comma\r\n""quoted"" third",Ada\r\n'
        "not-an-email,,Bob\r\n"
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["total_rows"], done["created"], done["failed"]) == (2, 1, 1)
    (ada,) = await records(client, ws.auth)
    assert ada["fields"]["description"] == 'First line\r\nsecond, with comma\r\n"quoted" third'
    assert ada["fields"]["first_name"] == "Ada"
    # A spreadsheet shows the multi-line cell in one row: the next one is row 3.
    assert [(row, column) for row, column, _ in await errors_of(client, ws.auth, done["id"])] == [
        (3, "Email")
    ]


async def test_blank_lines_are_skipped_but_keep_their_row_numbers(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,First Name\n\nada@example.com,Ada\n , \n\nnot-an-email,Bob\n,\n\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["status"], done["total_rows"]) == ("completed", 2)
    assert (done["created"], done["failed"], done["succeeded"]) == (1, 1, 1)
    assert [(row, column) for row, column, _ in await errors_of(client, ws.auth, done["id"])] == [
        (6, "Email")
    ]
    assert set(await by_email(client, ws.auth)) == {"ada@example.com"}


async def test_a_finished_import_has_processed_all_its_rows_blank_lines_or_not(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email\n\nada@example.com\n\n\nbob@example.com\n,\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["total_rows"], done["created"]) == (2, 2)
    assert done["processed_rows"] == done["total_rows"]


async def test_a_byte_order_mark_picks_the_encoding(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    text = "Email,First Name\r\n{0}zoe@example.com,Zoë\r\n{0}lech@example.com,Łukasz 😀\r\n"
    for name, bom in (
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ):
        csv = bom + text.format(name).encode(name)
        # Even where the import names another encoding: the mark tells.
        done = await run_import(client, engine, ws.auth, csv, form={"encoding": "latin-1"})
        assert (done["status"], done["created"], done["failed"]) == ("completed", 2, 0), name
        assert done["size_bytes"] == len(csv)
    names = {e: r["fields"]["first_name"] for e, r in (await by_email(client, ws.auth)).items()}
    # The header's first cell reads "Email", not "\ufeffEmail": it matched.
    assert names == {
        f"{name}{who}@example.com": first
        for name in ("utf-8", "utf-16-le", "utf-16-be")
        for who, first in (("zoe", "Zoë"), ("lech", "Łukasz 😀"))
    }


async def test_latin1_is_read_when_the_form_or_the_query_names_it(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,First Name,City\nzoe@example.com,Zoë,Besançon\n".encode("latin-1")
    made, done = await upload_and_drain(client, engine, ws.auth, csv, form={"encoding": "latin-1"})
    assert made["encoding"] == "latin-1"
    assert (done["created"], done["failed"], done["encoding"]) == (1, 0, "latin-1")
    (zoe,) = await records(client, ws.auth)
    assert (zoe["fields"]["first_name"], zoe["fields"]["city"]) == ("Zoë", "Besançon")
    raw = started(
        await post_body(
            client,
            ws.auth,
            "Email,First Name\nbo@example.com,Bø\n".encode("latin-1"),
            params={"encoding": "latin-1"},
        )
    )
    assert raw["encoding"] == "latin-1"
    # A form's field wins over the query.
    both = started(
        await upload(
            client,
            ws.auth,
            "Email,First Name\nlu@example.com,Lü\n".encode("latin-1"),
            form={"encoding": "latin-1"},
            params={"encoding": "utf-8"},
        )
    )
    assert both["encoding"] == "latin-1"
    await drain(engine)
    names = {e: r["fields"]["first_name"] for e, r in (await by_email(client, ws.auth)).items()}
    assert names == {"zoe@example.com": "Zoë", "bo@example.com": "Bø", "lu@example.com": "Lü"}


async def test_latin1_read_as_utf8_fails_the_rows_it_garbles(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email,First Name\nzoe@example.com,Zoë\nbob@example.com,Bob\n".encode("latin-1")
    done = await run_import(client, engine, ws.auth, csv)
    assert await errors_of(client, ws.auth, done["id"]) == [
        (2, "First Name", "is not valid utf-8 text")
    ]
    assert set(await by_email(client, ws.auth)) == {"bob@example.com"}


async def test_the_csv_may_be_the_whole_body(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    media = (
        "text/csv",
        "Text/CSV; charset=utf-8",
        "application/csv",
        "text/plain",
        "application/octet-stream",
    )
    for i, content_type in enumerate(media):
        csv = f"Email,First Name\nada{i}@example.com,Ada\n".encode()
        made = started(await post_body(client, ws.auth, csv, content_type))
        assert (made["filename"], made["size_bytes"], made["encoding"]) == (None, len(csv), "utf-8")
    await drain(engine)
    done = (await listed(client, ws.auth))["data"]
    assert [(i["status"], i["created"]) for i in done] == [("completed", 1)] * len(media)
    assert sorted(await by_email(client, ws.auth)) == [
        f"ada{i}@example.com" for i in range(len(media))
    ]


async def test_a_streamed_body_of_unknown_length_is_taken(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"Email,First"
        yield b" Name\nada@exa"
        yield b"mple.com,Ada\n"

    made = started(await post_body(client, ws.auth, pieces()))
    assert made["size_bytes"] == len(b"Email,First Name\nada@example.com,Ada\n")
    await drain(engine)
    (ada,) = await records(client, ws.auth)
    assert ada["fields"]["first_name"] == "Ada"


# --- files that cannot be imported --------------------------------------------------------


async def test_a_file_that_is_no_csv_of_contacts_fails_as_a_whole(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    pdf = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"stream\n\x00\x01\x02\xff\xfe\x89PNG\nendstream\n%%EOF\n"
    )
    files: list[tuple[bytes, str]] = [
        (b"", "The file is empty"),
        (b"\nEmail\nada@example.com\n", "The first row, the header, is empty"),
        (b" , \nada@example.com,Ada\n", "The first row, the header, is empty"),
        (
            b"Colour,Size\ngreen,38\n",
            "No column of the header matches a field of contacts: Colour, Size",
        ),
        (
            b"a,b,c,d,e,f,g,h,i,j,k,l\n",
            "No column of the header matches a field of contacts: a, b, c, d, e, f, g, h, i, j",
        ),
        (b"Email,Pr\xe9nom\nada@example.com,Ada\n", "The header row is not valid utf-8 text"),
        # What the failure shows of the header is text any database keeps, and short.
        (
            b"Col\x00our,Size\n",
            "No column of the header matches a field of contacts: Col\ufffdour, Size",
        ),
        (
            b"x" * 50 + b",Size\n",
            "No column of the header matches a field of contacts: " + "x" * 40 + ", Size",
        ),
    ]
    for csv, failure in files:
        done = await run_import(client, engine, ws.auth, csv)
        assert (done["status"], done["failure"]) == ("failed", failure), csv
        assert done["finished_at"] is not None
        assert (done["created"], done["updated"], done["failed"]) == (0, 0, 0)
        assert await errors_of(client, ws.auth, done["id"]) == []
    done = await run_import(client, engine, ws.auth, pdf, filename="invoice.pdf")
    assert done["status"] == "failed"
    assert done["failure"].startswith("No column of the header matches a field of contacts: %PDF")
    assert await records(client, ws.auth) == []


async def test_a_header_alone_imports_nothing(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    done = await run_import(client, engine, ws.auth, "Email,First Name\n")
    assert counts(done) == completed(0)


# --- row errors ---------------------------------------------------------------------------


async def test_row_errors_come_in_pages_in_file_order(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = "Email\n" + "".join(
        f"person{i}@example.com\n" if i % 2 else f"bad {i}\n" for i in range(10)
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["created"], done["failed"], done["errors_kept"]) == (5, 5, 5)
    url = f"{API}/imports/{done['id']}/errors"
    seen: list[int] = []
    after = 0
    pages = 0
    while True:
        answer = await client.get(url, params={"after": after, "limit": 2}, headers=ws.auth)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        assert len(page["data"]) <= 2
        assert {e["column"] for e in page["data"]} <= {"Email"}
        seen += [e["row"] for e in page["data"]]
        if page["next_after"] is None:
            break
        assert isinstance(page["next_after"], int)
        after = page["next_after"]
    assert seen == [2, 4, 6, 8, 10]
    assert pages == 3
    everything = await client.get(url, headers=ws.auth)
    assert [e["row"] for e in everything.json()["data"]] == seen
    assert everything.json()["next_after"] is None


async def test_row_error_paging_parameters_are_checked(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = await run_import(client, engine, ws.auth, "Email\nbad\n")
    url = f"{API}/imports/{made['id']}/errors"
    for params in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}):
        invalid(await client.get(url, params=params, headers=ws.auth), list(params))


async def test_at_most_ten_thousand_errors_are_kept_and_counting_goes_on(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    rows = 10_005
    csv = "Email\n" + "a,b\n" * (rows - 1) + "ada@example.com\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert counts(done) == completed(rows, created=1, failed=rows - 1)
    assert (done["errors_kept"], done["succeeded"]) == (10_000, 1)
    kept = await errors_of(client, ws.auth, done["id"])
    assert len(kept) == 10_000
    assert [row for row, _, _ in kept] == list(range(2, 10_002))
    assert set(await by_email(client, ws.auth)) == {"ada@example.com"}


# --- listing imports ----------------------------------------------------------------------


async def test_imports_are_listed_newest_first_in_pages(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    assert await listed(client, ws.auth) == {"data": [], "next_before": None}
    made = [
        started(await upload(client, ws.auth, f"Email\np{i}@example.com\n", filename=f"{i}.csv"))
        for i in range(3)
    ]
    ids = [m["id"] for m in reversed(made)]
    first = await listed(client, ws.auth, limit=2)
    assert [i["id"] for i in first["data"]] == ids[:2]
    assert first["next_before"] == ids[1]
    assert first["data"][0] == made[2]
    second = await listed(client, ws.auth, limit=2, before=first["next_before"])
    assert [i["id"] for i in second["data"]] == ids[2:]
    assert second["next_before"] is None
    whole = await listed(client, ws.auth)
    assert [i["id"] for i in whole["data"]] == ids
    assert whole["next_before"] is None
    # The list shows how far each import is.
    await drain(engine)
    now = (await listed(client, ws.auth))["data"]
    assert [(i["status"], i["created"], i["filename"]) for i in now] == [
        ("completed", 1, "2.csv"),
        ("completed", 1, "1.csv"),
        ("completed", 1, "0.csv"),
    ]


async def test_listing_parameters_are_checked(client: httpx.AsyncClient, ws: Workspace) -> None:
    for params in ({"limit": 0}, {"limit": 501}):
        invalid(await client.get(UPLOAD, params=params, headers=ws.auth), ["limit"])
    for before in ("nope", str(uuid.uuid4())):
        answer = await client.get(UPLOAD, params={"before": before}, headers=ws.auth)
        assert_error(answer, 404, "not_found")


# --- who may do what ----------------------------------------------------------------------


async def test_a_key_is_required(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = await run_import(client, engine, ws.auth, "Email\nbad\n")
    for headers in ({}, bearer("ak_not_a_key"), {"Authorization": "Basic eDp5"}):
        answer = await upload(client, headers, "Email\nada@example.com\n")
        assert_error(answer, 401, "unauthenticated")
        for url in (
            UPLOAD,
            f"{API}/imports/{made['id']}",
            f"{API}/imports/{made['id']}/errors",
        ):
            assert_error(await client.get(url, headers=headers), 401, "unauthenticated")
    assert await listed_ids(client, ws.auth) == [made["id"]]


async def test_a_key_without_the_create_scope_may_not_import(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    key = bearer(await ws.add_key(scopes=["contact:list", "contact:read"]))
    answer = await upload(client, key, "Email\nada@example.com\n")
    error = assert_error(answer, 403, "permission_denied")
    assert "contact:create" in error["message"]
    # Another object's scope is not enough either.
    other = bearer(await ws.add_key(scopes=["company:create"]))
    assert_error(await upload(client, other, "Email\na@example.com\n"), 403, "permission_denied")
    assert await listed_ids(client, ws.auth) == []


async def test_following_an_import_needs_the_list_scope(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    only_create = bearer(await ws.add_key(scopes=["contact:create"]))
    made = started(await upload(client, only_create, "Email\nada@example.com\n"))
    await drain(engine)
    for url in (UPLOAD, f"{API}/imports/{made['id']}", f"{API}/imports/{made['id']}/errors"):
        assert_error(await client.get(url, headers=only_create), 403, "permission_denied")
    # The import did its work with the key's create scope.
    assert set(await by_email(client, ws.auth)) == {"ada@example.com"}
    reader = bearer(await ws.add_key(scopes=["contact:read"]))
    for url in (UPLOAD, f"{API}/imports/{made['id']}", f"{API}/imports/{made['id']}/errors"):
        error = assert_error(await client.get(url, headers=reader), 403, "permission_denied")
        assert "contact:list" in error["message"]
    lister = bearer(await ws.add_key(scopes=["contact:list"]))
    assert (await follow(client, lister, made["id"]))["created"] == 1
    assert await listed_ids(client, lister) == [made["id"]]
    assert await errors_of(client, lister, made["id"]) == []


async def test_a_role_that_may_not_create_may_not_import(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    async with transaction(engine, write=True) as conn:
        await create_role(conn, ws.id, key="auditor", name="Auditor", permissions=["*:*:viewother"])
    key = bearer(await ws.add_key(role="auditor", email="auditor@acme.io"))
    answer = await upload(client, key, "Email\nada@example.com\n")
    error = assert_error(answer, 403, "permission_denied")
    assert "may not create" in error["message"]
    assert await listed_ids(client, ws.auth) == []
    # The auditor still sees every import.
    made = started(await upload(client, ws.auth, "Email\nada@example.com\n"))
    assert await listed_ids(client, key) == [made["id"]]


async def test_an_unknown_object_is_not_found(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await upload(client, ws.auth, "Email\nada@example.com\n", obj="spaceship")
    assert_error(answer, 404, "not_found")
    assert_error(
        await client.get(f"{API}/objects/spaceship/imports", headers=ws.auth), 404, "not_found"
    )
    assert await listed_ids(client, ws.auth) == []
    # An object type is found by its label as well as its key.
    made = started(await upload(client, ws.auth, "Email\nada@example.com\n", obj="Contacts"))
    assert made["object"] == "contact"


async def test_unknown_or_malformed_import_ids_are_not_found(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for ref in (str(uuid.uuid4()), "nope", "123"):
        for url in (f"{API}/imports/{ref}", f"{API}/imports/{ref}/errors"):
            assert_error(await client.get(url, headers=ws.auth), 404, "not_found")


async def test_another_workspaces_import_is_not_found(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, engine: AsyncEngine
) -> None:
    theirs = await run_import(client, engine, other_ws.auth, "Email\nbad\n")
    for url in (f"{API}/imports/{theirs['id']}", f"{API}/imports/{theirs['id']}/errors"):
        assert_error(await client.get(url, headers=ws.auth), 404, "not_found")
    assert await listed_ids(client, ws.auth) == []
    assert_error(
        await client.get(UPLOAD, params={"before": theirs["id"]}, headers=ws.auth),
        404,
        "not_found",
    )
    assert await listed_ids(client, other_ws.auth) == [theirs["id"]]


async def test_an_agent_follows_only_the_imports_it_started(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    other_agent = bearer(await ws.add_key(role="agent", email="other@acme.io"))
    admin = bearer(await ws.add_key(role="admin", email="admin@acme.io"))
    owners = started(await upload(client, ws.auth, "Email\nowner@example.com\n"))
    agents = started(await upload(client, agent, "Email\nagent@example.com\nbad\n"))
    assert agents["created_by"] == await me(client, agent)
    await drain(engine)
    assert await listed_ids(client, agent) == [agents["id"]]
    assert await listed_ids(client, other_agent) == []
    assert await listed_ids(client, ws.auth) == [agents["id"], owners["id"]]
    assert await listed_ids(client, admin) == [agents["id"], owners["id"]]
    for url in (f"{API}/imports/{owners['id']}", f"{API}/imports/{owners['id']}/errors"):
        assert_error(await client.get(url, headers=agent), 404, "not_found")
    for url in (f"{API}/imports/{agents['id']}", f"{API}/imports/{agents['id']}/errors"):
        assert_error(await client.get(url, headers=other_agent), 404, "not_found")
    assert (await follow(client, agent, agents["id"]))["created"] == 1
    assert (await follow(client, ws.auth, agents["id"]))["failed"] == 1
    assert [row for row, _, _ in await errors_of(client, ws.auth, agents["id"])] == [3]
    assert_error(
        await client.get(UPLOAD, params={"before": owners["id"]}, headers=agent), 404, "not_found"
    )
    # The agent's records are the agent's.
    mine = {r["fields"]["email"]: r["owner_id"] for r in await records(client, agent)}
    assert mine == {"agent@example.com": await me(client, agent)}


async def test_an_agent_may_not_update_a_record_it_cannot_change(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    await create(client, ws.auth, {"email": "ada@example.com", "first_name": "Ada"})
    agent = bearer(await ws.add_key(role="agent", email="agent@acme.io"))
    done = await run_import(client, engine, agent, "E-mail,First Name\nada@example.com,Eve\n")
    assert (done["created"], done["updated"], done["failed"]) == (0, 0, 1)
    ((row, column, message),) = await errors_of(client, agent, done["id"])
    assert (row, column) == (2, "E-mail")
    assert "may not change" in message
    (ada,) = await records(client, ws.auth)
    assert ada["fields"]["first_name"] == "Ada"


# --- uploads that are refused -------------------------------------------------------------


async def test_other_content_types_are_unsupported(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for headers, body in (
        ({"Content-Type": "application/json"}, b'{"file": "Email\\na@example.com"}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"file=Email"),
        ({}, b"Email\na@example.com\n"),
    ):
        answer = await client.post(UPLOAD, content=body, headers={**ws.auth, **headers})
        assert_error(answer, 415, "unsupported_media_type")
    assert await listed_ids(client, ws.auth) == []


async def test_a_malformed_multipart_body_is_refused(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    no_boundary = await post_body(
        client, ws.auth, b"--x\r\n\r\nEmail\r\n--x--\r\n", "multipart/form-data"
    )
    assert_error(no_boundary, 400, "malformed_request")
    garbled = await post_body(
        client,
        ws.auth,
        b"this is not a multipart body at all\r\n",
        "multipart/form-data; boundary=xyz",
    )
    assert_error(garbled, 400, "malformed_request")
    assert await listed_ids(client, ws.auth) == []


async def test_a_form_without_a_file_is_refused(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        UPLOAD,
        files={"upload": ("people.csv", b"Email\na@example.com\n", "text/csv")},
        data={"encoding": "utf-8"},
        headers=ws.auth,
    )
    invalid(answer, ["file"])
    assert await listed_ids(client, ws.auth) == []


async def test_a_plain_form_field_named_file_is_taken_as_the_file(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    made = started(
        await client.post(
            UPLOAD,
            files={"file": (None, b"Email\nada@example.com\n")},
            headers=ws.auth,
        )
    )
    assert made["filename"] is None
    await drain(engine)
    assert set(await by_email(client, ws.auth)) == {"ada@example.com"}


async def test_an_unknown_encoding_is_refused(client: httpx.AsyncClient, ws: Workspace) -> None:
    wrong = {"encoding": "klingon-8"}
    for form, params in ((wrong, None), (None, wrong)):
        answer = await upload(client, ws.auth, "Email\na@example.com\n", form=form, params=params)
        invalid(answer, ["encoding"])
    assert await listed_ids(client, ws.auth) == []


async def test_an_encoding_that_does_not_decode_text_is_refused(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    answer = await upload(client, ws.auth, "Email\na@example.com\n", form={"encoding": "base64"})
    invalid(answer, ["encoding"])


async def test_a_file_at_the_limit_is_taken(
    small_client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = ("Email\n" + "a@example.com\n" * 100)[:1000].encode()
    assert len(csv) == 1000
    made = started(await upload(small_client, ws.auth, csv))
    assert made["size_bytes"] == 1000
    raw = started(await post_body(small_client, ws.auth, csv))
    assert raw["size_bytes"] == 1000


async def test_a_file_over_the_limit_is_refused(
    small_client: httpx.AsyncClient, ws: Workspace
) -> None:
    csv = b"Email\n" + b"x" * 995
    assert len(csv) == 1001
    answer = await upload(small_client, ws.auth, csv)
    error = assert_error(answer, 413, "payload_too_large")
    assert "1000" in error["message"]
    assert_error(await post_body(small_client, ws.auth, csv), 413, "payload_too_large")
    # Sent as a stream of unknown length: counted as it comes, refused once past the limit.
    sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"Email\n"
        for _ in range(5000):
            sent += 1
            yield b"a@example.com\n"

    assert_error(await post_body(small_client, ws.auth, stream()), 413, "payload_too_large")
    assert sent < 5000

    async def form() -> AsyncIterator[bytes]:
        yield (
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\nEmail\n"
        )
        for _ in range(100):
            yield b"a@example.com\n"
        yield b"\r\n--b0undary--\r\n"

    answer = await post_body(small_client, ws.auth, form(), MULTIPART_B0UNDARY)
    assert_error(answer, 413, "payload_too_large")
    # A declared length far past the limit is refused before the body is read.
    read = 0

    async def declared() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(80):
            read += 1
            yield b"x" * 1024

    answer = await small_client.post(
        UPLOAD,
        content=declared(),
        headers={**ws.auth, "Content-Type": "text/csv", "Content-Length": str(80 * 1024)},
    )
    assert_error(answer, 413, "payload_too_large")
    assert read == 0
    # None of them left an import behind.
    assert await listed_ids(small_client, ws.auth) == []


async def test_a_refused_upload_leaves_none_of_its_file_behind(
    engine: AsyncEngine, database_url: str, ws: Workspace
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"Email\n"
        for _ in range(2 * CHUNK_BYTES // 65536):
            yield b"a@example.com\n".ljust(65536, b"x")

    async with client_with_import_limit(engine, database_url, CHUNK_BYTES + 1000) as client:
        assert_error(await post_body(client, ws.auth, body()), 413, "payload_too_large")
        assert await listed_ids(client, ws.auth) == []
    async with transaction(engine, write=False) as conn:
        orphans = await conn.execute(
            sa.select(sa.func.count())
            .select_from(import_chunks)
            .where(import_chunks.c.import_id.not_in(sa.select(imports.c.id)))
        )
        assert orphans.scalar() == 0


async def test_a_streamed_form_far_over_the_limit_is_refused(
    small_client: httpx.AsyncClient, ws: Workspace
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield (
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\nEmail\na@example.com\r\n"
        )
        for i in range(4):
            yield (
                f'--b0undary\r\nContent-Disposition: form-data; name="padding{i}"\r\n\r\n'.encode()
                + b"x" * 60_000
                + b"\r\n"
            )
        yield b"--b0undary--\r\n"

    answer = await post_body(small_client, ws.auth, body(), MULTIPART_B0UNDARY)
    assert_error(answer, 413, "payload_too_large")
    assert await listed_ids(small_client, ws.auth) == []


# --- the worker's robustness --------------------------------------------------------------


async def test_an_interrupted_import_resumes_after_its_checkpoint(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "BATCH", 2)
    write_batch = process._write_batch
    calls = 0

    async def crashing(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the worker died")
        await write_batch(*args)

    monkeypatch.setattr(process, "_write_batch", crashing)
    csv = "Email\nada@example.com\n\nbob@example.com\ncy@example.com\nbad\ndee@example.com\n"
    made = started(await upload(client, ws.auth, csv))
    with pytest.raises(RuntimeError):
        await drain(engine)
    half = await follow(client, ws.auth, made["id"])
    assert (half["status"], half["total_rows"], half["created"]) == ("processing", 5, 1)
    assert half["processed_rows"] == 1
    # Another worker takes the import over once the lease of the dead one runs out.
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            sa.update(imports)
            .where(imports.c.uuid == uuid.UUID(made["id"]))
            .values(lease_until=half_past())
        )
    assert await drain(engine) == 1
    done = await follow(client, ws.auth, made["id"])
    assert (done["status"], done["total_rows"]) == ("completed", 5)
    assert (done["created"], done["updated"], done["failed"]) == (4, 0, 1)
    assert [row for row, _, _ in await errors_of(client, ws.auth, made["id"])] == [6]
    emails = sorted(r["fields"]["email"] for r in await records(client, ws.auth))
    assert emails == ["ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    # Its file is let go once it is done.
    async with transaction(engine, write=False) as conn:
        left = await conn.execute(
            sa.select(sa.func.count())
            .select_from(import_chunks)
            .join(imports, imports.c.id == import_chunks.c.import_id)
            .where(imports.c.uuid == uuid.UUID(made["id"]))
        )
        assert left.scalar() == 0


def half_past() -> Any:
    """A moment at which a lease taken now has run out."""
    return utcnow() - process.LEASE


@pytest.mark.parametrize(
    ("tail", "failed_row"),
    [
        pytest.param(b"\xd8", 4, id="odd-high"),
        pytest.param(
            b"a",
            4,
            id="odd-ascii",
        ),
    ],
)
async def test_a_truncated_utf16_file_imports_its_whole_rows(
    client: httpx.AsyncClient,
    ws: Workspace,
    engine: AsyncEngine,
    tail: bytes,
    failed_row: int,
) -> None:
    csv = (
        codecs.BOM_UTF16_LE + "Email\nada@example.com\nbob@example.com\n".encode("utf-16-le") + tail
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["status"], done["created"], done["failed"]) == ("completed", 2, 1)
    assert [row for row, _, _ in await errors_of(client, ws.auth, done["id"])] == [failed_row]


async def test_a_utf16_row_with_a_lone_surrogate_fails_alone(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    csv = (
        codecs.BOM_UTF16_LE
        + "Email,First Name\nada@example.com,Ada\nbob@example.com,B".encode("utf-16-le")
        + b"\x00\xdc"
        + "\ncy@example.com,Cy\n".encode("utf-16-le")
    )
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["status"], done["created"], done["failed"]) == ("completed", 2, 1)
    assert [(row, column) for row, column, _ in await errors_of(client, ws.auth, done["id"])] == [
        (3, "First Name")
    ]


async def test_an_error_on_a_column_with_a_long_header_is_kept(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    header = "Remarks " + "x" * 300
    csv = f"Email,{header}\nada@example.com,fine\nbob@example.com,".encode() + b"\xff\n"
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["status"], done["created"], done["failed"]) == ("completed", 1, 1)
    ((row, column, message),) = await errors_of(client, ws.auth, done["id"])
    assert (row, message) == (3, "is not valid utf-8 text")
    # The column is named by the header's first 255 characters.
    assert column == header[:255]
    assert set(await by_email(client, ws.auth)) == {"ada@example.com"}


@pytest.mark.parametrize(
    "header",
    [
        "whatsapp",
        pytest.param(
            "WhatsApp",
        ),
    ],
)
async def test_a_channel_column_wins_over_phone_channel(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine, header: str
) -> None:
    csv = f"Email,Phone,{header}\nada@example.com,+48123456789,+48600700800\n"
    done = await run_import(client, engine, ws.auth, csv, params={"phone_channel": "whatsapp"})
    assert (done["created"], done["failed"]) == (1, 0)
    (ada,) = await records(client, ws.auth)
    assert ada["fields"]["phone"] == "+48123456789"
    assert await identities_of(client, ws.auth, ada["id"]) == [("whatsapp", "+48600700800")]


async def test_a_cell_too_long_to_be_csv_ends_the_import(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    note = "".join(f"line {i}, of a long note\n" for i in range(40_500))
    assert len(note) > 1024 * 1024
    csv = f'First Name,Description\nAda,"{note}"\nBob,short\n'
    done = await run_import(client, engine, ws.auth, csv)
    assert (done["status"], done["failure"]) == (
        "failed",
        "A row is longer than 1048576 characters",
    )
    assert await records(client, ws.auth) == []
