"""Trigram indexes over the records' search text and values, for substring search on
either database.

PostgreSQL has a ``pg_trgm`` GIN index on ``search_text`` (``ix_records_search``). SQLite
has ``records_fts``, an FTS5 table with the trigram tokenizer over ``search_text``
(external content: it stores no text of its own), kept in step with ``records`` by
triggers. It keeps no positions (``detail=none``), so a fragment is matched as all of its
trigrams, which can find a few rows too many: callers keep their ``LIKE`` as a recheck.

The values of each record's fields, for ``contains``, ``starts`` and ``ends``, have one of
their own: on PostgreSQL a ``pg_trgm`` GIN index on the JSON text of ``data``
(``ix_records_values``), on SQLite ``records_values_fts``, a contentless FTS5 trigram table
over the record's scalar values one a line, each tagged with its key's length, fed by
triggers. Either finds a superset of the records whose field holds a fragment; the filter
itself stays as the recheck.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Trigram indexes cannot find fragments shorter than this.
MIN_FRAGMENT = 3

SEARCH_FTS = "records_fts"
VALUES_FTS = "records_values_fts"

records_fts = sa.table(SEARCH_FTS, sa.column("rowid", sa.BigInteger))
records_values_fts = sa.table(VALUES_FTS, sa.column("rowid", sa.BigInteger))

#: The first of the private-use characters that tag each value in ``records_values_fts``
#: with its key's length (migration 0013).
_KEY_TAG = 0xE000

#: Characters that the JSON text of a value escapes, so that it does not hold them as they
#: are: a fragment with any of them cannot be looked up in ``ix_records_values``.
_JSON_ESCAPED = frozenset('"\\' + "".join(map(chr, range(32))))


def indexable(fragment: str) -> bool:
    """Whether a trigram index can find ``fragment``."""
    return len(fragment) >= MIN_FRAGMENT


def fts_query(fragment: str) -> str:
    """An FTS5 query for the rows holding trigrams that cover ``fragment`` (every third one
    and the last: fewer lists to intersect than all of them, for a few more rows to
    recheck), each quoted as an FTS5 string so that no character of it is query syntax."""
    starts = [*range(0, len(fragment) - 2, 3), len(fragment) - 3]
    grams = dict.fromkeys(fragment[i : i + 3] for i in starts)
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def fts_match(fragment: str, table: str = SEARCH_FTS) -> sa.ColumnElement[bool]:
    """SQLite: whether a row of the FTS5 ``table`` may hold ``fragment`` (a superset)."""
    matches: sa.ColumnElement[bool] = sa.literal_column(table).op("MATCH")(fts_query(fragment))
    return matches


def fts_ids(fragment: str, table: str = SEARCH_FTS) -> sa.Select[tuple[int]]:
    """SQLite: the ids of the records whose text in the FTS5 ``table`` may hold ``fragment``
    (a superset)."""
    rowid = sa.table(table, sa.column("rowid", sa.BigInteger)).c.rowid
    return sa.select(rowid).where(fts_match(fragment, table))


def value_start(key: str, fragment: str) -> str:
    """SQLite: what ``records_values_fts`` holds where a value of field ``key`` starts with
    ``fragment``: the tag of the key's length that starts each value's line."""
    return chr(_KEY_TAG + len(key)) + fragment


def value_end(fragment: str) -> str:
    """SQLite: what ``records_values_fts`` holds where a value ends with ``fragment``."""
    return fragment + "\n"


def in_json_text(fragment: str) -> bool:
    """PostgreSQL: whether the JSON text of a value holding ``fragment`` holds it as it is."""
    return _JSON_ESCAPED.isdisjoint(fragment)


def values_like(pattern: str) -> sa.ColumnElement[bool]:
    """PostgreSQL: whether the JSON text of a record's data matches the ``ILIKE`` pattern
    (``\\`` escaping), read through ``ix_records_values``."""
    text = sa.literal_column("(records.data::text)", sa.Text)
    return text.ilike(pattern, escape="\\")
