"""Shared setup for the Flownally face (``/flownally/v1``): its ids, its error shape
(``{"error": {"code", "status", "message", "details"}}``) and helpers that make contacts,
tags and custom field definitions through the face itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace

FN = "/flownally/v1"
API = "/api/v1"

#: The ``status`` name each HTTP status carries in an error body.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}

#: Every scope the document names for this face.
ALL_SCOPES = [
    "contact:list",
    "contact:read",
    "contact:create",
    "contact:update",
    "contact:delete",
    "tag:list",
    "tag:create",
    "tag:delete",
    "custom_field:list",
    "custom_field:create",
    "custom_field:update",
    "custom_field:delete",
]

#: The create-contact example of the document.
ANNA = {
    "name": "Anna Kowalska",
    "phone": "+48123456789",
    "customFields": {"lifecycleStage": "lead", "preferredStore": "Krakow"},
}

#: A well-formed id that names nothing (26 Crockford characters).
NOBODY = "01HV8Y5R5RFMS0TFK6PKF9H2S8"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def face_id(prefix: str, value: uuid.UUID | str) -> str:
    """``prefix_`` and the 26-character Crockford base32 form of a UUID, computed here
    independently of the server's own code."""
    n = uuid.UUID(str(value)).int
    return prefix + "_" + "".join(_CROCKFORD[(n >> shift) & 31] for shift in range(125, -5, -5))


def uuid_of(prefixed: str) -> str:
    """The UUID (canonical text) behind a prefixed Flownally id."""
    _, _, body = prefixed.partition("_")
    assert len(body) == 26, prefixed
    n = 0
    for char in body:
        n = (n << 5) | _CROCKFORD.index(char)
    return str(uuid.UUID(int=n))


def is_face_id(value: Any, prefix: str) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(prefix + "_")
        and face_id(prefix, uuid_of(value)) == value
    )


def is_utc_time(value: Any) -> bool:
    """An RFC 3339 timestamp in UTC, written with ``Z``."""
    if not isinstance(value, str) or not value.endswith("Z"):
        return False
    return datetime.fromisoformat(value).utcoffset() == timedelta(0)


def at(value: str) -> datetime:
    """A timestamp of an answer, to compare in time rather than as text."""
    return datetime.fromisoformat(value)


def ok(answer: httpx.Response, status: int = 200) -> Any:
    """The JSON of a successful answer with this status (None for 204)."""
    assert answer.status_code == status, answer.text
    if status == 204:
        assert answer.content == b""
        return None
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


def fl_error(
    answer: httpx.Response,
    status: int,
    message: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An error in Flownally's shape with this status (and message, and details); its
    ``error`` object."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}, body
    error = dict(body["error"])
    assert set(error) == {"code", "status", "message", "details"}, error
    assert error["code"] == status
    assert error["status"] == STATUS_NAMES[status]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    if message is not None:
        assert error["message"] == message
    if details is not None:
        assert error["details"] == details
    return error


def validation(*fields: tuple[str, str, str]) -> list[dict[str, str]]:
    """The ``details`` of a 422: one ``{"field", "code", "message"}`` per problem."""
    return [{"field": f, "code": c, "message": m} for f, c, m in fields]


async def create_contact(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    return dict(ok(await client.post(f"{FN}/contacts", json=body, headers=headers), 201))


async def get_contact(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str
) -> dict[str, Any]:
    return dict(ok(await client.get(f"{FN}/contacts/{contact_id}", headers=headers)))


async def list_contacts(
    client: httpx.AsyncClient, headers: dict[str, str], params: Any = None
) -> list[dict[str, Any]]:
    """One page of contacts (the test makes sure there is no next one)."""
    page = ok(await client.get(f"{FN}/contacts", params=params, headers=headers))
    assert set(page) == {"contacts", "nextPageToken"}
    assert page["nextPageToken"] is None
    return list(page["contacts"])


async def listed_ids(
    client: httpx.AsyncClient, headers: dict[str, str], params: Any = None
) -> list[str]:
    return [c["id"] for c in await list_contacts(client, headers, params)]


async def count(client: httpx.AsyncClient, headers: dict[str, str], params: Any = None) -> int:
    answer = ok(await client.get(f"{FN}/contacts/count", params=params, headers=headers))
    assert set(answer) == {"totalSize"}
    return int(answer["totalSize"])


async def create_tag(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    made = ok(await client.post(f"{FN}/tags", json={"name": name}, headers=headers), 201)
    return str(made["id"])


async def tag(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str, tag_id: str
) -> None:
    ok(await client.post(f"{FN}/contacts/{contact_id}/tags/{tag_id}", headers=headers), 204)


async def create_field(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    name: str,
    type_: str = "text",
    entity: str = "contacts",
) -> dict[str, Any]:
    answer = await client.post(
        f"{FN}/{entity}/custom-fields", json={"name": name, "type": type_}, headers=headers
    )
    return dict(ok(answer, 201))


async def list_fields(
    client: httpx.AsyncClient, headers: dict[str, str], entity: str = "contacts"
) -> list[dict[str, Any]]:
    answer = ok(await client.get(f"{FN}/{entity}/custom-fields", headers=headers))
    assert set(answer) == {"customFields"}
    return list(answer["customFields"])


async def set_value(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str, field: str, value: Any
) -> None:
    answer = await client.put(
        f"{FN}/contacts/{contact_id}/custom-fields/{field}", json={"value": value}, headers=headers
    )
    ok(answer, 204)


async def native_contact(
    client: httpx.AsyncClient, ws: Workspace, contact_id: str
) -> dict[str, Any]:
    """The same contact as the native API shows it."""
    answer = await client.get(
        f"{API}/objects/contact/records/{uuid_of(contact_id)}", headers=ws.auth
    )
    return dict(ok(answer))


async def my_user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """The caller's user as a Flownally ``usr_`` id."""
    me = ok(await client.get(f"{API}/me", headers=headers))
    return face_id("usr", me["user"]["id"])


async def share(client: httpx.AsyncClient, ws: Workspace, contact_id: str, email: str) -> None:
    """Share a contact with a user through the native API (read access)."""
    answer = await client.post(
        f"{API}/objects/contact/records/{uuid_of(contact_id)}/viewers",
        json={"users": [email]},
        headers=ws.auth,
    )
    ok(answer)


@pytest.fixture
async def store_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    """The two custom fields of the document's example: Lifecycle stage, Preferred store."""
    await create_field(client, ws.auth, "Lifecycle stage")
    await create_field(client, ws.auth, "Preferred store")


@pytest.fixture
async def anna(client: httpx.AsyncClient, ws: Workspace, store_fields: None) -> dict[str, Any]:
    """The document's example contact, as created."""
    return await create_contact(client, ws.auth, ANNA)
