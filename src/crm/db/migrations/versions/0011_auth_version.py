"""a workspace's auth_version counts the changes of who may do what, bumped by triggers

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The columns whose change alters what a request made with a key may do, per table.
WATCHED = {
    "api_keys": ("revoked_at", "role_id", "user_id", "scopes", "key_hash", "workspace_id"),
    "roles": ("permissions", "key", "workspace_id"),
    "users": ("active", "role_id", "workspace_id"),
}

BUMP = "UPDATE workspaces SET auth_version = auth_version + 1 WHERE id"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION crm_bump_auth_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {BUMP} = OLD.workspace_id;
    ELSE
        {BUMP} IN (OLD.workspace_id, NEW.workspace_id);
    END IF;
    RETURN NULL;
END
$$
"""


def _changed(columns: Sequence[str], differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in columns)


def _postgresql(table: str, columns: Sequence[str]) -> list[str]:
    on = "EXECUTE FUNCTION crm_bump_auth_version()"
    return [
        f"CREATE TRIGGER crm_auth_{table}_update AFTER UPDATE OF {', '.join(columns)} "
        f"ON {table} FOR EACH ROW WHEN ({_changed(columns, 'IS DISTINCT FROM')}) {on}",
        f"CREATE TRIGGER crm_auth_{table}_delete AFTER DELETE ON {table} FOR EACH ROW {on}",
    ]


def _sqlite(table: str, columns: Sequence[str]) -> list[str]:
    return [
        f"CREATE TRIGGER crm_auth_{table}_update AFTER UPDATE OF {', '.join(columns)} "
        f"ON {table} FOR EACH ROW WHEN {_changed(columns, 'IS NOT')} "
        f"BEGIN {BUMP} IN (OLD.workspace_id, NEW.workspace_id); END",
        f"CREATE TRIGGER crm_auth_{table}_delete AFTER DELETE ON {table} FOR EACH ROW "
        f"BEGIN {BUMP} = OLD.workspace_id; END",
    ]


def upgrade() -> None:
    op.add_column(
        "workspaces", sa.Column("auth_version", sa.Integer(), nullable=False, server_default="1")
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(PG_FUNCTION)
    for table, columns in WATCHED.items():
        for statement in (_postgresql if postgresql else _sqlite)(table, columns):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for event in ("update", "delete"):
            op.execute(
                f"DROP TRIGGER IF EXISTS crm_auth_{table}_{event}"
                + (f" ON {table}" if postgresql else "")
            )
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS crm_bump_auth_version()")
    # Not in batch mode: SQLite's copy of the table would drop the old one, and with it
    # (by its cascades) every workspace's roles, users and keys.
    op.drop_column("workspaces", "auth_version")
