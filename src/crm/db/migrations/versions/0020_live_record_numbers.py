"""an index of the live, unarchived records of each object type by number

Faces that name records by number list them in that order, with their total (Flexie's
``{"total": N, ...}``): this index walks a page in order and counts the total without
reading a row.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "deleted_at IS NULL AND archived_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_records_live_number",
        "records",
        ["workspace_id", "object_type_id", "number"],
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_records_live_number", table_name="records")
