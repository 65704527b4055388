"""Errors in Leadflip's shape: keys (401), scopes (403), bodies (400, 413, 415, 422), paths."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.leadflip.conftest import (
    LF,
    Entity,
    count,
    errors_of,
    get_lead,
    lf_error,
    ok,
    take_in,
)
from tests.conftest import TEST_BODY_LIMIT, Workspace, bearer

LEAD = "01900000-0000-7000-8000-000000000000"
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("POST", "/intake", {"entity": "solar_lead", "lead_name": "A"}),
    ("POST", "/leads/bulk", {"entity": "solar_lead", "batch": [{"lead_name": "A"}]}),
    ("GET", f"/leads/{LEAD}", None),
    ("PATCH", f"/leads/{LEAD}", {"fields": {"company": "X"}}),
    ("PATCH", f"/leads/{LEAD}/status", {"status_step": "New"}),
    ("GET", "/entities", None),
    ("GET", "/lead-objects", None),
]
NO_KEY = [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"}]
BAD_KEY = [
    {"Authorization": "Bearer ak_abcdefghijklmnopqrstuvwxyz0123456789ABCD"},
    {"Authorization": "Bearer not-a-key"},
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_no_key_or_a_bad_key_is_401(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity, method: str, path: str, body: Any
) -> None:
    for headers in NO_KEY:
        answer = await client.request(method, LF + path, json=body, headers=headers)
        lf_error(answer, 401, "An API key is required")
        assert answer.headers["www-authenticate"] == "Bearer"
    for headers in BAD_KEY:
        answer = await client.request(method, LF + path, json=body, headers=headers)
        lf_error(answer, 401, "The API key is not valid")
        assert answer.headers["www-authenticate"] == "Bearer"
    tampered = ws.key[:-1] + ("A" if ws.key[-1] != "A" else "B")
    answer = await client.request(method, LF + path, json=body, headers=bearer(tampered))
    lf_error(answer, 401, "The API key is not valid")
    assert await count(client, ws, "solar_lead") == 0


async def test_a_key_without_the_create_scope_is_403(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    lead_id = (await take_in(client, ws.auth, {"entity": "lead", "first_name": "Ada"}))["lead_id"]
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    answer = await client.post(
        f"{LF}/intake", json={"entity": "lead", "first_name": "Eve"}, headers=reader
    )
    lf_error(answer, 403, "This key lacks the scope lead:create")
    answer = await client.post(
        f"{LF}/leads/bulk",
        json={"entity": "lead", "batch": [{"first_name": "Eve"}]},
        headers=reader,
    )
    lf_error(answer, 403, "This key lacks the scope lead:create")
    answer = await client.patch(
        f"{LF}/leads/{lead_id}", json={"fields": {"first_name": "Eve"}}, headers=reader
    )
    lf_error(answer, 403)
    # Reading is what the key may do.
    assert (await get_lead(client, reader, lead_id))["fields"] == {"first_name": "Ada"}
    assert ok(await client.get(f"{LF}/entities", headers=reader))
    assert await count(client, ws, "lead") == 1


async def test_the_create_scope_is_per_entity(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    key = bearer(await ws.add_key(scopes=["lead:create"]))
    ok(await client.post(f"{LF}/intake", json={"entity": "lead", "first_name": "A"}, headers=key))
    answer = await client.post(
        f"{LF}/intake", json={"entity": "solar_lead", "lead_name": "A"}, headers=key
    )
    lf_error(answer, 403, "This key lacks the scope solar_lead:create")
    assert (await count(client, ws, "lead"), await count(client, ws, "solar_lead")) == (1, 0)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/intake"),
        ("POST", "/leads/bulk"),
        ("PATCH", "/leads/{id}"),
        ("PATCH", "/leads/{id}/status"),
    ],
)
async def test_bodies_that_are_not_json_objects(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity, method: str, path: str
) -> None:
    lead_id = (await take_in(client, ws.auth, {"entity": "solar_lead", "lead_name": "A"}))[
        "lead_id"
    ]
    url = LF + path.format(id=lead_id)
    json_type = {**ws.auth, "Content-Type": "application/json"}
    answer = await client.request(
        method, url, content=b'{"entity": "solar_lead",', headers=json_type
    )
    lf_error(answer, 400, "The request body is not valid JSON")
    answer = await client.request(method, url, content=b"", headers=json_type)
    lf_error(answer, 400, "A JSON body is required")
    answer = await client.request(
        method, url, content=b"lead_name=A", headers={**ws.auth, "Content-Type": "text/plain"}
    )
    lf_error(answer, 415)
    answer = await client.request(method, url, json=[{"lead_name": "A"}], headers=ws.auth)
    assert errors_of(answer) == {"body": ["The body field must be a JSON object."]}
    answer = await client.request(method, url, json="lead", headers=ws.auth)
    assert errors_of(answer) == {"body": ["The body field must be a JSON object."]}
    assert await count(client, ws, "solar_lead") == 1
    assert (await get_lead(client, ws.auth, lead_id))["fields"] == {"lead_name": "A"}


async def test_forms_are_for_intake_only(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await client.post(
        f"{LF}/leads/bulk", data={"entity": "solar_lead", "batch": "A"}, headers=ws.auth
    )
    lf_error(answer, 415, "Send JSON; application/x-www-form-urlencoded is not read")
    answer = await client.post(
        f"{LF}/intake", content=b"<lead/>", headers={**ws.auth, "Content-Type": "application/xml"}
    )
    lf_error(answer, 415, "Send JSON or a form; application/xml is not read")


async def test_json_without_a_content_type_is_read(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await client.post(
        f"{LF}/intake", content=b'{"entity": "solar_lead", "lead_name": "Raw"}', headers=ws.auth
    )
    assert ok(answer)["result"] == "created"


async def test_a_body_over_the_limit_is_413(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    big = {"entity": "solar_lead", "lead_name": "A", "blob": "x" * TEST_BODY_LIMIT}
    answer = await client.post(f"{LF}/intake", json=big, headers=ws.auth)
    lf_error(answer, 413, f"The request body exceeds {TEST_BODY_LIMIT} bytes")
    assert await count(client, ws, "solar_lead") == 0


async def test_a_missing_required_field_is_422(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await client.post(
        f"{LF}/intake", json={"entity": "solar_lead", "email": "jane@example.com"}, headers=ws.auth
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "status": "error",
        "message": "Validation error",
        "errors": {"lead_name": ["The lead name field is required."]},
    }
    for blank in ("", None):
        answer = await client.post(
            f"{LF}/intake", json={"entity": "solar_lead", "lead_name": blank}, headers=ws.auth
        )
        assert errors_of(answer) == {"lead_name": ["The lead name field is required."]}
    assert await count(client, ws, "solar_lead") == 0


async def test_every_problem_of_an_intake_is_reported_at_once(
    client: httpx.AsyncClient, ws: Workspace, solar: Entity
) -> None:
    answer = await client.post(
        f"{LF}/intake",
        json={
            "entity": "solar_lead",
            "email": "nope",
            "phone": "call me",
            "status:stage": "Won",
            "assignee": "nobody@acme.com",
        },
        headers=ws.auth,
    )
    assert sorted(errors_of(answer)) == ["assignee", "email", "phone", "status:stage"]


@pytest.mark.parametrize("path", ["/nothing", "/leads", "/leads/x/y", "/entities/x", "/"])
async def test_unknown_paths_are_404(client: httpx.AsyncClient, ws: Workspace, path: str) -> None:
    for headers in (ws.auth, {}):
        lf_error(await client.get(LF + path, headers=headers), 404, "Not found")


async def test_a_wrong_method_is_405(client: httpx.AsyncClient, ws: Workspace) -> None:
    lf_error(await client.delete(f"{LF}/leads/{LEAD}", headers=ws.auth), 405, "Method not allowed")
    lf_error(await client.get(f"{LF}/intake", headers=ws.auth), 405, "Method not allowed")
    lf_error(
        await client.post(f"{LF}/entities", json={}, headers=ws.auth), 405, "Method not allowed"
    )
