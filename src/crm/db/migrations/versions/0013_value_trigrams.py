"""contains/starts/ends find their fragments through a trigram index over the records' values

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _values(row: str) -> str:
    """SQLite: a record's scalar values (strings, numbers, booleans), each on a line of its
    own after a newline and a tag for its key's length (a private-use character), and a
    newline at the end: a value's start, within keys of its length, and its end are
    trigrams too."""
    lines = "group_concat(char(10) || char(57344 + length(key)) || atom, '') || char(10)"
    return f"(SELECT {lines} FROM json_each({row}.data))"  # noqa: S608


_ADD = "INSERT INTO records_values_fts(rowid, values_text) VALUES (new.id, {values});"
_DROP = (
    "INSERT INTO records_values_fts(records_values_fts, rowid, values_text) "
    "VALUES ('delete', old.id, {values});"
)
_ADD_NEW = _ADD.format(values=_values("new"))
_DROP_OLD = _DROP.format(values=_values("old"))

# Contentless (it stores no text), no positions: a fragment is looked up as all of its
# trigrams and rechecked by the filter itself. A contentless table's rows are deleted by
# giving back the text they were indexed with, computed again from the old data.
SQLITE = [
    "CREATE VIRTUAL TABLE records_values_fts USING fts5(values_text, content='', "
    "tokenize='trigram', detail='none', columnsize=0)",
    f"CREATE TRIGGER records_values_fts_ai AFTER INSERT ON records BEGIN {_ADD_NEW} END",
    f"CREATE TRIGGER records_values_fts_ad AFTER DELETE ON records BEGIN {_DROP_OLD} END",
    "CREATE TRIGGER records_values_fts_au AFTER UPDATE OF data ON records "
    f"WHEN old.data IS NOT new.data BEGIN {_DROP_OLD} {_ADD_NEW} END",
    "INSERT INTO records_values_fts(rowid, values_text) "  # noqa: S608
    f"SELECT id, {_values('records')} FROM records",
]

# The JSON text of the data holds every value (strings with '"', '\' and control characters
# escaped: fragments holding them are not looked up through it).
POSTGRESQL = [
    "SET LOCAL maintenance_work_mem = '256MB'",
    "CREATE INDEX ix_records_values ON records USING gin ((data::text) gin_trgm_ops) "
    "WHERE deleted_at IS NULL",
]


def upgrade() -> None:
    for ddl in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS records_values_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS records_values_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_records_values")
