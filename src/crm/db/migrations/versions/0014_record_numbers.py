"""every record gets a number among its object type's in its workspace (1, 2, ...)

The faces that name records by integers show these numbers: a busy workspace's records do
not move another's. Existing records are numbered in the order they were created.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

NUMBER_EXISTING = """
UPDATE records SET number = numbered.n
FROM (
    SELECT id, row_number() OVER (PARTITION BY workspace_id, object_type_id ORDER BY id) AS n
    FROM records
) AS numbered
WHERE records.id = numbered.id
"""

NEXT_NUMBERS = """
INSERT INTO record_numbers (workspace_id, object_type_id, next_number)
SELECT o.workspace_id, o.id, COALESCE(
    (SELECT max(r.number) FROM records r
     WHERE r.workspace_id = o.workspace_id AND r.object_type_id = o.id), 0) + 1
FROM object_types o
"""


def upgrade() -> None:
    op.add_column("records", sa.Column("number", sa.BigInteger()))
    op.execute(NUMBER_EXISTING)
    op.create_index(
        "ix_records_number", "records", ["workspace_id", "object_type_id", "number"], unique=True
    )
    op.create_table(
        "record_numbers",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("object_type_id", BigId, primary_key=True),
        sa.Column("next_number", sa.BigInteger(), nullable=False),
    )
    op.execute(NEXT_NUMBERS)


def downgrade() -> None:
    op.drop_table("record_numbers")
    op.drop_index("ix_records_number", table_name="records")
    op.drop_column("records", "number")
