"""the live records of each object type are counted by triggers, so a list's total is a read

``record_counts`` holds, per workspace, object type and slot, a number of live records
(neither deleted nor archived); the object type's count is the sum of its slots. Triggers on
``records`` keep it whatever writes them. On PostgreSQL a connection adds to the slot of its
backend (``pg_backend_pid() % 16``), so creates on connections of different slots do not
queue on one row; inserts and deletes add once per statement, through its transition table.
SQLite has one writer at a time and row triggers only: one slot.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The columns of the key a record is counted under.
KEYS = ("workspace_id", "object_type_id")
KEY = ", ".join((*KEYS, "slot"))
#: The columns whose change can move a record in or out of an object type's count.
MOVES = ("deleted_at", "archived_at", *KEYS)


def _live(row: str) -> str:
    return f"{row}.deleted_at IS NULL AND {row}.archived_at IS NULL"


def _moved(differ: str) -> str:
    """Whether an update moves a record: it comes to life or leaves it, or changes key."""
    rekeyed = " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in KEYS)
    return f"({_live('OLD')}) {differ} ({_live('NEW')}) OR {rekeyed}"


def _add(row: str, slot: str, delta: str, where: str) -> str:
    """An upsert adding ``delta`` to the slot of ``row``'s object type, if ``where``."""
    return (
        f"INSERT INTO record_counts ({KEY}, live) "
        f"SELECT {row}.workspace_id, {row}.object_type_id, {slot}, {delta} WHERE {where} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET live = record_counts.live + excluded.live;"
    )


FILL = (
    f"INSERT INTO record_counts ({KEY}, live) "  # noqa: S608
    "SELECT workspace_id, object_type_id, 0, count(*) FROM records "
    f"WHERE {_live('records')} GROUP BY workspace_id, object_type_id"
)

SQLITE = [
    "CREATE TRIGGER record_counts_ai AFTER INSERT ON records "
    f"BEGIN {_add('NEW', '0', '1', _live('NEW'))} END",
    "CREATE TRIGGER record_counts_ad AFTER DELETE ON records "
    f"BEGIN {_add('OLD', '0', '-1', _live('OLD'))} END",
    f"CREATE TRIGGER record_counts_au AFTER UPDATE OF {', '.join(MOVES)} ON records "
    f"WHEN {_moved('IS NOT')} BEGIN "
    f"{_add('OLD', '0', '-1', _live('OLD'))} {_add('NEW', '0', '1', _live('NEW'))} END",
]

PG_SLOT = "pg_backend_pid() % 16"

# One upsert per statement: the rows it inserted or deleted, grouped by object type, in key
# order (so that two statements lock the rows they share in the same order).
PG_STATEMENT = f"""
CREATE FUNCTION crm_count_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO record_counts ({KEY}, live)
    SELECT workspace_id, object_type_id, {PG_SLOT},
           CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END
    FROM changed WHERE {_live("changed")}
    GROUP BY workspace_id, object_type_id ORDER BY workspace_id, object_type_id
    ON CONFLICT ({KEY}) DO UPDATE SET live = record_counts.live + excluded.live;
    RETURN NULL;
END
$$
"""  # noqa: S608

# Row by row, and only for the updates that move a record (a trigger with transition tables
# cannot name columns: it would run for every update, data edits included).
PG_ROW = f"""
CREATE FUNCTION crm_count_moved_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_add("OLD", PG_SLOT, "-1", _live("OLD"))}
    {_add("NEW", PG_SLOT, "1", _live("NEW"))}
    RETURN NULL;
END
$$
"""

POSTGRESQL = [
    PG_STATEMENT,
    PG_ROW,
    "CREATE TRIGGER record_counts_ai AFTER INSERT ON records REFERENCING NEW TABLE AS changed "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_count_records()",
    "CREATE TRIGGER record_counts_ad AFTER DELETE ON records REFERENCING OLD TABLE AS changed "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_count_records()",
    f"CREATE TRIGGER record_counts_au AFTER UPDATE OF {', '.join(MOVES)} ON records "
    f"FOR EACH ROW WHEN ({_moved('IS DISTINCT FROM')}) "
    "EXECUTE FUNCTION crm_count_moved_record()",
]


def upgrade() -> None:
    op.create_table(
        "record_counts",
        sa.Column("workspace_id", BigId, primary_key=True),
        sa.Column("object_type_id", BigId, primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True),
        sa.Column("live", sa.BigInteger(), nullable=False),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Creating a trigger locks records against writes until the migration commits: no
    # record is written between the fill's count and the triggers.
    for ddl in POSTGRESQL if postgresql else SQLITE:
        op.execute(ddl)
    op.execute(FILL)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in ("ai", "ad", "au"):
        op.execute(
            f"DROP TRIGGER IF EXISTS record_counts_{trigger}"
            + (" ON records" if postgresql else "")
        )
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS crm_count_records()")
        op.execute("DROP FUNCTION IF EXISTS crm_count_moved_record()")
    op.drop_table("record_counts")
