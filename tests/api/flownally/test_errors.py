"""Errors in Flownally's shape for what goes wrong before a handler's own checks: bodies
that are not JSON, unknown endpoints and methods, oversized bodies."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.api.flownally.conftest import FN, NOBODY, count, fl_error, get_contact, ok
from tests.conftest import TEST_BODY_LIMIT, Workspace

#: Every endpoint that reads a JSON body, with a good body for it.
BODIES = [
    ("POST", "/contacts", {"name": "Anna"}),
    ("PATCH", "/contacts/{contact}", {"name": "Anna"}),
    ("PUT", "/contacts/{contact}/custom-fields/cf_company", {"value": "Acme"}),
    ("POST", "/tags", {"name": "VIP"}),
    ("POST", "/contacts/custom-fields", {"name": "Tier", "type": "text"}),
    ("PATCH", "/contacts/custom-fields/cf_email", {"name": "E-mail"}),
    ("POST", "/properties/custom-fields", {"name": "Tier", "type": "text"}),
]
BODY_IDS = [f"{m} {p}" for m, p, _ in BODIES]


@pytest.fixture
async def contact(client: httpx.AsyncClient, ws: Workspace) -> dict[str, Any]:
    return dict(ok(await client.post(f"{FN}/contacts", json={"name": "Zoe"}, headers=ws.auth), 201))


@pytest.mark.parametrize(("method", "path", "good"), BODIES, ids=BODY_IDS)
@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"name": "Anna"', b"{'name': 'Anna'}", b"\xff\xfe", b"NaN"]
)
async def test_malformed_json_is_400(
    client: httpx.AsyncClient,
    ws: Workspace,
    contact: dict[str, Any],
    method: str,
    path: str,
    good: dict[str, Any],
    raw: bytes,
) -> None:
    answer = await client.request(
        method,
        FN + path.format(contact=contact["id"]),
        content=raw,
        headers={**ws.auth, "Content-Type": "application/json"},
    )
    fl_error(answer, 400, "The request body is not valid JSON", [])
    assert await get_contact(client, ws.auth, contact["id"]) == contact


@pytest.mark.parametrize(("method", "path", "good"), BODIES, ids=BODY_IDS)
async def test_an_empty_body_is_400(
    client: httpx.AsyncClient,
    ws: Workspace,
    contact: dict[str, Any],
    method: str,
    path: str,
    good: dict[str, Any],
) -> None:
    answer = await client.request(
        method,
        FN + path.format(contact=contact["id"]),
        content=b"",
        headers={**ws.auth, "Content-Type": "application/json"},
    )
    fl_error(answer, 400, "A JSON body is required", [])


@pytest.mark.parametrize(("method", "path", "good"), BODIES, ids=BODY_IDS)
@pytest.mark.parametrize(
    "media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_a_body_that_is_not_json_is_415(
    client: httpx.AsyncClient,
    ws: Workspace,
    contact: dict[str, Any],
    method: str,
    path: str,
    good: dict[str, Any],
    media: str,
) -> None:
    answer = await client.request(
        method,
        FN + path.format(contact=contact["id"]),
        content=orjson.dumps(good),
        headers={**ws.auth, "Content-Type": media},
    )
    error = fl_error(answer, 415)
    assert error["message"] == f"Send JSON; {media.split(';')[0]} is not read"
    assert await get_contact(client, ws.auth, contact["id"]) == contact
    assert await count(client, ws.auth) == 1


async def test_json_with_a_charset_or_without_a_content_type_is_read(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{FN}/contacts",
        content='{"name": "Zoë Żak"}'.encode(),
        headers={**ws.auth, "Content-Type": "application/json; charset=utf-8"},
    )
    assert ok(answer, 201)["name"] == "Zoë Żak"
    answer = await client.post(f"{FN}/contacts", content=b'{"name": "No Type"}', headers=ws.auth)
    assert ok(answer, 201)["name"] == "No Type"


async def test_an_oversized_body_is_413(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{FN}/contacts", json={"name": "x" * (TEST_BODY_LIMIT + 1)}, headers=ws.auth
    )
    fl_error(answer, 413, f"The request body exceeds {TEST_BODY_LIMIT} bytes", [])
    assert await count(client, ws.auth) == 0


@pytest.mark.parametrize(
    "path", ["/", "/contact", "/v1/contacts", "/tags/x/y", "/users", "/contacts/x/y/z"]
)
async def test_an_unknown_endpoint_is_404(
    client: httpx.AsyncClient, ws: Workspace, path: str
) -> None:
    answer = await client.get(FN + path, headers=ws.auth)
    fl_error(answer, 404, "No such endpoint", [])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/contacts"),
        ("DELETE", "/contacts"),
        ("POST", f"/contacts/con_{NOBODY}"),
        ("GET", f"/contacts/con_{NOBODY}/archive"),
        ("PATCH", "/tags"),
        ("GET", f"/tags/tag_{NOBODY}"),
        ("PUT", "/contacts/custom-fields/cf_email"),
        ("GET", f"/contacts/con_{NOBODY}/tags/tag_{NOBODY}"),
    ],
)
async def test_a_wrong_method_is_405(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str
) -> None:
    answer = await client.request(method, FN + path, headers=ws.auth)
    fl_error(answer, 405, "Method not allowed", [])
