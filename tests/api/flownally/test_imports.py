"""Contact imports through the Flownally face: ``POST /contacts/import`` takes a CSV file and
answers 202 with an ``importId``; a worker reads it and ``GET /contacts/imports/{id}`` shows
how far it got and which rows it refused.

The worker is run in the test by draining the queue after the upload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.worker.loop import drain
from tests.api.flownally.conftest import (
    ALL_SCOPES,
    API,
    FN,
    NOBODY,
    at,
    count,
    create_contact,
    create_field,
    create_tag,
    fl_error,
    is_face_id,
    is_utc_time,
    list_contacts,
    native_contact,
    ok,
    uuid_of,
    validation,
)
from tests.api.imports_support import client_with_import_limit
from tests.conftest import Workspace, bearer

IMPORT = f"{FN}/contacts/import"
#: Every attribute of an import's status: the document's and the ones this server adds.
STATUS_KEYS = {
    "importId",
    "status",
    "totalRows",
    "processedRows",
    "successCount",
    "failedCount",
    "errors",
    "failure",
    "createdAt",
    "finishedAt",
}
#: The message a phone that is not in E.164 form gets (the face's document shows it).
NOT_E164 = "must be a phone number in E.164 form, such as +14155550123"


# --- helpers ------------------------------------------------------------------------------


def csv(*lines: str) -> bytes:
    """A UTF-8 CSV file of these lines."""
    return ("\n".join(lines) + "\n").encode()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    fields: dict[str, str] | None = None,
) -> str:
    """Upload a file as the ``file`` field of a form; the ``importId`` of the 202."""
    answer = await client.post(
        IMPORT, files={"file": ("contacts.csv", data, "text/csv")}, data=fields, headers=headers
    )
    body = ok(answer, 202)
    assert set(body) == {"importId"}
    assert is_face_id(body["importId"], "import")
    return str(body["importId"])


async def progress(
    client: httpx.AsyncClient, headers: dict[str, str], import_id: str
) -> dict[str, Any]:
    body = ok(await client.get(f"{FN}/contacts/imports/{import_id}", headers=headers))
    assert set(body) == STATUS_KEYS
    assert body["importId"] == import_id
    assert is_utc_time(body["createdAt"])
    return dict(body)


async def run(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    headers: dict[str, str],
    data: bytes,
    fields: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Upload a file, let the worker do everything waiting, and answer the import's status."""
    import_id = await upload(client, headers, data, fields)
    await drain(engine)
    return await progress(client, headers, import_id)


def counts(status: dict[str, Any]) -> tuple[str, int, int, int]:
    return status["status"], status["totalRows"], status["successCount"], status["failedCount"]


async def native_imports(client: httpx.AsyncClient, ws: Workspace) -> list[dict[str, Any]]:
    """The contact imports the native API lists for the owner (nothing half-uploaded)."""
    answer = await client.get(f"{API}/objects/contact/imports", headers=ws.auth)
    return list(ok(answer)["data"])


async def by_name(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    return {c["name"]: c for c in await list_contacts(client, headers)}


@pytest.fixture
async def sam(ws: Workspace) -> dict[str, str]:
    """An agent's key (sees the contacts it owns)."""
    return bearer(await ws.add_key(role="agent", email="sam@acme.com"))


# --- the upload and the status ----------------------------------------------------------


async def test_an_upload_is_pending_until_the_worker_has_read_it(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    import_id = await upload(
        client, ws.auth, csv("name,phone", "Anna Kowalska,+48123456789", "Jan Nowak,+48600100200")
    )
    waiting = await progress(client, ws.auth, import_id)
    assert waiting == {
        "importId": import_id,
        "status": "pending",
        "totalRows": 0,
        "processedRows": 0,
        "successCount": 0,
        "failedCount": 0,
        "errors": [],
        "failure": None,
        "createdAt": waiting["createdAt"],
        "finishedAt": None,
    }
    assert await count(client, ws.auth) == 0

    await drain(engine)
    done = await progress(client, ws.auth, import_id)
    assert done == {
        **waiting,
        "status": "completed",
        "totalRows": 2,
        "processedRows": 2,
        "successCount": 2,
        "finishedAt": done["finishedAt"],
    }
    assert is_utc_time(done["finishedAt"])
    assert at(done["finishedAt"]) >= at(done["createdAt"])
    assert sorted(await by_name(client, ws.auth)) == ["Anna Kowalska", "Jan Nowak"]


async def test_the_csv_may_also_be_the_whole_body(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    answer = await client.post(
        IMPORT,
        content=csv("name,email", "Ola Raw,ola@example.com"),
        headers={**ws.auth, "Content-Type": "text/csv"},
    )
    import_id = ok(answer, 202)["importId"]
    assert is_face_id(import_id, "import")
    await drain(engine)
    assert counts(await progress(client, ws.auth, import_id)) == ("completed", 1, 1, 0)
    [ola] = await list_contacts(client, ws.auth)
    assert (ola["name"], ola["customFields"]) == ("Ola Raw", {"email": "ola@example.com"})


# --- what rows become -------------------------------------------------------------------


async def test_rows_become_contacts_with_whatsapp_custom_fields_and_tags(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine, store_fields: None
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    status = await run(
        client,
        engine,
        ws.auth,
        csv(
            "name,phone,email,Lifecycle stage,preferredStore,tags",
            'Anna Maria Kowalska,+48 123 456 789,Anna@Example.com,lead,Krakow,"vip; Weekend"',
            "Cher,,cher@example.com,,,",
        ),
    )
    assert status == {**status, "status": "completed", "totalRows": 2, "successCount": 2}
    assert (status["failedCount"], status["errors"]) == (0, [])

    found = await by_name(client, ws.auth)
    assert sorted(found) == ["Anna Maria Kowalska", "Cher"]
    anna, cher = found["Anna Maria Kowalska"], found["Cher"]
    # The phone is the phone field and also the contact's WhatsApp, in E.164.
    [whatsapp] = anna["identities"]
    assert is_face_id(whatsapp["id"], "idn")
    assert (whatsapp["channel"], whatsapp["metadata"]) == (
        "whatsapp",
        {"phoneNumber": "+48123456789"},
    )
    assert anna["customFields"] == {
        "email": "anna@example.com",
        "phone": "+48123456789",
        "lifecycleStage": "lead",
        "preferredStore": "Krakow",
    }
    # An existing tag is found whatever its case; a new one is made ("Weekend").
    tags = {t["name"]: t["id"] for t in ok(await client.get(f"{FN}/tags", headers=ws.auth))["tags"]}
    assert sorted(tags) == ["VIP", "Weekend"]
    assert tags["VIP"] == vip
    assert anna["tagIds"] == [vip, tags["Weekend"]]
    # The last word of the name is the last name.
    fields = (await native_contact(client, ws, anna["id"]))["fields"]
    assert (fields["first_name"], fields["last_name"]) == ("Anna Maria", "Kowalska")

    assert (cher["identities"], cher["tagIds"], cher["customFields"]) == (
        [],
        [],
        {"email": "cher@example.com"},
    )
    fields = (await native_contact(client, ws, cher["id"]))["fields"]
    assert (fields["first_name"], fields["last_name"]) == ("Cher", None)


async def test_a_date_field_takes_iso_dates_and_refuses_others(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    await create_field(client, ws.auth, "Birthday", "date")
    status = await run(
        client,
        engine,
        ws.auth,
        csv("Full Name,Birthday", "Ada Lovelace,1815-12-10", "Bad Date,10/12/1815"),
    )
    assert counts(status) == ("completed", 2, 1, 1)
    assert status["errors"] == [
        {"row": 3, "column": "Birthday", "message": "must be an ISO 8601 date (YYYY-MM-DD)"}
    ]
    [ada] = await list_contacts(client, ws.auth)
    assert (ada["name"], ada["customFields"]) == ("Ada Lovelace", {"birthday": "1815-12-10"})


async def test_an_invalid_phone_fails_its_row_once_on_the_phone_column(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    status = await run(
        client,
        engine,
        ws.auth,
        csv("Name,Phone", "Good One,+48 600 100 200", "Bad One,12345", "Worse One,call me"),
    )
    assert counts(status) == ("completed", 3, 1, 2)
    # The phone is read twice (as the field and as the WhatsApp identity), but reported once.
    assert status["errors"] == [
        {"row": 3, "column": "Phone", "message": NOT_E164},
        {"row": 4, "column": "Phone", "message": NOT_E164},
    ]
    assert list(await by_name(client, ws.auth)) == ["Good One"]


async def test_rows_that_cannot_be_read_fail_alone_numbered_as_a_spreadsheet_numbers_them(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    data = (
        b"name,email\n"
        b"First Row,first@example.com\n"  # row 2
        b"Too Few\n"  # row 3
        b"Too,many@example.com,cells\n"  # row 4
        b"Bad Mail,not-an-email\n"  # row 5
        b"Jos\xe9 Latin,jose@example.com\n"  # row 6: not UTF-8
        b'"Two\nLines",two@example.com\n'  # row 7, over two lines of the file
        b"Last Row,last@example.com\n"  # row 8
    )
    status = await run(client, engine, ws.auth, data)
    assert counts(status) == ("completed", 7, 3, 4)
    assert status["processedRows"] == 7
    assert status["errors"] == [
        {"row": 3, "column": None, "message": "The row has 1 cells where the header has 2"},
        {"row": 4, "column": None, "message": "The row has 3 cells where the header has 2"},
        {"row": 5, "column": "email", "message": "must be an email address"},
        {"row": 6, "column": "name", "message": "is not valid utf-8 text"},
    ]
    assert sorted(await by_name(client, ws.auth)) == ["First Row", "Last Row", "Two Lines"]


async def test_a_finished_import_has_processed_exactly_its_rows_despite_blank_lines(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    # Spreadsheets often export empty rows as a line of commas.
    status = await run(
        client, engine, ws.auth, csv("name,email", "One,one@example.com", ",", "Two,two@x.io")
    )
    assert (status["status"], status["successCount"], status["failedCount"]) == ("completed", 2, 0)
    assert status["processedRows"] == status["totalRows"] == 2


async def test_an_encoding_field_reads_a_file_that_is_not_utf8(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    data = "name,email\nJosé García,jose@example.com\n".encode("latin-1")
    status = await run(client, engine, ws.auth, data, {"encoding": "latin-1"})
    assert counts(status) == ("completed", 1, 1, 0)
    assert list(await by_name(client, ws.auth)) == ["José García"]
    for unknown in ("klingon", "utf-8\x00"):  # a NUL in the name answered 500
        answer = await client.post(
            IMPORT,
            files={"file": ("contacts.csv", data, "text/csv")},
            data={"encoding": unknown},
            headers=ws.auth,
        )
        fl_error(
            answer,
            422,
            details=validation(("encoding", "invalid", "must name a text encoding such as utf-8")),
        )


async def test_at_most_1000_row_errors_are_shown(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    data = b"name,email\n" + b"lonely\n" * 1005
    status = await run(client, engine, ws.auth, data)
    assert counts(status) == ("completed", 1005, 0, 1005)
    assert len(status["errors"]) == 1000
    assert [e["row"] for e in status["errors"]] == list(range(2, 1002))
    assert await count(client, ws.auth) == 0


# --- duplicates ---------------------------------------------------------------------------


async def test_a_second_import_updates_the_contacts_it_finds_by_phone_or_email(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    anna = await create_contact(client, ws.auth, {"name": "Anna Kowalska", "phone": "+48123456789"})
    bob = await create_contact(
        client, ws.auth, {"name": "Bob Smith", "customFields": {"email": "bob@example.com"}}
    )
    first = await run(
        client,
        engine,
        ws.auth,
        csv(
            "name,phone,email,city",
            "Anna K,+48 123-456-789,,Krakow",  # Anna's WhatsApp, written otherwise
            "Robert Smith,,BOB@example.com,Oslo",  # Bob's email, in another case
            "Newcomer,+1 555 222 3333,,Rome",
            "Newcomer Again,+15552223333,,Paris",  # the row above, later in the same file
        ),
    )
    assert counts(first) == ("completed", 4, 4, 0)
    assert await count(client, ws.auth) == 3
    found = await by_name(client, ws.auth)
    assert sorted(found) == ["Anna K", "Newcomer Again", "Robert Smith"]
    assert found["Anna K"]["id"] == anna["id"]
    assert found["Anna K"]["customFields"]["city"] == "Krakow"
    assert [i["metadata"] for i in found["Anna K"]["identities"]] == [
        {"phoneNumber": "+48123456789"}
    ]
    assert found["Robert Smith"]["id"] == bob["id"]
    assert found["Robert Smith"]["customFields"] == {"email": "bob@example.com", "city": "Oslo"}
    newcomer = found["Newcomer Again"]
    assert newcomer["customFields"] == {"phone": "+15552223333", "city": "Paris"}
    assert [i["metadata"] for i in newcomer["identities"]] == [{"phoneNumber": "+15552223333"}]

    # The same people again: nobody new, and the values of the file win.
    again = await run(
        client,
        engine,
        ws.auth,
        csv(
            "name,phone,email",
            "Anna Kowalska,+48123456789,anna@example.com",
            "Rob Smyth,,bob@EXAMPLE.com",
        ),
    )
    assert counts(again) == ("completed", 2, 2, 0)
    assert await count(client, ws.auth) == 3
    found = await by_name(client, ws.auth)
    assert (found["Anna Kowalska"]["id"], found["Rob Smyth"]["id"]) == (anna["id"], bob["id"])
    assert found["Anna Kowalska"]["customFields"]["email"] == "anna@example.com"


# --- tags and scopes within the file -------------------------------------------------------


async def test_a_key_that_may_not_create_tags_imports_only_existing_ones(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    known = await create_tag(client, ws.auth, "Known")
    key = bearer(await ws.add_key(scopes=["contact:create", "contact:list"]))
    status = await run(
        client,
        engine,
        key,
        csv("name,Tags", "Tagged Right,known", "Tagged Wrong,Brand New"),
    )
    assert counts(status) == ("completed", 2, 1, 1)
    assert status["errors"] == [
        {
            "row": 3,
            "column": "Tags",
            "message": "no tag named 'Brand New', and this key may not create tags",
        }
    ]
    [tagged] = await list_contacts(client, ws.auth)
    assert (tagged["name"], tagged["tagIds"]) == ("Tagged Right", [known])
    assert [t["name"] for t in ok(await client.get(f"{FN}/tags", headers=ws.auth))["tags"]] == [
        "Known"
    ]


# --- files that are not a usable CSV ------------------------------------------------------

UNUSABLE = [
    ("empty", b"", "The file is empty"),
    ("blank header", b"\n\nname\nAda\n", "The first row, the header, is empty"),
    (
        "header matching nothing",
        b"favourite colour,shoe size\nblue,42\n",
        "No column of the header matches a field of contacts: favourite colour, shoe size",
    ),
    (
        "a PDF",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"stream\n\x78\x9c\xed\x9d\xff\x00\x01\nendstream\n%%EOF\n",
        "No column of the header matches a field of contacts: %PDF-1.7",
    ),
    (
        "a spreadsheet (zip)",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00b\xee\x9dh^\x01\x00\x00\x90\x04\x00\x00"
        b"\x13\x00\x08\x02[Content_Types].xml \xa2\x04\x02(\xa0\x00\x02\n\x00\x00\x00\x00",
        "The header row is not valid utf-8 text",
    ),
]


async def test_a_file_that_is_no_usable_csv_fails_as_a_whole(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    started = [(await upload(client, ws.auth, data), why) for _, data, why in UNUSABLE]
    await drain(engine)
    for (name, _, _), (import_id, why) in zip(UNUSABLE, started, strict=True):
        status = await progress(client, ws.auth, import_id)
        assert status == {
            **status,
            "status": "failed",
            "failure": why,
            "totalRows": 0,
            "processedRows": 0,
            "successCount": 0,
            "failedCount": 0,
            "errors": [],
        }, name
        assert is_utc_time(status["finishedAt"]), name
    assert await count(client, ws.auth) == 0


async def test_a_utf16_file_without_byte_order_mark_fails_with_a_message(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    # Read as UTF-8, UTF-16 text is ASCII letters with NUL characters between them.
    data = "name,email\nAda Lovelace,ada@example.com\n".encode("utf-16-le")
    status = await run(client, engine, ws.auth, data)
    assert status["status"] == "failed"
    assert status["failure"].startswith("No column of the header matches a field of contacts")
    assert await count(client, ws.auth) == 0


async def test_a_refused_cell_under_a_long_header_is_reported(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    # Survey exports name their columns by the whole question.
    question = "How did you hear about us and what would you like us to know? " * 5
    data = f"name,{question.strip()}\nAna B,a friend\nJose C,caf".encode() + b"\xe9\n"
    status = await run(client, engine, ws.auth, data)
    assert counts(status) == ("completed", 2, 1, 1)
    [error] = status["errors"]
    assert (error["row"], error["message"]) == (3, "is not valid utf-8 text")
    assert error["column"].startswith("How did you hear about us")


# --- who may import and follow ------------------------------------------------------------


async def test_without_a_valid_key_is_401(client: httpx.AsyncClient, ws: Workspace) -> None:
    import_id = await upload(client, ws.auth, csv("name", "Ada"))
    files = {"file": ("contacts.csv", csv("name", "Bob"), "text/csv")}
    for headers, message in [
        ({}, "An API key is required"),
        ({"Authorization": "Bearer ak_not_a_key"}, "The API key is not valid"),
    ]:
        answer = await client.post(IMPORT, files=files, headers=headers)
        fl_error(answer, 401, message, [])
        assert answer.headers["www-authenticate"] == "Bearer"
        answer = await client.get(f"{FN}/contacts/imports/{import_id}", headers=headers)
        fl_error(answer, 401, message, [])
    # Nothing was queued by the refused uploads.
    assert [i["id"] for i in await native_imports(client, ws)] == [uuid_of(import_id)]


async def test_importing_needs_contact_create(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    lacking = bearer(await ws.add_key(scopes=[s for s in ALL_SCOPES if s != "contact:create"]))
    answer = await client.post(
        IMPORT, files={"file": ("c.csv", csv("name", "Ada"), "text/csv")}, headers=lacking
    )
    fl_error(answer, 403, "This key lacks the scope contact:create", [])
    await drain(engine)
    assert await native_imports(client, ws) == []
    assert await count(client, ws.auth) == 0

    # The documented scope alone is enough, to import and to follow the import.
    creator = bearer(await ws.add_key(scopes=["contact:create"]))
    import_id = await upload(client, creator, csv("name", "Ada"))
    follower = bearer(await ws.add_key(scopes=["contact:list"]))
    await drain(engine)
    assert counts(await progress(client, follower, import_id)) == ("completed", 1, 1, 0)


async def test_following_an_import_needs_contact_list(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    import_id = await upload(client, ws.auth, csv("name", "Ada"))
    lacking = bearer(await ws.add_key(scopes=[s for s in ALL_SCOPES if s != "contact:list"]))
    answer = await client.get(f"{FN}/contacts/imports/{import_id}", headers=lacking)
    fl_error(answer, 403, "This key lacks the scope contact:list", [])


async def test_an_unknown_import_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await upload(client, other_ws.auth, csv("name", "Not Yours"))
    for ref in [
        f"import_{NOBODY}",  # well-formed, names nothing
        "import_nope",
        f"con_{NOBODY}",  # another kind of id
        f"import_{NOBODY}0",
        NOBODY,
        theirs,  # another workspace's import
    ]:
        answer = await client.get(f"{FN}/contacts/imports/{ref}", headers=ws.auth)
        fl_error(answer, 404, "Import not found", [])
    assert (await progress(client, other_ws.auth, theirs))["status"] == "pending"


async def test_an_agent_imports_and_follows_its_own_imports_only(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine, sam: dict[str, str]
) -> None:
    hidden = await create_contact(client, ws.auth, {"name": "Owner Only", "phone": "+48123456789"})
    owners = await upload(client, ws.auth, csv("name", "Owner Import"))
    mine = await upload(
        client,
        sam,
        csv("name,phone", "Sam Contact,+44 20 7946 0958", "Same Phone,+48 123 456 789"),
    )
    await drain(engine)

    status = await progress(client, sam, mine)
    # A row landing on a contact the agent may not see is refused, not turned into a twin.
    assert counts(status) == ("completed", 2, 1, 1)
    assert status["errors"] == [
        {
            "row": 3,
            "column": "phone",
            "message": "matches another contact that exists, which you may not change",
        }
    ]
    [own] = await list_contacts(client, sam)
    assert own["name"] == "Sam Contact"
    assert [i["metadata"] for i in own["identities"]] == [{"phoneNumber": "+442079460958"}]
    fl_error(
        await client.get(f"{FN}/contacts/imports/{owners}", headers=sam),
        404,
        "Import not found",
        [],
    )
    # The owner follows every import, and their contact is as it was.
    assert counts(await progress(client, ws.auth, mine)) == counts(status)
    assert (await by_name(client, ws.auth))["Owner Only"] == hidden
    assert await count(client, ws.auth) == 3


# --- bodies that are not an upload ---------------------------------------------------------


async def test_a_body_that_is_no_upload_is_refused_and_leaves_nothing(
    client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    answer = await client.post(IMPORT, json={"file": "name\nAda\n"}, headers=ws.auth)
    fl_error(
        answer,
        415,
        "Send the file as multipart/form-data or text/csv; application/json is not read",
        [],
    )
    answer = await client.post(
        IMPORT, files={"attachment": ("c.csv", csv("name", "Ada"), "text/csv")}, headers=ws.auth
    )
    fl_error(answer, 422, details=validation(("file", "required", "a CSV file is required")))
    answer = await client.post(
        IMPORT,
        content=b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nname\r\n',
        headers={**ws.auth, "Content-Type": "multipart/form-data"},
    )
    fl_error(answer, 400, "The multipart body names no boundary", [])
    await drain(engine)
    assert await native_imports(client, ws) == []
    assert await count(client, ws.auth) == 0


@pytest.fixture
async def small_client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server that takes import files of at most 1,000 bytes."""
    async with client_with_import_limit(engine, database_url, 1000) as c:
        yield c


async def test_a_file_over_the_limit_is_413_and_leaves_nothing(
    small_client: httpx.AsyncClient, ws: Workspace, engine: AsyncEngine
) -> None:
    header = b"name\n"
    just_right = header + b"x" * (1000 - len(header))
    import_id = await upload(small_client, ws.auth, just_right)
    for data in [just_right + b"x", header + b"Someone\n" * 20_000]:
        answer = await small_client.post(
            IMPORT, files={"file": ("c.csv", data, "text/csv")}, headers=ws.auth
        )
        error = fl_error(answer, 413, details=[])
        assert "exceeds" in error["message"]
    await drain(engine)
    assert [i["status"] for i in await native_imports(small_client, ws)] == ["completed"]
    assert counts(await progress(small_client, ws.auth, import_id)) == ("completed", 1, 1, 0)
    assert await count(small_client, ws.auth) == 1
