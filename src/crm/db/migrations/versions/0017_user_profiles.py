"""users get numbers, usernames and profiles, and are deleted softly; roles get numbers and
descriptions

Existing users and roles are numbered in the order they were made, per workspace. Existing
users are given their email's local part as username, lower-cased, with ``-2``, ``-3``, ...
where two would share one. A deleted user's keys are refused, and a trigger bumps the
workspace's ``auth_version`` when ``deleted_at`` changes, as 0011's do for ``active``.

Revision ID: 0017
Revises: 0016
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import crm.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBER_EXISTING = """
UPDATE {table} SET number = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY id) AS n FROM {table})
AS numbered
WHERE {table}.id = numbered.id
"""

BUMP = "UPDATE workspaces SET auth_version = auth_version + 1 WHERE id"
PG_TRIGGER = (
    "CREATE TRIGGER crm_auth_users_deleted AFTER UPDATE OF deleted_at ON users FOR EACH ROW "
    "WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) "
    "EXECUTE FUNCTION crm_bump_auth_version()"
)
SQLITE_TRIGGER = (
    "CREATE TRIGGER crm_auth_users_deleted AFTER UPDATE OF deleted_at ON users FOR EACH ROW "
    f"WHEN OLD.deleted_at IS NOT NEW.deleted_at BEGIN {BUMP} = NEW.workspace_id; END"
)

USER_COLUMNS: list[sa.Column[Any]] = [
    sa.Column("number", sa.BigInteger()),
    sa.Column("username", sa.String(100)),
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("position", sa.String(200)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("locale", sa.String(16)),
    sa.Column("deleted_at", crm.db.types.UTCDateTime(timezone=True)),
]
ROLE_COLUMNS: list[sa.Column[Any]] = [
    sa.Column("number", sa.BigInteger()),
    sa.Column("description", sa.String(1000)),
]


def _usernames(rows: Sequence[tuple[int, int, str]]) -> list[dict[str, object]]:
    """Each user's username: its email's local part without spaces or control characters
    (at most 90 characters, or ``user``), made unique in its workspace in id order."""
    taken: set[tuple[int, str]] = set()
    out: list[dict[str, object]] = []
    for user_id, workspace_id, email in rows:
        base = re.sub(r"[\s\x00-\x1f\x7f]", "", email.rpartition("@")[0])[:90] or "user"
        candidate, n = base, 1
        while (workspace_id, candidate) in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add((workspace_id, candidate))
        out.append({"user_id": user_id, "username": candidate})
    return out


def upgrade() -> None:
    for column in USER_COLUMNS:
        op.add_column("users", column)
    for column in ROLE_COLUMNS:
        op.add_column("roles", column)
    for table in ("users", "roles"):
        op.execute(NUMBER_EXISTING.format(table=table))
    bind = op.get_bind()
    found = bind.execute(sa.text("SELECT id, workspace_id, email FROM users ORDER BY id"))
    named = _usernames([(row.id, row.workspace_id, row.email) for row in found])
    if named:
        bind.execute(sa.text("UPDATE users SET username = :username WHERE id = :user_id"), named)
    op.create_index("ix_users_number", "users", ["workspace_id", "number"], unique=True)
    op.create_index("ix_users_username", "users", ["workspace_id", "username"], unique=True)
    op.create_index("ix_roles_number", "roles", ["workspace_id", "number"], unique=True)
    op.execute(PG_TRIGGER if bind.dialect.name == "postgresql" else SQLITE_TRIGGER)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(
        "DROP TRIGGER IF EXISTS crm_auth_users_deleted" + (" ON users" if postgresql else "")
    )
    op.drop_index("ix_roles_number", table_name="roles")
    op.drop_index("ix_users_username", table_name="users")
    op.drop_index("ix_users_number", table_name="users")
    # Not in batch mode: SQLite's copy of a table would drop the old one, and with it (by
    # its cascades) every workspace's users and keys.
    for column in reversed(ROLE_COLUMNS):
        op.drop_column("roles", column.name)
    for column in reversed(USER_COLUMNS):
        op.drop_column("users", column.name)
