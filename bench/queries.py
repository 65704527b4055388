"""The benchmark's queries, each in two forms: through the core and written by hand.

A :class:`Query` makes one *variant* per repetition: a ``RecordQuery`` (or a count) for
``find_records`` and the equivalent SQL with its parameters, which the harness runs through
the same engine with ``sa.text``. Constants vary between variants (city, segment, score
range, search fragment) so caches see a realistic mix rather than one hot page.

The hand-written SQL has the same meaning as the core's (same rows, same order) but is
written the way one would write it for these indexes: plain ``ORDER BY id DESC``, row-value
comparisons for keyset cursors, no redundant ``IS NULL`` branches on NOT NULL columns.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.data import CITIES
from bench.names import FREE_MAIL, SEGMENTS, STATUSES
from crm.core.records.model import RecordQuery

COLUMNS = "id, uuid, owner_id, data, display_name, created_at, updated_at, archived_at, deleted_at"
BASE = "workspace_id = :ws AND object_type_id = :ot AND deleted_at IS NULL AND archived_at IS NULL"
PAGE_TARGET_MS = 20.0
SEARCH_TARGET_MS = 50.0


@dataclass
class Variant:
    """One repetition's constants: the core request and the hand-written SQL."""

    query: RecordQuery
    sql: str
    params: dict[str, Any]
    count: bool = False


@dataclass
class Query:
    """A named benchmark query with its target and a maker of variants."""

    name: str
    description: str
    target_ms: float | None
    make: Callable[[random.Random], Variant]
    #: For deep pages: the name of the page-1 query it is compared with, and the max ratio.
    compare_to: str | None = None
    max_ratio: float | None = None
    notes: list[str] = field(default_factory=list)


class Sql:
    """Field expressions and bound values in the form the indexes were built with."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def field(self, key: str) -> str:
        if self.dialect == "postgresql":
            return f"(data -> '{key}')"
        return f"json_extract(data, '$.{key}')"

    def bind(self, name: str) -> str:
        return f"CAST(:{name} AS JSONB)" if self.dialect == "postgresql" else f":{name}"

    def value(self, value: Any) -> Any:
        return orjson.dumps(value).decode() if self.dialect == "postgresql" else value

    def asc_nulls_first(self, expr: str) -> str:
        """Ascending with missing values first (SQLite's default, explicit on PostgreSQL)."""
        return f"{expr} NULLS FIRST" if self.dialect == "postgresql" else expr

    def desc_nulls_last(self, expr: str) -> str:
        """Descending with missing values last (SQLite's default, explicit on PostgreSQL)."""
        return f"{expr} DESC NULLS LAST" if self.dialect == "postgresql" else f"{expr} DESC"


def cursor_values(cursor: str) -> list[Any]:
    """The sort values inside a core cursor (its format is base64url JSON)."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    values: list[Any] = orjson.loads(raw)["v"]
    return values


@dataclass
class Sample:
    """Constants drawn from stored records: last names and email local parts."""

    last_names: list[str]
    emails: list[str]

    def name_fragment(self, rng: random.Random) -> str:
        """Four letters from inside a stored last name (``ilva`` of Silva)."""
        last = rng.choice(self.last_names).lower()
        start = rng.randrange(max(1, len(last) - 3))
        return last[start : start + 4]

    def email_fragment(self, rng: random.Random) -> str:
        """The local part of a stored email (``ada.lovelace17``): one to a few dozen matches."""
        return rng.choice(self.emails).split("@")[0]

    def email_start(self, rng: random.Random) -> str:
        """The first three letters of a stored email: thousands of matches."""
        return rng.choice(self.emails)[:3]

    def email_end(self, rng: random.Random) -> str:
        """A stored email from the dot in its local part on (``.lovelace17@example.com``):
        a handful of matches."""
        email = rng.choice(self.emails)
        local, _, domain = email.partition("@")
        return local[local.find(".") :] + "@" + domain

    def mail_domain(self, rng: random.Random) -> str:
        """The domain of a stored email at a free mail provider (``@gmail.com``): many."""
        free = [e for e in self.emails if e.split("@")[1] in FREE_MAIL] or self.emails
        return "@" + rng.choice(free).split("@")[1]


def build(
    dialect: str,
    ws: int,
    ot: int,
    sample: Sample,
    deep_cursors: dict[str, list[str]],
) -> list[Query]:
    """All queries of the storage benchmark for workspace ``ws``, object type ``ot``."""
    s = Sql(dialect)
    city, segment, score, status = (s.field(k) for k in ("city", "segment", "score", "status"))

    def page(where: str, order: str, params: dict[str, Any], query: RecordQuery) -> Variant:
        sql = f"SELECT {COLUMNS} FROM records WHERE {BASE}{where} ORDER BY {order} LIMIT 51"  # noqa: S608
        return Variant(query, sql, {"ws": ws, "ot": ot, **params})

    newest = "id DESC"

    def default_order(rng: random.Random) -> Variant:
        return page("", newest, {}, RecordQuery())

    def eq_city(rng: random.Random) -> Variant:
        c = rng.choice(CITIES)
        return page(
            f" AND {city} = {s.bind('c')}",
            newest,
            {"c": s.value(c)},
            RecordQuery(filter={"field": "city", "op": "eq", "value": c}),
        )

    def eq_segment(rng: random.Random) -> Variant:
        g = rng.choice(SEGMENTS)
        return page(
            f" AND {segment} = {s.bind('g')}",
            newest,
            {"g": s.value(g)},
            RecordQuery(filter={"field": "segment", "op": "eq", "value": g}),
        )

    def range_score(rng: random.Random) -> Variant:
        lo = rng.randrange(200, 780)
        hi = lo + 20
        return page(
            f" AND {score} >= {s.bind('lo')} AND {score} <= {s.bind('hi')}",
            newest,
            {"lo": s.value(lo), "hi": s.value(hi)},
            RecordQuery(
                filter={
                    "and": [
                        {"field": "score", "op": "gte", "value": lo},
                        {"field": "score", "op": "lte", "value": hi},
                    ]
                }
            ),
        )

    def sort_score_asc(rng: random.Random) -> Variant:
        return page(
            "",
            f"{s.asc_nulls_first(score)}, id",
            {},
            RecordQuery(sort=[{"field": "score", "direction": "asc"}]),
        )

    def sort_score_desc(rng: random.Random) -> Variant:
        return page(
            "",
            f"{score} DESC, id DESC"
            if dialect == "sqlite"
            else f"{score} DESC NULLS LAST, id DESC",
            {},
            RecordQuery(sort=[{"field": "score", "direction": "desc"}]),
        )

    def search(fragment: Callable[[random.Random], str]) -> Callable[[random.Random], Variant]:
        def make(rng: random.Random) -> Variant:
            q = fragment(rng)
            return page(" AND search_text LIKE :p", newest, {"p": f"%{q}%"}, RecordQuery(q=q))

        return make

    email = (
        "(data ->> 'email')" if dialect == "postgresql" else "lower(json_extract(data, '$.email'))"
    )
    like = "ILIKE" if dialect == "postgresql" else "LIKE"

    def email_op(
        op: str, fragment: Callable[[random.Random], str]
    ) -> Callable[[random.Random], Variant]:
        def make(rng: random.Random) -> Variant:
            text = fragment(rng)
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = {"contains": f"%{escaped}%", "starts": f"{escaped}%", "ends": f"%{escaped}"}
            p = pattern[op] if dialect == "postgresql" else pattern[op].lower()
            return page(
                f" AND {email} {like} :p ESCAPE '\\'",
                newest,
                {"p": p},
                RecordQuery(filter={"field": "email", "op": op, "value": text}),
            )

        return make

    def and_or(rng: random.Random) -> Variant:
        st, c, g = rng.choice(STATUSES), rng.choice(CITIES), rng.choice(SEGMENTS)
        return page(
            f" AND {status} = {s.bind('st')} AND ({city} = {s.bind('c')} "
            f"OR {segment} = {s.bind('g')})",
            newest,
            {"st": s.value(st), "c": s.value(c), "g": s.value(g)},
            RecordQuery(
                filter={
                    "and": [
                        {"field": "status", "op": "eq", "value": st},
                        {
                            "or": [
                                {"field": "city", "op": "eq", "value": c},
                                {"field": "segment", "op": "eq", "value": g},
                            ]
                        },
                    ]
                }
            ),
        )

    def deep_newest(rng: random.Random) -> Variant:
        cursor = rng.choice(deep_cursors["newest"])
        (last_id,) = cursor_values(cursor)
        return page(" AND id < :last", newest, {"last": last_id}, RecordQuery(cursor=cursor))

    def deep_score(rng: random.Random) -> Variant:
        cursor = rng.choice(deep_cursors["score"])
        last_score, last_id = cursor_values(cursor)
        if last_score is None:
            where = f" AND (({score} IS NULL AND id > :last) OR {score} IS NOT NULL)"
            params = {"last": last_id}
        elif dialect == "postgresql":
            where = f" AND ({score}, id) > ({s.bind('ls')}, :last)"
            params = {"ls": s.value(last_score), "last": last_id}
        else:
            # SQLite does not start an index range at a row value over an expression
            # column; a leading inequality on the expression does.
            where = f" AND {score} >= :ls AND ({score} > :ls OR id > :last)"
            params = {"ls": last_score, "last": last_id}
        return page(
            where,
            f"{s.asc_nulls_first(score)}, id",
            params,
            RecordQuery(sort=[{"field": "score", "direction": "asc"}], cursor=cursor),
        )

    def count_city(rng: random.Random) -> Variant:
        c = rng.choice(CITIES)
        sql = f"SELECT count(*) FROM records WHERE {BASE} AND {city} = {s.bind('c')}"  # noqa: S608
        return Variant(
            RecordQuery(filter={"field": "city", "op": "eq", "value": c}),
            sql,
            {"ws": ws, "ot": ot, "c": s.value(c)},
            count=True,
        )

    return [
        Query("default_order", "newest first, no filter", PAGE_TARGET_MS, default_order),
        Query("eq_city", "city = X (standard field), newest first", PAGE_TARGET_MS, eq_city),
        Query("eq_segment", "segment = X (custom field)", PAGE_TARGET_MS, eq_segment),
        Query("range_score", "score between X and X+20 (custom)", PAGE_TARGET_MS, range_score),
        Query("sort_score_asc", "sorted by score ascending", PAGE_TARGET_MS, sort_score_asc),
        Query("sort_score_desc", "sorted by score descending", PAGE_TARGET_MS, sort_score_desc),
        Query(
            "q_last_name",
            "q = 4 letters of a last name",
            SEARCH_TARGET_MS,
            search(sample.name_fragment),
        ),
        Query(
            "q_email", "q = an email's local part", SEARCH_TARGET_MS, search(sample.email_fragment)
        ),
        Query(
            "email_contains_rare",
            "email contains an email's local part",
            SEARCH_TARGET_MS,
            email_op("contains", sample.email_fragment),
        ),
        Query(
            "email_contains_common",
            "email contains a free mail domain",
            SEARCH_TARGET_MS,
            email_op("contains", sample.mail_domain),
        ),
        Query(
            "email_starts_common",
            "email starts with 3 letters",
            SEARCH_TARGET_MS,
            email_op("starts", sample.email_start),
        ),
        Query(
            "email_starts_rare",
            "email starts with a whole local part",
            SEARCH_TARGET_MS,
            email_op("starts", sample.email_fragment),
        ),
        Query(
            "email_ends_common",
            "email ends with a free mail domain",
            SEARCH_TARGET_MS,
            email_op("ends", sample.mail_domain),
        ),
        Query(
            "email_ends_rare",
            "email ends with its last name and domain",
            SEARCH_TARGET_MS,
            email_op("ends", sample.email_end),
        ),
        Query("and_or", "status = X and (city = Y or segment = Z)", PAGE_TARGET_MS, and_or),
        Query(
            "page_1000_newest",
            "page ~1,000 of the newest-first walk",
            None,
            deep_newest,
            compare_to="default_order",
            max_ratio=2.0,
        ),
        Query(
            "page_1000_score",
            "page ~1,000 of the score-ascending walk",
            None,
            deep_score,
            compare_to="sort_score_asc",
            max_ratio=2.0,
        ),
        Query("count_city", "count where city = X", None, count_city),
    ]
