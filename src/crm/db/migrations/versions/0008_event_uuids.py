"""events are shown by UUID: their integer ids count every workspace's events

Revision ID: 0008
Revises: 0007
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Events given a UUID per statement while existing events are filled in.
BATCH = 10_000

events = sa.table("events", sa.column("id", sa.BigInteger), sa.column("uuid", sa.Uuid))


def upgrade() -> None:
    op.add_column("events", sa.Column("uuid", sa.Uuid(), nullable=True))
    conn = op.get_bind()
    while True:
        ids = conn.execute(
            sa.select(events.c.id).where(events.c.uuid.is_(None)).limit(BATCH)
        ).scalars()
        rows = [{"eid": i, "uuid": uuid.uuid4()} for i in ids]
        if not rows:
            break
        conn.execute(
            sa.update(events).where(events.c.id == sa.bindparam("eid")),
            rows,
        )
    with op.batch_alter_table("events") as batch:
        batch.alter_column("uuid", existing_type=sa.Uuid(), nullable=False)
    op.create_index("ix_events_uuid", "events", ["workspace_id", "uuid"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_events_uuid", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("uuid")
