"""expression statistics for the indexed fields (PostgreSQL)

Revision ID: 0004
Revises: 0003

The planner does not use the statistics of a partial index's expression, so filters and
lookups on field values were planned blind. Each field index ``rx_<key>`` now has
statistics ``rs_<key>`` on the same expression (new ones get them when they are created).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELD_INDEXES = sa.text(
    "SELECT indexname FROM pg_indexes WHERE tablename = 'records' AND indexname LIKE 'rx\\_%'"
)


def _keys() -> list[str]:
    return [name.removeprefix("rx_") for name in op.get_bind().execute(_FIELD_INDEXES).scalars()]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    keys = _keys()
    for key in keys:
        op.execute(f"CREATE STATISTICS IF NOT EXISTS rs_{key} ON ((data -> '{key}')) FROM records")
    if keys:
        op.execute("ANALYZE records")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for key in _keys():
        op.execute(f"DROP STATISTICS IF EXISTS rs_{key}")
