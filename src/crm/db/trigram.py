"""Trigram indexes over the records' search text, for substring search on either database.

PostgreSQL has a ``pg_trgm`` GIN index on ``search_text`` (``ix_records_search``). SQLite
has ``records_fts``, an FTS5 table with the trigram tokenizer over ``search_text``
(external content: it stores no text of its own), kept in step with ``records`` by
triggers. It keeps no positions (``detail=none``), so a fragment is matched as all of its
trigrams, which can find a few rows too many: callers keep their ``LIKE`` as a recheck.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Trigram indexes cannot find fragments shorter than this.
MIN_FRAGMENT = 3

SEARCH_FTS = "records_fts"

records_fts = sa.table(SEARCH_FTS, sa.column("rowid", sa.BigInteger))


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


def fts_match(fragment: str) -> sa.ColumnElement[bool]:
    """SQLite: whether a row of ``records_fts`` may hold ``fragment`` (a superset)."""
    matches: sa.ColumnElement[bool] = sa.literal_column(SEARCH_FTS).op("MATCH")(fts_query(fragment))
    return matches


def fts_ids(fragment: str) -> sa.Select[tuple[int]]:
    """SQLite: the ids of the records whose search text may hold ``fragment`` (a superset)."""
    return sa.select(records_fts.c.rowid).where(fts_match(fragment))
