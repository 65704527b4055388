"""users and roles keep the time of their last change, as everything else does

Faces sort and filter users and roles by when they last changed (Flexie's
``date_modified``). Existing users and roles take their creation time.

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.db.types

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "roles")


# Not in batch mode: SQLite's copy of a table would drop the old one, and with it (by its
# cascades) every workspace's users and keys.


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column("updated_at", crm.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        held = sa.table(table, sa.column("created_at"), sa.column("updated_at"))
        op.execute(sa.update(held).values(updated_at=held.c.created_at))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "updated_at")
