"""Hostile input is a 422 naming the field on every face and both databases, never a 500.

Each case once answered 500 on one database or the other: free-form JSON nested past the
JSON encoder's 254 levels, ``contains``/``starts``/``ends`` values past SQLite's LIKE
pattern limit, NUL characters that PostgreSQL refuses. The bounds are one definition in
``crm.core.limits``, so every face refuses the same input.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.core.limits import MAX_FILTER_TEXT, MAX_JSON_DEPTH
from tests.api.flownally.conftest import FN
from tests.conftest import Workspace

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"
LF = "/leadflip/api"
NUL = "a\u0000b"


def nested(levels: int) -> Any:
    """A value ``levels`` objects deep."""
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


DEEP = nested(300)

#: method, path (``{r}`` a native contact, ``{c}`` the same as Flownally names it),
#: body, the field the 422 names.
Case = tuple[str, str, dict[str, Any], str]
CASES: list[Case] = [
    # JSON nested deeper than the encoder goes, on every intake path and in metadata.
    ("POST", f"{API}/objects/contact/intake", {"email": "d@x.io", "zz": DEEP}, "zz"),
    ("POST", f"{API}/objects/contact/intake/bulk", {"items": [{"zz": DEEP}]}, "items[0].zz"),
    ("POST", f"{LF}/intake", {"entity": "lead", "email": "d@x.io", "zz": DEEP}, "zz"),
    ("POST", f"{LF}/leads/bulk", {"entity": "lead", "batch": [{"zz": DEEP}]}, "batch[0].zz"),
    ("POST", f"{FN}/contacts", {"name": "A", "customFields": {"zz": DEEP}}, "customFields.zz"),
    ("PATCH", f"{FN}/contacts/{{c}}", {"customFields": {"zz": DEEP}}, "customFields.zz"),
    (
        "POST",
        f"{CONTACTS}/{{r}}/identities",
        {"channel": "email", "address": "q@x.io", "metadata": {"z": DEEP}},
        "metadata.z",
    ),
    # Text filters past SQLite's LIKE pattern limit.
    *(
        (
            "POST",
            f"{CONTACTS}/search",
            {"filter": {"field": "first_name", "op": op, "value": "%" * 50_000}},
            "filter.value",
        )
        for op in ("contains", "starts", "ends")
    ),
    # NUL characters, which PostgreSQL refuses in text and JSON.
    ("POST", f"{FN}/contacts", {"name": NUL}, "name"),
    ("POST", f"{FN}/contacts", {"name": "A", "phone": NUL}, "phone"),
    ("PATCH", f"{FN}/contacts/{{c}}", {"name": NUL}, "name"),
    ("PUT", f"{FN}/contacts/{{c}}/custom-fields/cf_title", {"value": NUL}, "value"),
    ("POST", f"{FN}/tags", {"name": NUL}, "name"),
    ("POST", f"{FN}/contacts/custom-fields", {"name": NUL, "type": "text"}, "name"),
    (
        "POST",
        f"{LF}/intake",
        {"entity": "lead", "email": "d@x.io", "first_name": NUL},
        "first_name",
    ),
    ("POST", f"{API}/objects/contact/intake", {"email": "d@x.io", "city": NUL}, "city"),
    ("POST", CONTACTS, {"fields": {"first_name": NUL}}, "fields.first_name"),
    ("PATCH", f"{CONTACTS}/{{r}}", {"fields": {"first_name": NUL}}, "fields.first_name"),
    ("POST", f"{CONTACTS}/{{r}}/notes", {"body": NUL}, "body"),
    ("POST", f"{CONTACTS}/{{r}}/identities", {"channel": "email", "address": NUL}, "address"),
    ("POST", f"{API}/tags", {"name": NUL}, "name"),
    ("POST", f"{API}/objects/contact/fields", {"key": "zz", "label": NUL, "type": "text"}, "label"),
    ("POST", f"{CONTACTS}/search", {"q": NUL}, "q"),
]


def named_fields(answer: httpx.Response) -> list[str]:
    """The fields a 422 names, in whichever face's shape it comes."""
    assert answer.status_code == 422, answer.text
    body = answer.json()
    if "errors" in body:  # Leadflip: {"status", "message", "errors": {field: [...]}}
        return list(body["errors"])
    return [d["field"] for d in body["error"]["details"]]


@pytest.fixture
async def ids(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """A contact as the native API (``r``) and Flownally (``c``) name it."""
    made = await client.post(f"{FN}/contacts", json={"name": "Ada Lovelace"}, headers=ws.auth)
    assert made.status_code == 201, made.text
    found = await client.post(f"{CONTACTS}/search", json={}, headers=ws.auth)
    return {"c": made.json()["id"], "r": found.json()["data"][0]["id"]}


@pytest.mark.parametrize("case", CASES, ids=[f"{m} {p} {f}" for m, p, _, f in CASES])
async def test_hostile_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, ws: Workspace, ids: dict[str, str], case: Case
) -> None:
    method, path, body, field = case
    answer = await client.request(method, path.format(**ids), json=body, headers=ws.auth)
    named = named_fields(answer)
    assert any(f == field or f.startswith(f"{field}.") for f in named), named


async def test_the_nesting_bound_is_exact(client: httpx.AsyncClient, ws: Workspace) -> None:
    url = f"{API}/objects/contact/intake"
    deepest = nested(MAX_JSON_DEPTH - 1)  # the body is the first level
    fits = await client.post(url, json={"email": "d@x.io", "deep": deepest}, headers=ws.auth)
    assert fits.status_code == 201, fits.text
    assert fits.json()["unmapped"] == {"deep": deepest}
    over = await client.post(url, json={"deep": nested(MAX_JSON_DEPTH)}, headers=ws.auth)
    assert named_fields(over)[0].startswith("deep.")


@pytest.mark.parametrize("op", ["contains", "starts", "ends"])
async def test_the_filter_text_bound_is_exact(
    client: httpx.AsyncClient, ws: Workspace, op: str
) -> None:
    made = await client.post(CONTACTS, json={"fields": {"first_name": "é" * 600}}, headers=ws.auth)
    assert made.status_code == 201, made.text
    search = f"{CONTACTS}/search"
    fits = {"filter": {"field": "first_name", "op": op, "value": "é" * MAX_FILTER_TEXT}}
    assert (await client.post(search, json=fits, headers=ws.auth)).json()["data"] == []
    half = {"filter": {"field": "first_name", "op": op, "value": "é" * 500}}
    assert [
        r["id"] for r in (await client.post(search, json=half, headers=ws.auth)).json()["data"]
    ] == [made.json()["id"]]
    over = {"filter": {"field": "first_name", "op": op, "value": "é" * (MAX_FILTER_TEXT + 1)}}
    assert named_fields(await client.post(search, json=over, headers=ws.auth)) == ["filter.value"]
