"""events read in commit order: the writing transaction of each event on PostgreSQL

A consumer of the event log (workflows, webhooks) must see every event once and in an
order that never changes. On PostgreSQL, ids are taken before commit, so a transaction can
commit an event with a smaller id after another's larger one has been read. Each event
keeps the id of the transaction that wrote it (``pg_current_xact_id()``), and a reader
takes only events of transactions older than every one still running, in the order of
(transaction, id): that set never grows behind a reader's position. Events written before
this migration are all committed: transaction 0.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        op.add_column("events", sa.Column("tx", sa.BigInteger))
        return
    # A constant default fills the existing rows without rewriting the table; new rows then
    # take their transaction's id.
    op.add_column("events", sa.Column("tx", sa.BigInteger, server_default="0"))
    op.execute("ALTER TABLE events ALTER COLUMN tx SET DEFAULT pg_current_xact_id()::text::bigint")
    op.create_index("ix_events_stream", "events", ["tx", "id"])
    op.create_index("ix_events_stream_workspace", "events", ["workspace_id", "tx", "id"])


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_events_stream_workspace", table_name="events")
        op.drop_index("ix_events_stream", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("tx")
