"""The filter language against a plain-Python reading of the same filter over the same data.

A fixed set of contacts (a number, a text, a date, a select and a multi-select field, with
values missing here and there) is stored once per test; Hypothesis then draws filters,
nested and/or groups up to three deep with every operator and values from the data's own
domain, and the ids that ``POST .../records/search`` answers must be exactly those the
evaluator below selects. The evaluator is written from the documented semantics: a missing
value matches ``neq`` and ``empty`` and nothing else; ``contains``/``starts``/``ends``
ignore case; select values match their option in any case; on a multi-select ``contains``
and ``in`` test membership.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Workspace

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"
STATUSES = ["New", "Contacted", "Qualified", "Nurture", "Customer", "Unqualified"]
TAGS = ["Red", "Green", "Blue"]
FIELDS = ("city", "score", "since", "status", "tags")

#: (city, score, since, status, tags); None is a missing value.
ROWS: list[tuple[Any, ...]] = [
    ("Austin", 3, "2024-01-15", "New", ["Red"]),
    ("austin", -2, "2023-12-31", "Qualified", ["Red", "Blue"]),
    ("AUSTIN Heights", 0, None, "Customer", None),
    ("Boston", 7.5, "2024-02-29", None, ["Green"]),
    (None, 10, "2024-01-15", "Unqualified", ["Blue"]),
    ("new_york", None, "2022-06-01", "Nurture", None),
    ("100% Pure", 3, "2025-03-10", "New", ["Green", "Red"]),
    ("Zürich", 100, None, "Contacted", ["Blue"]),
    ("zürich", -0.5, "2023-12-31", None, None),
    ("SÃO PAULO", None, None, None, None),
    (None, None, None, None, None),
    ("42", 42, "2024-01-15", "Qualified", ["Red", "Green", "Blue"]),
    ("New York", 7.5, "2024-02-28", "Customer", ["Green"]),
    ("évora", 10, "2021-01-01", "Contacted", ["Red"]),
]
CITIES = sorted({r[0] for r in ROWS if r[0] is not None})
SCORES = sorted({r[1] for r in ROWS if r[1] is not None})
DATES = sorted({r[2] for r in ROWS if r[2] is not None})

ORDERED = ("eq", "neq", "lt", "lte", "gt", "gte")
TEXT_OPS = ("contains", "starts", "ends")
#: Collations under which text compares by code point, as SQLite and Python do.
BYTEWISE = {"c", "posix", "c.utf-8", "c.utf8", "ucs_basic"}


# --- the data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    ws: Workspace
    #: Stored values by record id (missing fields absent), in creation order.
    rows: dict[str, dict[str, Any]]
    #: Each record's created_at as the API shows it.
    created: dict[str, str]
    #: Whether the database orders text by code point (else text order is the collation's).
    bytewise_text: bool


def _fields(row: tuple[Any, ...], i: int) -> dict[str, Any]:
    values = dict(zip(FIELDS, row, strict=True))
    return {"first_name": f"R{i}", **{k: v for k, v in values.items() if v is not None}}


async def _add_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    for spec in (
        {"key": "score", "label": "Score", "type": "number"},
        {"key": "since", "label": "Since", "type": "date"},
        {"key": "tags", "label": "Tags", "type": "multi_select", "options": {"choices": TAGS}},
    ):
        answer = await client.post(f"{API}/objects/contact/fields", json=spec, headers=ws.auth)
        assert answer.status_code == 201, answer.text


async def _bulk(client: httpx.AsyncClient, ws: Workspace, items: list[dict[str, Any]]) -> list[str]:
    answer = await client.post(
        f"{CONTACTS}/bulk", json={"records": [{"fields": f} for f in items]}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["failed"] == 0, answer.text
    return [d["record"]["id"] for d in answer.json()["data"]]


async def _bytewise(engine: AsyncEngine, dialect: str) -> bool:
    if dialect != "postgresql":
        return True
    async with engine.connect() as conn:
        collation = (
            await conn.execute(
                sa.text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            )
        ).scalar_one()
    return str(collation).lower() in BYTEWISE


@pytest.fixture
async def dataset(
    client: httpx.AsyncClient,
    ws: Workspace,
    other_ws: Workspace,
    engine: AsyncEngine,
    dialect: str,
) -> Dataset:
    """The contacts of ``ROWS`` in ``ws``; look-alikes that must never match elsewhere."""
    await _add_fields(client, ws)
    await _add_fields(client, other_ws)
    items = [_fields(row, i) for i, row in enumerate(ROWS)]
    made = await _bulk(client, ws, items)
    # Look-alikes that no search of ``ws`` may return: a deleted record, another
    # workspace's records.
    (deleted,) = await _bulk(client, ws, [_fields(ROWS[0], 99)])
    assert (await client.delete(f"{CONTACTS}/{deleted}", headers=ws.auth)).status_code == 204
    await _bulk(client, other_ws, items[:4])

    rows, created = {}, {}
    for record_id, fields in zip(made, items, strict=True):
        answer = await client.get(f"{CONTACTS}/{record_id}", headers=ws.auth)
        stored = {k: v for k, v in answer.json()["fields"].items() if k in FIELDS}
        wanted = {k: v for k, v in fields.items() if k in FIELDS}
        # The data is given in stored form, so the evaluator reads what the server keeps.
        assert {k: v for k, v in stored.items() if v is not None} == wanted
        rows[record_id] = wanted
        created[record_id] = answer.json()["created_at"]
    return Dataset(ws, rows, created, await _bytewise(engine, dialect))


# --- the evaluator ------------------------------------------------------------------------


def _choice(value: str, choices: list[str]) -> str:
    return next(c for c in choices if c.casefold() == value.strip().casefold())


def canonical(field: str, value: Any) -> Any:
    """A filter value as the field stores it (the inputs drawn below all parse)."""
    if field == "city":
        return str(value)
    if field == "score":
        return float(value) if isinstance(value, str) else value
    if field == "status":
        return _choice(value, STATUSES)
    if field == "tags":
        return _choice(value, TAGS)
    return value


def holds(row: dict[str, Any], cond: dict[str, Any]) -> bool:
    field, op = cond["field"], cond["op"]
    have = row.get(field)
    if op == "empty":
        return have is None
    if op == "not_empty":
        return have is not None
    value = cond["value"]
    if field == "tags":
        if have is None:
            return False
        wanted = [canonical(field, v) for v in (value if op == "in" else [value])]
        return any(w in have for w in wanted)
    if op in TEXT_OPS:
        if have is None:
            return False
        text, part = have.lower(), value.lower()
        return {
            "contains": part in text,
            "starts": text.startswith(part),
            "ends": text.endswith(part),
        }[op]
    if op == "in":
        return have is not None and have in [canonical(field, v) for v in value]
    value = canonical(field, value)
    if op == "neq":
        return have is None or have != value
    if have is None:
        return False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
    }
    return compare[op](have, value)


def matches(row: dict[str, Any], node: dict[str, Any]) -> bool:
    if "and" in node:
        return all(matches(row, n) for n in node["and"])
    if "or" in node:
        return any(matches(row, n) for n in node["or"])
    return holds(row, node)


def has_text_order(node: dict[str, Any]) -> bool:
    """Whether a filter compares the text field by order (collation-dependent)."""
    if "and" in node or "or" in node:
        return any(has_text_order(n) for n in node.get("and", node.get("or", [])))
    return node["field"] == "city" and node["op"] in ("lt", "lte", "gt", "gte")


# --- the strategies -----------------------------------------------------------------------

CASES: list[Callable[[str], str]] = [str, str.lower, str.upper, str.swapcase]


def recased(texts: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda t, f: f(t), st.sampled_from(texts), st.sampled_from(CASES))


@st.composite
def fragment(draw: st.DrawFn, texts: list[str]) -> str:
    """A non-empty piece of one of ``texts`` in any case, or text found nowhere."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["zzz", "%", "_", "s%", "n_y"]))
    text = draw(st.sampled_from(texts))
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    return draw(st.sampled_from(CASES))(text[start:end])


def condition(field: str, op: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(lambda v: {"field": field, "op": op, "value": v}, value)


def one_of_ops(field: str, ops: tuple[str, ...], value: st.SearchStrategy[Any]) -> list[Any]:
    return [condition(field, op, value) for op in ops]


def presence(field: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([{"field": field, "op": "empty"}, {"field": field, "op": "not_empty"}])


def conditions() -> st.SearchStrategy[dict[str, Any]]:
    city = st.one_of(st.sampled_from([*CITIES, "Aa", "Denver", "zürich heights"]), st.just(42))
    score = st.sampled_from([*SCORES, 1, 5, 50, -1, 7.25])
    score = st.one_of(score, score.map(str))
    since = st.sampled_from([*DATES, "2024-01-01", "2030-01-01", "2000-01-01"])
    status = recased(STATUSES)
    tag = recased(TAGS)
    options = [
        *one_of_ops("city", ORDERED, city),
        *one_of_ops("city", TEXT_OPS, fragment(CITIES)),
        *one_of_ops("city", TEXT_OPS, fragment(CITIES)),  # twice: case folding is subtle
        condition("city", "in", st.lists(city, min_size=1, max_size=3)),
        presence("city"),
        *one_of_ops("score", ORDERED, score),
        condition("score", "in", st.lists(score, min_size=1, max_size=3)),
        presence("score"),
        *one_of_ops("since", ORDERED, since),
        condition("since", "in", st.lists(since, min_size=1, max_size=3)),
        presence("since"),
        *one_of_ops("status", ORDERED, status),
        *one_of_ops("status", TEXT_OPS, fragment(STATUSES)),
        condition("status", "in", st.lists(status, min_size=1, max_size=3)),
        presence("status"),
        condition("tags", "contains", tag),
        condition("tags", "in", st.lists(tag, min_size=1, max_size=3)),
        presence("tags"),
    ]
    return st.one_of(*options)


def filters(depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """A condition, or an and/or group nesting at most ``depth`` levels."""
    if depth == 0:
        return conditions()
    group = st.builds(
        lambda kind, items: {kind: items},
        st.sampled_from(["and", "or"]),
        st.lists(filters(depth - 1), min_size=1, max_size=3),
    )
    return st.one_of(conditions(), group)


SORTS = st.lists(
    st.builds(
        lambda field, direction: {"field": field, "direction": direction},
        st.sampled_from(["city", "score", "since", "status", "created_at"]),
        st.sampled_from(["asc", "desc"]),
    ),
    min_size=0,
    max_size=2,
    unique_by=lambda s: s["field"],
)

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)


# --- the properties -----------------------------------------------------------------------


async def _search(client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]) -> Any:
    answer = await client.post(f"{CONTACTS}/search", json=body, headers=ws.auth)
    assert answer.status_code == 200, (body, answer.text)
    return answer.json()


@PROPERTY
@given(flt=filters())
async def test_search_selects_what_the_filter_says(
    client: httpx.AsyncClient, dataset: Dataset, flt: dict[str, Any]
) -> None:
    if not dataset.bytewise_text and has_text_order(flt):
        return  # text order is the database collation's, not code points
    expected = [rid for rid, row in dataset.rows.items() if matches(row, flt)]
    page = await _search(client, dataset.ws, {"filter": flt, "limit": 500, "include_total": True})
    got = [r["id"] for r in page["data"]]
    # Newest first without a sort; exactly the matching records, each once.
    assert got == expected[::-1], flt
    assert page["total"] == len(expected)
    assert page["next_cursor"] is None
    answer = await client.post(f"{CONTACTS}/count", json={"filter": flt}, headers=dataset.ws.auth)
    assert answer.json() == {"count": len(expected)}


def expected_order(data: Dataset, selected: list[str], sort: list[dict[str, str]]) -> list[str]:
    """Record ids in the documented order: missing values first ascending, last descending,
    ties in creation order (reversed when the first key descends); newest first unsorted."""
    position = {rid: i for i, rid in enumerate(data.rows)}

    def value(rid: str, field: str) -> Any:
        if field == "created_at":
            return data.created[rid]  # ISO 8601 in UTC, all alike: text order is time order
        return data.rows[rid].get(field)

    def sort_key(field: str) -> Callable[[str], tuple[bool, Any]]:
        blank = 0 if field == "score" else ""
        return lambda rid: (value(rid, field) is not None, value(rid, field) or blank)

    last = {"field": "position", "direction": sort[0]["direction"] if sort else "desc"}
    ordered = list(selected)
    for key in reversed([*sort, last]):  # stable sorts, least significant key first
        descending = key["direction"] == "desc"
        if key["field"] == "position":
            ordered.sort(key=position.__getitem__, reverse=descending)
        else:
            ordered.sort(key=sort_key(key["field"]), reverse=descending)
    return ordered


@PROPERTY
@given(flt=st.one_of(st.none(), filters(2)), sort=SORTS, limit=st.integers(1, 6))
async def test_sorted_cursor_walk_visits_the_matches_in_order(
    client: httpx.AsyncClient,
    dataset: Dataset,
    flt: dict[str, Any] | None,
    sort: list[dict[str, str]],
    limit: int,
) -> None:
    if not dataset.bytewise_text and (
        (flt is not None and has_text_order(flt)) or any(s["field"] == "city" for s in sort)
    ):
        return  # text order is the database collation's, not code points
    selected = [rid for rid, row in dataset.rows.items() if flt is None or matches(row, flt)]
    expected = expected_order(dataset, selected, sort)
    seen: list[str] = []
    cursor = None
    for _ in range(len(ROWS) + 2):
        body = {"filter": flt, "sort": sort, "limit": limit, "cursor": cursor}
        page = await _search(client, dataset.ws, body)
        assert len(page["data"]) <= limit
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected, (flt, sort, limit)
