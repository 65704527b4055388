"""Bad input gets a clear 4xx in the error shape, never a 500 and never an HTML page.

Malformed JSON and missing bodies are 400, wrong types and unknown attributes 422, bodies
over the limit 413 (declared or chunked), unknown routes 404 and wrong methods 405; a long
list of odd inputs (unicode, NUL bytes, huge numbers, deep filters, long strings, SQL text,
forged cursors) never reaches a 500.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_BODY_LIMIT, Workspace

API = "/api/v1"
JSON = {"content-type": "application/json"}
ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgresql")


# --- helpers ------------------------------------------------------------------------------


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = answer.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    return dict(error)


def detail_fields(answer: httpx.Response) -> list[str]:
    return [d["field"] for d in answer.json()["error"]["details"]]


async def contact_count(client: httpx.AsyncClient, ws: Workspace) -> int:
    answer = await client.post(f"{API}/objects/contact/records/count", json={}, headers=ws.auth)
    return int(ok(answer)["count"])


async def make_record(client: httpx.AsyncClient, ws: Workspace) -> str:
    answer = await client.post(
        f"{API}/objects/contact/records", json={"fields": {"first_name": "Ada"}}, headers=ws.auth
    )
    return str(ok(answer, 201)["id"])


async def make_note(client: httpx.AsyncClient, ws: Workspace, record: str) -> str:
    answer = await client.post(
        f"{API}/objects/contact/records/{record}/notes", json={"body": "hi"}, headers=ws.auth
    )
    return str(ok(answer, 201)["id"])


#: Every endpoint that takes a JSON body, with a body it accepts. ``{r}`` is a record,
#: ``{n}`` a note of it, ``{t}`` a company record, ``{p}`` the deal pipeline.
BODY_ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/objects", {"key": "gadget", "label": "Gadget"}),
    ("PATCH", "/objects/contact", {"label": "Person"}),
    ("POST", "/objects/contact/fields", {"key": "region", "label": "Region", "type": "text"}),
    ("PATCH", "/objects/contact/fields/city", {"label": "Town"}),
    ("POST", "/objects/contact/records", {"fields": {"first_name": "Ada"}}),
    ("PATCH", "/objects/contact/records/{r}", {"fields": {"first_name": "Grace"}}),
    ("POST", "/objects/contact/records/search", {"limit": 5}),
    ("POST", "/objects/contact/records/count", {"q": "ada"}),
    ("POST", "/objects/contact/records/bulk", {"records": [{"fields": {"first_name": "B"}}]}),
    (
        "PUT",
        "/objects/company/records/upsert",
        {"match": "tax_id", "fields": {"tax_id": "T", "name": "Acme"}},
    ),
    ("POST", "/objects/contact/records/{r}/notes", {"body": "A note"}),
    ("PATCH", "/objects/contact/records/{r}/notes/{n}", {"body": "Changed"}),
    ("PUT", "/objects/contact/records/{r}/links/companies/{t}", {"attributes": {"role": "CTO"}}),
    (
        "POST",
        "/pipelines",
        {"key": "funnel", "label": "F", "object": "lead", "stages": [{"name": "New"}]},
    ),
    ("PATCH", "/pipelines/{p}", {"label": "Sales"}),
    ("POST", "/users", {"email": "new@x.io", "name": "New"}),
    ("POST", "/api-keys", {"scopes": ["read:crm"]}),
]
ENDPOINT_IDS = [f"{m} {p}" for m, p, _ in BODY_ENDPOINTS]


@pytest.fixture
async def paths(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """Ids for the endpoints above: a record with a note, a company, the deal pipeline, and the
    fields they use."""
    record = await make_record(client, ws)
    note = await make_note(client, ws, record)
    company = await client.post(
        f"{API}/objects/company/records", json={"fields": {"name": "Acme"}}, headers=ws.auth
    )
    for obj, spec in [
        ("company", {"key": "tax_id", "label": "Tax id", "type": "text", "unique": True}),
        (
            "contact",
            {
                "key": "companies",
                "label": "Companies",
                "type": "relation",
                "options": {"object": "company", "multiple": True},
            },
        ),
    ]:
        ok(await client.post(f"{API}/objects/{obj}/fields", json=spec, headers=ws.auth), 201)
    deal = ok(await client.get(f"{API}/pipelines", params={"object": "deal"}, headers=ws.auth))
    [pipeline] = deal["data"]
    return {"r": record, "n": note, "t": str(ok(company, 201)["id"]), "p": str(pipeline["id"])}


@pytest.mark.parametrize(("method", "path", "body"), BODY_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_each_body_endpoint_accepts_its_good_body(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    """The bodies the bad-input tests start from are good ones, so 4xx below is the input's."""
    answer = await client.request(method, API + path.format(**paths), json=body, headers=ws.auth)
    assert answer.status_code in (200, 201), answer.text


# --- 400: malformed and missing bodies -----------------------------------------------------

MALFORMED = [
    b"{",
    b'{"fields": ',
    b"{'fields': {}}",
    b'{"fields": {},}',
    b'{"fields": {}} trailing',
    b"not json",
    b'{"fields": {"first_name": "unterminated}}',
    b"\xff\xfe\x00{",
    b'{"fields": {"first_name": "\xc3\x28"}}',
]


@pytest.mark.parametrize("raw", MALFORMED)
@pytest.mark.parametrize(("method", "path", "body"), BODY_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_malformed_json_is_400(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    raw: bytes,
) -> None:
    before = await contact_count(client, ws)
    answer = await client.request(
        method, API + path.format(**paths), content=raw, headers={**ws.auth, **JSON}
    )
    assert_error(answer, 400, "malformed_request")
    assert await contact_count(client, ws) == before


EMPTY = [(b"", True), (b"", False), (b"   ", True), (b"\n\t ", True)]


@pytest.mark.parametrize(
    ("content", "typed"), EMPTY, ids=["empty-json", "empty-untyped", "spaces", "whitespace"]
)
@pytest.mark.parametrize(("method", "path", "body"), BODY_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_empty_body_is_400(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    content: bytes,
    typed: bool,
) -> None:
    headers = {**ws.auth, **(JSON if typed else {})}
    answer = await client.request(
        method, API + path.format(**paths), content=content, headers=headers
    )
    assert_error(answer, 400, "malformed_request")


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"fields": ', None, 400),
        (b"   ", None, 400),
        (b'{"fields": {"first_name": "Ada"}}', None, 201),
        (b'{"fields": {"first_name": "Ada"}}', "text/plain", 415),
        (b'{"fields": {"first_name": "Ada"}}', "application/x-www-form-urlencoded", 415),
        (b"first_name=Ada", "application/x-www-form-urlencoded", 415),
        (b"<fields/>", "application/xml", 415),
    ],
)
async def test_a_body_that_is_not_declared_json_is_a_clean_4xx(
    client: httpx.AsyncClient,
    ws: Workspace,
    content: bytes,
    content_type: str | None,
    status: int,
) -> None:
    """Only JSON bodies are read as JSON; others get 415 in the error shape."""
    headers = {**ws.auth, **({"content-type": content_type} if content_type else {})}
    answer = await client.post(f"{API}/objects/contact/records", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    if status == 201:
        assert await contact_count(client, ws) == 1
        return
    assert_error(answer, answer.status_code, answer.json()["error"]["code"])
    assert await contact_count(client, ws) == 0


# --- 422: wrong types and unknown attributes ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/objects/contact/records", {"fields": ["first_name", "Ada"]}, "fields"),
        ("POST", "/objects/contact/records", {"fields": "Ada"}, "fields"),
        ("POST", "/objects/contact/records", {"fields": None}, "fields"),
        ("POST", "/objects/contact/records", {}, "fields"),
        ("POST", "/objects/contact/records", {"fields": {}, "owner_id": 7}, "owner_id"),
        ("PATCH", "/objects/contact/records/{r}", {"fields": [1, 2]}, "fields"),
        ("POST", "/objects/contact/records/search", {"limit": "ten"}, "limit"),
        ("POST", "/objects/contact/records/search", {"limit": [5]}, "limit"),
        ("POST", "/objects/contact/records/search", {"limit": 0}, "limit"),
        ("POST", "/objects/contact/records/search", {"limit": 501}, "limit"),
        ("POST", "/objects/contact/records/search", {"limit": 2.5}, "limit"),
        ("POST", "/objects/contact/records/search", {"offset": -1}, "offset"),
        ("POST", "/objects/contact/records/search", {"filter": "city = 'x'"}, "filter"),
        ("POST", "/objects/contact/records/search", {"filter": [1]}, "filter"),
        ("POST", "/objects/contact/records/search", {"sort": "city"}, "sort"),
        ("POST", "/objects/contact/records/search", {"archived": "sometimes"}, "archived"),
        ("POST", "/objects/contact/records/search", {"q": ["a"]}, "q"),
        ("POST", "/objects/contact/records/search", {"include_total": "perhaps"}, "include_total"),
        ("POST", "/objects/contact/records/count", {"filter": 5}, "filter"),
        ("POST", "/objects/contact/records/bulk", {"records": {"fields": {}}}, "records"),
        ("PUT", "/objects/company/records/upsert", {"match": ["tax_id"], "fields": {}}, "match"),
        ("POST", "/objects/contact/records/{r}/notes", {"body": 5}, "body"),
        ("POST", "/objects/contact/records/{r}/notes", {"body": "x", "kind": "fax"}, "kind"),
        (
            "POST",
            "/objects/contact/records/{r}/notes",
            {"body": "x", "occurred_at": 5},
            "occurred_at",
        ),
        ("POST", "/objects", {"key": "gadget", "label": "G", "fields": {"a": 1}}, "fields"),
        ("POST", "/objects", {"key": 5, "label": "G"}, "key"),
        (
            "POST",
            "/objects/contact/fields",
            {"key": "r", "label": "R", "type": "text", "required": "maybe"},
            "required",
        ),
        (
            "POST",
            "/objects/contact/fields",
            {"key": "r", "label": "R", "type": "text", "options": []},
            "options",
        ),
        (
            "POST",
            "/pipelines",
            {"key": "f", "label": "F", "object": "lead", "stages": {"name": "x"}},
            "stages",
        ),
        ("POST", "/users", {"email": ["a@x.io"], "name": "A"}, "email"),
        ("POST", "/api-keys", {"scopes": "read:crm"}, "scopes"),
        ("POST", "/api-keys", {"scopes": ["*"], "name": {"x": 1}}, "name"),
        (
            "PUT",
            "/objects/contact/records/{r}/links/companies/{t}",
            {"attributes": [1]},
            "attributes",
        ),
    ],
)
async def test_wrong_types_are_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await contact_count(client, ws)
    answer = await client.request(method, API + path.format(**paths), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert await contact_count(client, ws) == before


@pytest.mark.parametrize(
    ("path", "param", "value"),
    [
        ("/objects/contact/records", "limit", "ten"),
        ("/objects/contact/records", "limit", "0"),
        ("/objects/contact/records", "limit", "501"),
        ("/objects/contact/records", "limit", ""),
        ("/objects/contact/records", "offset", "-1"),
        ("/objects/contact/records", "offset", "1.5"),
        ("/objects/contact/records", "archived", "sometimes"),
        ("/objects/contact/records", "include_total", "perhaps"),
        ("/objects/contact/records", "sort", "nope"),
        ("/objects/contact/records", "cursor", "not-a-cursor"),
        ("/events", "after", "-1"),
        ("/events", "after", "soon"),
        ("/events", "limit", "1001"),
        ("/objects/contact/records/{r}/timeline", "limit", "201"),
        ("/objects/contact/records/{r}/timeline", "before", "yesterday"),
    ],
)
async def test_bad_query_parameters_are_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    path: str,
    param: str,
    value: str,
) -> None:
    answer = await client.get(API + path.format(**paths), params={param: value}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert any(f.split(".")[0].split("[")[0] == param for f in detail_fields(answer))


@pytest.mark.parametrize(("method", "path", "body"), BODY_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_unknown_body_attributes_are_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    before = await contact_count(client, ws)
    answer = await client.request(
        method, API + path.format(**paths), json={**body, "bogus": 1}, headers=ws.auth
    )
    error = assert_error(answer, 422, "validation_failed")
    assert {"field": "bogus", "code": "unknown"} in [
        {"field": d["field"], "code": d["code"]} for d in error["details"]
    ]
    assert await contact_count(client, ws) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/objects/contact/records", {"fields": {"bogus": 1}}, "bogus"),
        (
            "PATCH",
            "/objects/contact/records/{r}",
            {"fields": {"first_name": "A", "nope": 1}},
            "nope",
        ),
        (
            "POST",
            "/objects/contact/records/search",
            {"filter": {"field": "city", "value": "x", "extra": 1}},
            "filter",
        ),
        (
            "POST",
            "/objects/contact/records/search",
            {"sort": [{"field": "city", "way": "up"}]},
            "sort[0]",
        ),
        (
            "POST",
            "/pipelines",
            {"key": "f", "label": "F", "object": "lead", "stages": [{"name": "New", "bogus": 1}]},
            "stages.0.bogus",
        ),
        (
            "POST",
            "/objects",
            {
                "key": "gadget",
                "label": "G",
                "fields": [{"key": "a", "label": "A", "type": "text", "x": 1}],
            },
            "fields[0].x",
        ),
    ],
)
async def test_unknown_nested_attributes_are_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    paths: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    answer = await client.request(method, API + path.format(**paths), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)


# --- 413 ----------------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid record body of exactly ``size`` bytes (whitespace padding)."""
    core = b'{"fields": {"first_name": "Padded"}}'
    assert size >= len(core)
    return core[:-1] + b" " * (size - len(core)) + b"}"


async def chunks(data: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, ws: Workspace, chunked: bool
) -> None:
    data = padded(TEST_BODY_LIMIT + 1)
    content: Any = chunks(data) if chunked else data
    request = client.build_request(
        "POST", f"{API}/objects/contact/records", content=content, headers={**ws.auth, **JSON}
    )
    assert ("content-length" in request.headers) is not chunked
    answer = await client.send(request)
    error = assert_error(answer, 413, "payload_too_large")
    assert str(TEST_BODY_LIMIT) in error["message"]
    assert await contact_count(client, ws) == 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_at_the_limit_is_accepted(
    client: httpx.AsyncClient, ws: Workspace, chunked: bool
) -> None:
    data = padded(TEST_BODY_LIMIT)
    content: Any = chunks(data) if chunked else data
    answer = await client.post(
        f"{API}/objects/contact/records", content=content, headers={**ws.auth, **JSON}
    )
    assert ok(answer, 201)["fields"]["first_name"] == "Padded"
    assert await contact_count(client, ws) == 1


async def test_a_small_chunked_body_arrives_whole(client: httpx.AsyncClient, ws: Workspace) -> None:
    data = json.dumps({"fields": {"first_name": "Chunky", "city": "Zürich"}}).encode()
    answer = await client.post(
        f"{API}/objects/contact/records", content=chunks(data, 7), headers={**ws.auth, **JSON}
    )
    fields = ok(answer, 201)["fields"]
    assert (fields["first_name"], fields["city"]) == ("Chunky", "Zürich")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_413_comes_before_authentication(client: httpx.AsyncClient, chunked: bool) -> None:
    data = b"x" * (TEST_BODY_LIMIT * 2)
    content: Any = chunks(data) if chunked else data
    answer = await client.post(f"{API}/objects/contact/records", content=content, headers=JSON)
    assert_error(answer, 413, "payload_too_large")


# --- 404 and 405 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/api"),
        ("GET", "/api/v1"),
        ("GET", "/api/v1/"),
        ("GET", "/api/v1/nope"),
        ("GET", "/api/v2/objects"),
        ("POST", "/api/v1/records"),
        ("GET", "/api/v1/objects/contact/records/x/y/z"),
        ("GET", "/api/v1/objects/contact/records/x/unknown-action"),
        ("GET", "/admin"),
        ("GET", "/index.html"),
        ("GET", "/.env"),
        ("GET", "/api/v1/../../etc/passwd"),
    ],
)
@pytest.mark.parametrize("authenticated", [True, False], ids=["key", "no-key"])
async def test_unknown_routes_are_404_json(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str, authenticated: bool
) -> None:
    answer = await client.request(method, path, headers=ws.auth if authenticated else {})
    assert_error(answer, 404, "not_found")
    assert "<html" not in answer.text.lower()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/objects"),
        ("PUT", "/api/v1/objects"),
        ("PUT", "/api/v1/me"),
        ("POST", "/api/v1/me"),
        ("DELETE", "/api/v1/users"),
        ("GET", "/api/v1/api-keys"),
        ("PATCH", "/api/v1/events"),
        ("PUT", "/api/v1/objects/contact/records"),
        ("GET", "/api/v1/objects/contact/records/search"),
        ("GET", "/api/v1/objects/contact/records/count"),
        ("DELETE", "/api/v1/pipelines"),
        ("POST", "/healthz"),
    ],
)
@pytest.mark.parametrize("authenticated", [True, False], ids=["key", "no-key"])
async def test_wrong_methods_are_405_json(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str, authenticated: bool
) -> None:
    answer = await client.request(method, path, headers=ws.auth if authenticated else {})
    if path.endswith(("/search", "/count")):
        # GET .../records/search reads "search" as a record id of the GET route.
        assert answer.status_code in (404, 405, 401), answer.text
        assert answer.headers["content-type"].startswith("application/json")
        return
    assert_error(answer, 405, "method_not_allowed")
    assert "<html" not in answer.text.lower()


# --- odd inputs: never a 500 --------------------------------------------------------------

LONG = "x" * 10_000
SQL = "'; DROP TABLE records; --"
NUL = "a\x00b"
HUGE = 10**30


def cursor(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "city", "op": "eq", "value": "x"}
    for _ in range(depth):
        node = {"and": [node]}
    return node


#: (method, path, json body or raw bytes or None). ``{r}`` is a record of the workspace.
ODD: list[tuple[str, str, Any]] = [
    # unicode
    (
        "POST",
        "/objects/contact/records",
        {"fields": {"first_name": "Zoë 😀 \u202edrawkcab\u202c \u0301"}},
    ),
    ("POST", "/objects/contact/records", {"fields": {"first_name": "李小龍", "city": "東京"}}),
    ("POST", "/objects/contact/records", {"fields": {"first_name": "\u200b\ufeff"}}),
    ("POST", "/objects/contact/records", b'{"fields": {"first_name": "\\ud800"}}'),
    ("POST", "/objects/contact/records", {"fields": {"email": "zoë@exämple.com"}}),
    ("POST", "/objects/contact/records", {"fields": {"first_name": "x", "\u00e9": 1}}),
    ("GET", "/objects/contact/records?q=%F0%9F%98%80", None),
    ("GET", "/objects/contact/records?q=%ED%A0%80", None),
    ("GET", "/objects/contact/records/%ED%A0%80", None),
    ("GET", "/objects/contact/records?q=%FF%FE", None),
    ("GET", "/objects/%F0%9F%98%80/records", None),
    ("GET", "/objects/contact/records/%F0%9F%98%80", None),
    ("POST", "/objects", {"key": "ünicode", "label": "Ü"}),
    ("POST", "/objects", {"key": "emoji_obj", "label": "😀 \u202e \u0301"}),
    ("POST", "/users", {"email": "zoë@exämple.com", "name": "Zoë"}),
    # NUL bytes
    ("POST", "/objects/contact/records", {"fields": {"first_name": NUL}}),
    ("POST", "/objects/contact/records", {"fields": {"email": "a\x00@b.io"}}),
    ("POST", "/objects/contact/records", {"fields": {"first_name\x00": "x"}}),
    ("PATCH", "/objects/contact/records/{r}", {"fields": {"city": NUL}}),
    ("POST", "/objects/contact/records/{r}/notes", {"body": NUL}),
    ("POST", "/objects/contact/records/search", {"q": NUL}),
    ("POST", "/objects/contact/records/count", {"q": NUL}),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"field": "city", "op": "contains", "value": NUL}},
    ),
    ("POST", "/objects/contact/records/search", {"filter": {"field": "city", "value": NUL}}),
    ("GET", "/objects/contact/records?q=a%00b", None),
    ("GET", "/objects/contact/records/a%00b", None),
    ("GET", "/objects/con%00tact/records", None),
    ("POST", "/objects", {"key": "nul_obj", "label": NUL}),
    ("POST", "/objects/contact/fields", {"key": "nul_f", "label": NUL, "type": "text"}),
    ("POST", "/pipelines", {"key": "p", "label": "P", "object": "lead", "stages": [{"name": NUL}]}),
    ("POST", "/users", {"email": "n\x00@b.io", "name": "x"}),
    ("POST", "/users", {"email": "n@b.io", "name": NUL}),
    ("POST", "/api-keys", {"name": NUL, "scopes": ["*"]}),
    ("PUT", "/objects/contact/records/upsert", {"match": "email", "fields": {"email": NUL}}),
    ("POST", "/objects/contact/records/bulk", {"records": [{"fields": {"first_name": NUL}}]}),
    # huge and odd numbers
    ("POST", "/objects/company/records", {"fields": {"name": "a", "employees": 10**400}}),
    ("POST", "/objects/company/records", {"fields": {"name": "a", "employees": 2**64}}),
    ("POST", "/objects/company/records", {"fields": {"name": "a", "employees": -(2**64)}}),
    ("POST", "/objects/company/records", {"fields": {"name": "a", "employees": 2**63}}),
    ("POST", "/objects/company/records", {"fields": {"name": "a", "annual_revenue": 1e308}}),
    ("POST", "/objects/company/records", {"fields": {"name": "a", "annual_revenue": 5e-324}}),
    ("POST", "/objects/company/records", b'{"fields": {"name": "a", "employees": 1e400}}'),
    ("POST", "/objects/company/records", b'{"fields": {"name": "a", "employees": NaN}}'),
    ("POST", "/objects/company/records", b'{"fields": {"name": "a", "employees": -Infinity}}'),
    ("POST", "/objects/deal/records", {"fields": {"name": "d", "amount": HUGE}}),
    ("POST", "/objects/deal/records", {"fields": {"name": "d", "probability": HUGE}}),
    ("POST", "/objects/deal/records", {"fields": {"name": "d", "close_date": HUGE}}),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"field": "id", "op": "eq", "value": HUGE}},
    ),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"field": "id", "op": "in", "value": [HUGE, -HUGE]}},
    ),
    (
        "POST",
        "/objects/company/records/search",
        {"filter": {"field": "employees", "op": "gt", "value": HUGE}},
    ),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"field": "created_at", "op": "gt", "value": HUGE}},
    ),
    ("POST", "/objects/contact/records/search", {"offset": 10**20}),
    ("POST", "/objects/contact/records/search", {"limit": HUGE}),
    ("GET", "/objects/contact/records?offset=100000000000000000000", None),
    ("GET", "/objects/contact/records?limit=100000000000000000000", None),
    ("GET", "/objects/contact/records/{r}/timeline?before=100000000000000000000", None),
    ("GET", "/objects/contact/records/{r}/timeline?before=-100000000000000000000", None),
    ("GET", "/events?after=100000000000000000000", None),
    ("GET", "/events?limit=100000000000000000000", None),
    ("GET", "/objects/contact/records/99999999999999999", None),
    ("GET", "/objects/contact/records/9999999999999999999999999", None),
    ("GET", "/objects/contact/records/-1", None),
    ("GET", "/objects/contact/records/\u00b2", None),
    ("GET", "/objects/contact/records/\u0661\u0662", None),
    (
        "POST",
        "/objects/contact/fields",
        {"key": "big_default", "label": "B", "type": "number", "default": HUGE},
    ),
    (
        "POST",
        "/objects/contact/fields",
        {"key": "big_pos", "label": "B", "type": "text", "position": HUGE},
    ),
    (
        "POST",
        "/pipelines",
        {
            "key": "p",
            "label": "P",
            "object": "lead",
            "stages": [{"name": "a", "probability": HUGE}],
        },
    ),
    ("PUT", "/objects/contact/records/{r}/links/companies/{r}", {"attributes": {"n": HUGE}}),
    # deeply nested filters
    ("POST", "/objects/contact/records/search", {"filter": nested(9)}),
    ("POST", "/objects/contact/records/search", {"filter": nested(100)}),
    ("POST", "/objects/contact/records/count", {"filter": nested(100)}),
    (
        "POST",
        "/objects/contact/records/search",
        b'{"filter": ' + b'{"and": [' * 5000 + b"{}" + b"]}" * 5000 + b"}",
    ),
    ("POST", "/objects/contact/records/search", b"[" * 100_000 + b"]" * 100_000),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"or": [{"field": "city", "value": str(i)} for i in range(101)]}},
    ),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"field": "city", "op": "in", "value": ["x"] * 1001}},
    ),
    ("POST", "/objects/contact/records/search", {"filter": {"field": {"field": "city"}}}),
    (
        "POST",
        "/objects/contact/records/search",
        {"filter": {"field": "city", "value": {"$gt": ""}}},
    ),
    ("POST", "/objects/contact/records/search", {"filter": {"and": []}}),
    ("POST", "/objects/contact/records/search", {"filter": {"and": [], "or": []}}),
    (
        "POST",
        "/objects/contact/fields",
        {"key": "deep", "label": "D", "type": "text", "default": nested(200)},
    ),
    ("POST", "/objects/contact/records", {"fields": {"first_name": nested(200)}}),
    # 10,000-character strings
    ("POST", "/objects/contact/records", {"fields": {"first_name": LONG}}),
    ("POST", "/objects/contact/records", {"fields": {LONG: "x"}}),
    ("POST", "/objects/contact/records", {"fields": {"email": LONG + "@x.io"}}),
    ("POST", "/objects/contact/records", {"fields": {"first_name": "x"}, "owner_id": LONG}),
    ("POST", "/objects/contact/records/search", {"q": LONG}),
    ("POST", "/objects/contact/records/search", {"cursor": LONG}),
    ("POST", "/objects/contact/records/search", {"filter": {"field": "first_name", "value": LONG}}),
    ("POST", "/objects/contact/records/search", {"filter": {"field": LONG, "value": "x"}}),
    ("POST", "/objects/contact/records/search", {"sort": [{"field": LONG}]}),
    ("GET", f"/objects/contact/records?q={LONG}", None),
    ("GET", f"/objects/contact/records?sort={LONG}", None),
    ("GET", f"/objects/contact/records?cursor={LONG}", None),
    ("GET", f"/objects/contact/records/{LONG}", None),
    ("GET", f"/objects/{LONG}/records", None),
    ("GET", f"/objects/{LONG}", None),
    ("GET", f"/objects/contact/fields/{LONG}", None),
    ("GET", f"/pipelines/{LONG}", None),
    ("DELETE", f"/api-keys/{LONG}", None),
    ("PATCH", "/objects/contact/records/{r}/notes/" + LONG, {"body": "x"}),
    ("POST", "/objects", {"key": LONG, "label": "Long"}),
    ("POST", "/objects", {"key": "long_label", "label": LONG}),
    (
        "POST",
        "/objects/contact/fields",
        {"key": "s", "label": "S", "type": "select", "options": {"choices": [LONG]}},
    ),
    ("POST", "/objects/contact/records/{r}/notes", {"body": LONG}),
    ("POST", "/objects/contact/records/{r}/notes", {"body": "x", "kind": LONG}),
    (
        "POST",
        "/pipelines",
        {"key": "p", "label": LONG, "object": "lead", "stages": [{"name": "a"}]},
    ),
    (
        "POST",
        "/pipelines",
        {"key": "p", "label": "P", "object": "lead", "stages": [{"name": "a", "color": LONG}]},
    ),
    ("POST", "/users", {"email": "long@x.io", "name": LONG}),
    ("POST", "/users", {"email": LONG + "@x.io", "name": "L"}),
    ("POST", "/api-keys", {"name": LONG, "scopes": ["*"]}),
    ("POST", "/api-keys", {"scopes": [LONG]}),
    ("PUT", "/objects/contact/records/upsert", {"match": LONG, "fields": {}}),
    # SQL text
    ("POST", "/objects/contact/records", {"fields": {"first_name": SQL, "city": SQL}}),
    ("POST", "/objects/contact/records", {"fields": {SQL: "x"}}),
    ("POST", "/objects/contact/records", {"fields": {"email": SQL}}),
    ("POST", "/objects/contact/records/search", {"q": SQL}),
    ("POST", "/objects/contact/records/search", {"q": "%_\\%"}),
    ("POST", "/objects/contact/records/search", {"filter": {"field": "city", "value": SQL}}),
    ("POST", "/objects/contact/records/search", {"filter": {"field": SQL, "value": "x"}}),
    ("POST", "/objects/contact/records/search", {"filter": {"field": "city", "op": SQL}}),
    ("POST", "/objects/contact/records/search", {"sort": [{"field": "city", "direction": SQL}]}),
    ("GET", "/objects/contact/records?sort=" + SQL, None),
    ("GET", "/objects/contact/records?q=" + SQL, None),
    ("GET", "/objects/contact/records/1%20OR%201=1", None),
    ("GET", "/objects/contact%27%20OR%20%271%27=%271/records", None),
    ("GET", "/pipelines?object=" + SQL, None),
    ("POST", "/objects", {"key": "x; drop table records", "label": SQL}),
    ("POST", "/objects/contact/fields", {"key": "f'--", "label": SQL, "type": "text"}),
    ("POST", "/users", {"email": SQL, "name": SQL}),
    ("PUT", "/objects/contact/records/upsert", {"match": SQL, "fields": {SQL: SQL}}),
    # forged cursors
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id", "v": ["abc"]}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id", "v": [{"a": 1}]}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id", "v": [HUGE]}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id", "v": [True]}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id", "v": [1.5]}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id", "v": [None]}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor({"s": "-id"}), None),
    ("GET", "/objects/contact/records?cursor=" + cursor([1, 2]), None),
    (
        "GET",
        "/objects/contact/records?sort=created_at&cursor="
        + cursor({"s": "created_at,id", "v": ["garbage", 1]}),
        None,
    ),
    (
        "GET",
        "/objects/contact/records?sort=created_at&cursor="
        + cursor({"s": "created_at,id", "v": [5, 1]}),
        None,
    ),
    (
        "GET",
        "/objects/contact/records?sort=created_at&cursor="
        + cursor({"s": "created_at,id", "v": ["2024-01-01T00:00:00", 1]}),
        None,
    ),
    (
        "GET",
        "/objects/contact/records?sort=city&cursor=" + cursor({"s": "city,id", "v": [NUL, 1]}),
        None,
    ),
    (
        "GET",
        "/objects/contact/records?sort=city&cursor=" + cursor({"s": "city,id", "v": [[1], 1]}),
        None,
    ),
    (
        "GET",
        "/objects/contact/records?sort=city&cursor=" + cursor({"s": "city,id", "v": [HUGE, 1]}),
        None,
    ),
    (
        "GET",
        "/objects/contact/records?sort=owner_id&cursor="
        + cursor({"s": "owner_id,id", "v": ["someone", 1]}),
        None,
    ),
    (
        "POST",
        "/objects/contact/records/search",
        {"cursor": cursor({"s": "-id", "v": ["abc"]}), "limit": 1},
    ),
    ("POST", "/objects/contact/records/search", {"cursor": "!!!"}),
    ("POST", "/objects/contact/records/search", {"cursor": ""}),
    ("POST", "/objects/contact/records/search", {"cursor": "e30", "offset": 1}),
]


#: Field definitions whose values would overflow PostgreSQL columns (``fields.group`` is
#: 100 characters, ``fields.position`` 32 bits): refused with 422 on both databases.
FIELD_OVERFLOWS = [
    ("POST", "/objects/contact/fields", {"key": "g", "label": "G", "type": "text", "group": LONG}),
    (
        "POST",
        "/objects/contact/fields",
        {"key": "p", "label": "P", "type": "text", "position": 2**40},
    ),
    ("PATCH", "/objects/contact/fields/city", {"position": 2**40}),
    (
        "POST",
        "/objects",
        {
            "key": "gadget",
            "label": "G",
            "fields": [{"key": "a", "label": "A", "type": "text", "group": LONG}],
        },
    ),
]


def odd_id(case: tuple[str, str, Any]) -> str:
    method, path, _ = case
    return f"{method} {path[:60]}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [pytest.param(*c, id=odd_id(c)) for c in ODD]
    + [pytest.param(*c, id=f"overflow-{i}") for i, c in enumerate(FIELD_OVERFLOWS)],
)
async def test_odd_input_never_gives_a_500(
    client: httpx.AsyncClient,
    ws: Workspace,
    method: str,
    path: str,
    body: Any,
) -> None:
    record = await make_record(client, ws)
    url = API + path.replace("{r}", record)
    if isinstance(body, bytes):
        answer = await client.request(method, url, content=body, headers={**ws.auth, **JSON})
    elif body is None:
        answer = await client.request(method, url, headers=ws.auth)
    else:
        answer = await client.request(method, url, json=body, headers=ws.auth)
    assert answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    if answer.status_code >= 400:
        assert_error(answer, answer.status_code, answer.json()["error"]["code"])
    # The workspace still works, and the record is intact.
    again = ok(await client.get(f"{API}/objects/contact/records/{record}", headers=ws.auth))
    assert again["fields"]["first_name"] in ("Ada", None) or method == "PATCH"
    listed = ok(await client.get(f"{API}/objects/contact/records", headers=ws.auth))
    assert record in [r["id"] for r in listed["data"]]


async def test_nul_bytes_are_refused_alike_on_both_databases(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{API}/objects/contact/records", json={"fields": {"first_name": NUL}}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert await contact_count(client, ws) == 0


@pytest.mark.parametrize(
    "value",
    [
        "Zoë 😀",
        "李小龍",
        "\u202edrawkcab\u202c",
        "e\u0301",
        "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
        "'; DROP TABLE records; --",
        "%_\\",
    ],
)
async def test_unicode_and_sql_text_round_trip_and_are_found(
    client: httpx.AsyncClient, ws: Workspace, value: str
) -> None:
    made = ok(
        await client.post(
            f"{API}/objects/contact/records",
            json={"fields": {"first_name": value, "city": value}},
            headers=ws.auth,
        ),
        201,
    )
    again = ok(await client.get(f"{API}/objects/contact/records/{made['id']}", headers=ws.auth))
    assert again["fields"]["first_name"] == value
    assert again["display_name"] == value
    for body in ({"q": value}, {"filter": {"field": "city", "op": "eq", "value": value}}):
        found = ok(
            await client.post(f"{API}/objects/contact/records/search", json=body, headers=ws.auth)
        )
        assert [r["id"] for r in found["data"]] == [made["id"]], body
    other = ok(
        await client.post(
            f"{API}/objects/contact/records/search", json={"q": "no such thing"}, headers=ws.auth
        )
    )
    assert other["data"] == []


async def test_large_integers_within_range_round_trip(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    big = 2**53 + 1
    made = ok(
        await client.post(
            f"{API}/objects/company/records",
            json={"fields": {"name": "Big", "employees": big}},
            headers=ws.auth,
        ),
        201,
    )
    assert made["fields"]["employees"] == big
    found = ok(
        await client.post(
            f"{API}/objects/company/records/search",
            json={"filter": {"field": "employees", "op": "gte", "value": big}},
            headers=ws.auth,
        )
    )
    assert [r["id"] for r in found["data"]] == [made["id"]]


@pytest.mark.parametrize("value", [2**64, -(2**64), 10**400])
async def test_integers_beyond_64_bits_are_422(
    client: httpx.AsyncClient, ws: Workspace, value: int
) -> None:
    answer = await client.post(
        f"{API}/objects/company/records",
        json={"fields": {"name": "Big", "employees": value}},
        headers=ws.auth,
    )
    assert_error(answer, 422, "validation_failed")
