"""writers pin a workspace's metadata in one round trip on PostgreSQL

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Volatile, so its SELECT takes a snapshot of its own after the lock is granted and sees a
# metadata change that committed while the writer waited (one statement could not: its
# snapshot predates the wait).
PIN = """
CREATE OR REPLACE FUNCTION crm_pin_metadata(workspace bigint, lock_key bigint)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(lock_key);
    RETURN (SELECT metadata_version FROM workspaces WHERE id = workspace);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PIN)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS crm_pin_metadata(bigint, bigint)")
