"""SQLite finds search fragments through an FTS5 trigram table over the search text

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# External content (the text stays in records), no positions: a fragment is looked up as
# all of its trigrams and rechecked with LIKE. PostgreSQL has its pg_trgm index since 0001.
FTS = [
    "CREATE VIRTUAL TABLE records_fts USING fts5(search_text, content='records', "
    "content_rowid='id', tokenize='trigram', detail='none', columnsize=0)",
    "CREATE TRIGGER records_fts_ai AFTER INSERT ON records BEGIN "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER records_fts_ad AFTER DELETE ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER records_fts_au AFTER UPDATE OF search_text ON records "
    "WHEN old.search_text IS NOT new.search_text BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO records_fts(records_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for ddl in FTS:
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS records_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS records_fts")
