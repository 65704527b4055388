"""Hostile input is a 422 naming the field on every face and both databases, never a 500,
and no request may ask for more work than the bounds allow.

Each case once answered 500 on one database or the other: free-form JSON nested past the
JSON encoder's 254 levels, ``contains``/``starts``/``ends`` values past SQLite's LIKE
pattern limit, NUL characters that PostgreSQL refuses. The bounds are one definition in
``crm.core.limits``, so every face refuses the same input.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.core.limits import (
    MAX_ATTACHED_PER_REQUEST,
    MAX_FILTER_TEXT,
    MAX_IDENTITIES_PER_ITEM,
    MAX_JSON_DEPTH,
    MAX_NEW_TAGS,
    MAX_NOTES_PER_ITEM,
    MAX_TAGS_PER_ITEM,
)
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


# --- how much one request may create ------------------------------------------------------


def single(face: str, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The path and body of one intake of ``values`` on ``face``."""
    if face == "native":
        return f"{API}/objects/lead/intake", values
    return f"{LF}/intake", {"entity": "lead", **values}


def bulk(face: str, items: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The path and body of a bulk intake of ``items`` on ``face``."""
    if face == "native":
        return f"{API}/objects/lead/intake/bulk", {"items": items}
    return f"{LF}/leads/bulk", {"entity": "lead", "batch": items}


async def lead_count(client: httpx.AsyncClient, ws: Workspace) -> int:
    answer = await client.post(f"{API}/objects/lead/records/count", json={}, headers=ws.auth)
    return int(answer.json()["count"])


async def tag_count(client: httpx.AsyncClient, ws: Workspace) -> int:
    return len((await client.get(f"{API}/tags", headers=ws.auth)).json()["data"])


def many(key: str, count: int) -> dict[str, Any]:
    return {"email": "m@x.io", key: [f"{key[:3]}{n}" for n in range(count)]}


#: A record's values just past a per-record bound, and the field the 422 names.
PER_RECORD = [
    (many("tags", MAX_TAGS_PER_ITEM + 1), "tags"),
    (many("notes", MAX_NOTES_PER_ITEM + 1), "notes"),
    (many("telegram", MAX_IDENTITIES_PER_ITEM + 1), "telegram"),
]


@pytest.mark.parametrize("face", ["native", "leadflip"])
@pytest.mark.parametrize(("values", "field"), PER_RECORD, ids=[f for _, f in PER_RECORD])
async def test_a_record_past_a_bound_is_refused(
    client: httpx.AsyncClient, ws: Workspace, face: str, values: dict[str, Any], field: str
) -> None:
    path, body = single(face, values)
    assert field in named_fields(await client.post(path, json=body, headers=ws.auth))
    path, body = bulk(face, [values])
    answer = await client.post(path, json=body, headers=ws.auth)
    assert answer.status_code == 200, answer.text  # in a batch, the item fails alone
    assert field in answer.text
    assert (await lead_count(client, ws), await tag_count(client, ws)) == (0, 0)


@pytest.mark.parametrize("face", ["native", "leadflip"])
async def test_a_record_at_the_bounds_is_taken_in(
    client: httpx.AsyncClient, ws: Workspace, face: str
) -> None:
    values = {
        **many("tags", MAX_TAGS_PER_ITEM),
        **many("notes", MAX_NOTES_PER_ITEM),
        **many("telegram", MAX_IDENTITIES_PER_ITEM),
    }
    path, body = single(face, values)
    answer = await client.post(path, json=body, headers=ws.auth)
    assert answer.status_code in (200, 201), answer.text
    assert (await lead_count(client, ws), await tag_count(client, ws)) == (1, MAX_TAGS_PER_ITEM)


def new_tags(count: int) -> list[dict[str, Any]]:
    """Leads that together name ``count`` new tags, a per-record bound's worth each."""
    names = [f"new {n}" for n in range(count)]
    step = MAX_TAGS_PER_ITEM
    return [{"email": f"n{i}@x.io", "tags": names[i : i + step]} for i in range(0, count, step)]


def attached(key: str) -> list[dict[str, Any]]:
    """Leads that together attach one more than a request may, at a per-record bound."""
    per = {"tags": MAX_TAGS_PER_ITEM, "notes": MAX_NOTES_PER_ITEM}[key]
    leads = MAX_ATTACHED_PER_REQUEST // per + 1
    return [
        {"email": f"a{i}@x.io", key: [f"{key[:3]}{n}" for n in range(per)]} for i in range(leads)
    ]


#: Batches past a per-request bound, and the field the 422 names.
PER_REQUEST = [
    (new_tags(MAX_NEW_TAGS + 1), "tags"),
    (attached("tags"), "tags"),
    (attached("notes"), "notes"),
]


@pytest.mark.parametrize("face", ["native", "leadflip"])
@pytest.mark.parametrize(("items", "field"), PER_REQUEST, ids=["new tags", "tags", "notes"])
async def test_a_batch_past_a_request_bound_is_refused_whole(
    client: httpx.AsyncClient, ws: Workspace, face: str, items: list[dict[str, Any]], field: str
) -> None:
    path, body = bulk(face, items)
    assert named_fields(await client.post(path, json=body, headers=ws.auth)) == [field]
    assert (await lead_count(client, ws), await tag_count(client, ws)) == (0, 0)


async def test_a_batch_at_the_new_tag_bound_creates_them(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    path, body = bulk("native", new_tags(MAX_NEW_TAGS))
    assert (await client.post(path, json=body, headers=ws.auth)).status_code == 200
    assert await tag_count(client, ws) == MAX_NEW_TAGS
