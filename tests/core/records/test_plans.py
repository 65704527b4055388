"""Listings read through a condition's index or by walking their order give the same pages.

Each query runs twice: with a bound of one row (any match walks) and with a bound no count
reaches (always through the index); both must return the same records in the same order,
page after page, and ``q`` must return what the stored search text says it should.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import principal_for_user
from crm.core.identities.service import attach_identities
from crm.core.metadata.service import create_field
from crm.core.records import plans
from crm.core.records import query as rq
from crm.core.records.model import RecordQuery
from crm.core.records.service import bulk_create, count_records, find_records
from crm.core.tags.service import create_tag, tag_record
from crm.db import trigram
from crm.db.engine import transaction
from crm.db.schema import records
from tests.conftest import Workspace

LAST = [
    "Silva",
    "Silva",
    "Silvano",
    "Moss",
    'O"Brien',
    "100%_Pure",
    "Near AND Or",
    "a*b (x)",
    "Back\\slash",
    "Éclair",
]
QUERIES = [
    "silva",
    "ILV",
    "  sil  ",
    "lva.3",
    "zzzz",
    'o"b',
    '"',
    "100%",
    "%_p",
    "_pu",
    "and or",
    "a*b (",
    "si",
    "@",
    "rare17@",
    "globex.io",
]


async def _principal(ws: Workspace) -> Principal:
    async with transaction(ws.engine, write=False) as conn:
        return await principal_for_user(conn, ws.owner_id)


@pytest.fixture
async def contacts(ws: Workspace, other_ws: Workspace) -> Principal:
    """Forty contacts of ``ws`` with a score, a tag on some and an identity on others;
    look-alikes in another workspace."""
    owner = await _principal(ws)
    async with transaction(ws.engine, write=True) as conn:
        await create_field(
            conn,
            owner,
            "contact",
            {"key": "score", "label": "Score", "type": "number", "indexed": True},
        )
    owner = await _principal(ws)
    items = [
        {
            "fields": {
                "first_name": f"P{i}",
                "last_name": LAST[i % len(LAST)],
                "email": f"p{i}.{LAST[i % len(LAST)][:3].lower()}{i}@"
                + ("acme.com" if i % 3 else "globex.io"),
                "city": "Austin" if i % 2 else "Boston",
                **({"score": i % 13} if i % 7 else {}),
            }
        }
        for i in range(40)
    ]
    items[17]["fields"]["email"] = "rare17@example.org"
    async with transaction(ws.engine, write=True) as conn:
        made = [b.record for b in await bulk_create(conn, owner, "contact", items)]
        tag = await create_tag(conn, owner, name="VIP Gold")
        for record in made[::5]:
            assert record is not None
            await tag_record(conn, owner, "contact", record.id, str(tag.uuid))
        chosen = [r for r in made[1::6] if r is not None]
        await attach_identities(
            conn, owner, [(r, "telegram", f"tg_silvercat{r.id}") for r in chosen]
        )
    other = await _principal(other_ws)
    async with transaction(ws.engine, write=True) as conn:
        await bulk_create(conn, other, "contact", items[:10])
    return owner


async def _pages(engine: AsyncEngine, principal: Principal, query: RecordQuery) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        query.cursor = cursor
        async with transaction(engine, write=False) as conn:
            page = await find_records(conn, principal, "contact", query)
        pages.append([r.id for r in page.records])
        cursor = page.next_cursor
        if cursor is None:
            return pages


async def _both(
    engine: AsyncEngine, principal: Principal, monkeypatch: pytest.MonkeyPatch, **spec: Any
) -> tuple[list[list[int]], set[rq.Plan]]:
    """The pages of a listing through each plan, which must agree; and the plans used."""
    used: set[rq.Plan] = set()
    choose = plans.choose

    async def spy(*args: Any) -> tuple[rq.Plan, str | None]:
        plan, through = await choose(*args)
        used.add(plan)
        return plan, through

    monkeypatch.setattr(plans, "choose", spy)
    answers = []
    for bound in (1, 10**9):
        monkeypatch.setattr(plans, "BOUND", bound)
        answers.append(await _pages(engine, principal, RecordQuery(limit=3, **spec)))
    assert answers[0] == answers[1], spec
    return answers[0], used


async def _search_texts(engine: AsyncEngine, workspace_id: int) -> dict[int, str]:
    async with transaction(engine, write=False) as conn:
        rows = await conn.execute(
            sa.select(records.c.id, records.c.search_text).where(
                records.c.workspace_id == workspace_id
            )
        )
        return {int(i): str(t) for i, t in rows.all()}


@pytest.mark.parametrize("q", QUERIES)
async def test_q_is_the_same_through_the_index_and_by_walking(
    ws: Workspace, contacts: Principal, monkeypatch: pytest.MonkeyPatch, dialect: str, q: str
) -> None:
    pages, used = await _both(ws.engine, contacts, monkeypatch, q=q)
    texts = await _search_texts(ws.engine, ws.id)
    wanted = sorted((i for i, t in texts.items() if q.strip().lower() in t), reverse=True)
    assert [i for page in pages for i in page] == wanted
    if len(q.strip()) >= 3 and wanted and dialect == "sqlite":
        assert used == {rq.Plan.WALK, rq.Plan.INDEX}
    async with transaction(ws.engine, write=False) as conn:
        assert await count_records(conn, contacts, "contact", RecordQuery(q=q)) == len(wanted)


@pytest.mark.parametrize(
    "spec",
    [
        {"q": "silv", "q_links": True},
        {"q": "gold", "q_links": True},
        {"q": "tg_silver", "q_links": True},
        {"q": "silva", "filter": {"field": "city", "op": "eq", "value": "Austin"}},
        {"q": "acme", "filter": {"field": "score", "op": "gte", "value": 4}},
        {"q": "acme", "sort": [{"field": "score", "direction": "asc"}]},
        {"q": "acme", "sort": [{"field": "last_name", "direction": "desc"}]},
        {"q": "acme", "sort": [{"field": "created_at", "direction": "asc"}]},
        {"q": "silva", "archived": "include", "with_total": True},
        {
            "filter": {
                "and": [
                    {"field": "score", "op": "gte", "value": 3},
                    {"field": "score", "op": "lt", "value": 9},
                ]
            }
        },
        {"filter": {"field": "score", "op": "gt", "value": 100}},
        {
            "filter": {
                "and": [
                    {"field": "score", "op": "lte", "value": 5},
                    {"field": "city", "op": "eq", "value": "Boston"},
                ]
            }
        },
        {
            "filter": {
                "or": [
                    {"field": "score", "op": "lte", "value": 2},
                    {"field": "city", "op": "eq", "value": "Boston"},
                ]
            }
        },
        {
            "filter": {"field": "score", "op": "gte", "value": 3},
            "sort": [{"field": "score", "direction": "desc"}],
        },
        {
            "filter": {"field": "score", "op": "gte", "value": 3},
            "sort": [{"field": "email", "direction": "asc"}],
        },
    ],
)
async def test_filters_searches_and_sorts_agree_between_plans(
    ws: Workspace, contacts: Principal, monkeypatch: pytest.MonkeyPatch, spec: dict[str, Any]
) -> None:
    pages, _ = await _both(ws.engine, contacts, monkeypatch, **spec)
    assert all(len(p) <= 3 for p in pages)


def _where(field: str, op: str, value: str) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


SUBSTRINGS = [
    _where("email", "contains", "acme.com"),
    _where("email", "contains", "ACME.Com"),
    _where("email", "contains", "rare17@"),
    _where("email", "contains", "zzzz"),
    _where("email", "contains", "p1"),
    _where("email", "starts", "p17."),
    _where("email", "starts", "P1"),
    _where("email", "starts", "acme"),
    _where("email", "ends", "@globex.io"),
    _where("email", "ends", "IO"),
    _where("email", "ends", "globex"),
    _where("last_name", "contains", 'o"b'),
    _where("last_name", "contains", '"br'),
    _where("last_name", "contains", "100%"),
    _where("last_name", "contains", "%_p"),
    _where("last_name", "starts", "_pu"),
    _where("last_name", "contains", "k\\s"),
    _where("last_name", "ends", "\\slash"),
    _where("last_name", "contains", "and or"),
    _where("last_name", "contains", "a*b ("),
    _where("last_name", "contains", "ÉCL"),
    _where("last_name", "contains", "écl"),
    _where("last_name", "starts", "Écl"),
    _where("first_name", "contains", "acme"),
    _where("first_name", "contains", "p1"),
    _where("city", "contains", "ton"),
]


async def _plain(
    engine: AsyncEngine, principal: Principal, monkeypatch: pytest.MonkeyPatch, **spec: Any
) -> list[list[int]]:
    """The pages of a listing with no trigram index at all: every condition as written."""
    with monkeypatch.context() as patch:
        patch.setattr(trigram, "indexable", lambda _fragment: False)
        return await _pages(engine, principal, RecordQuery(limit=3, **spec))


@pytest.mark.parametrize("where", SUBSTRINGS, ids=lambda w: f"{w['op']}-{w['value']}")
async def test_substring_filters_find_what_the_plain_filter_finds(
    ws: Workspace,
    contacts: Principal,
    monkeypatch: pytest.MonkeyPatch,
    dialect: str,
    where: dict[str, Any],
) -> None:
    pages, used = await _both(ws.engine, contacts, monkeypatch, filter=where)
    found = [i for page in pages for i in page]
    fragment = where["value"]
    if (
        found
        and trigram.indexable(fragment)
        and (dialect == "sqlite" or trigram.in_json_text(fragment))
    ):
        assert used == {rq.Plan.WALK, rq.Plan.INDEX}
    assert pages == await _plain(ws.engine, contacts, monkeypatch, filter=where)
    async with transaction(ws.engine, write=False) as conn:
        counted = await count_records(conn, contacts, "contact", RecordQuery(filter=where))
    assert counted == len(found)


async def test_substring_filters_find_what_the_stored_values_hold(
    ws: Workspace, contacts: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages, _ = await _both(
        ws.engine, contacts, monkeypatch, filter=_where("email", "contains", "acme.com")
    )
    assert sum(len(p) for p in pages) == 25  # one in three at globex.io, rare17 at example.org
    pages, _ = await _both(ws.engine, contacts, monkeypatch, filter=_where("email", "ends", "IO"))
    assert sum(len(p) for p in pages) == 14
    pages, _ = await _both(
        ws.engine, contacts, monkeypatch, filter=_where("last_name", "contains", 'o"b')
    )
    assert sum(len(p) for p in pages) == 4
    pages, _ = await _both(
        ws.engine, contacts, monkeypatch, filter=_where("last_name", "contains", "k\\s")
    )
    assert sum(len(p) for p in pages) == 4


@pytest.mark.parametrize(
    "spec",
    [
        {"q": "silva", "filter": _where("email", "contains", "acme.com")},
        {"q": "example", "filter": _where("email", "contains", "rare17")},
        {
            "filter": {
                "and": [
                    _where("email", "contains", "acme.com"),
                    {"field": "city", "op": "eq", "value": "Austin"},
                ]
            }
        },
        {
            "filter": {
                "and": [
                    _where("email", "ends", "globex.io"),
                    {"field": "score", "op": "gte", "value": 4},
                ]
            }
        },
        {
            "filter": {
                "and": [
                    {"field": "score", "op": "gte", "value": 4},
                    _where("last_name", "contains", "silv"),
                    _where("email", "starts", "p1"),
                ]
            }
        },
        {
            "filter": {
                "or": [
                    _where("email", "contains", "rare17"),
                    _where("last_name", "contains", "moss"),
                ]
            }
        },
        {
            "filter": _where("email", "contains", "acme.com"),
            "sort": [{"field": "email", "direction": "asc"}],
        },
        {
            "filter": _where("email", "contains", "acme.com"),
            "sort": [{"field": "score", "direction": "desc"}],
        },
        {
            "filter": _where("email", "contains", "globex"),
            "sort": [{"field": "last_name", "direction": "asc"}],
        },
        {
            "filter": _where("email", "contains", "acme.com"),
            "sort": [{"field": "created_at", "direction": "asc"}],
        },
        {"filter": _where("email", "contains", "acme"), "archived": "include", "with_total": True},
    ],
)
async def test_substring_filters_combine_like_the_plain_filter(
    ws: Workspace, contacts: Principal, monkeypatch: pytest.MonkeyPatch, spec: dict[str, Any]
) -> None:
    pages, _ = await _both(ws.engine, contacts, monkeypatch, **spec)
    assert pages == await _plain(ws.engine, contacts, monkeypatch, **spec)
    assert any(pages)
