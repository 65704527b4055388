"""agents and admins manage field definitions (admin:fields:manage)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMISSION = "admin:fields:manage"
ROLES = ("admin", "agent")

roles = sa.table(
    "roles",
    sa.column("id", sa.BigInteger),
    sa.column("key", sa.String),
    sa.column("is_system", sa.Boolean),
    sa.column("permissions", sa.JSON),
)


def _change(add: bool) -> None:
    conn = op.get_bind()
    found = conn.execute(
        sa.select(roles.c.id, roles.c.permissions).where(
            roles.c.key.in_(ROLES), roles.c.is_system.is_(True)
        )
    )
    for role_id, permissions in found.all():
        kept = [p for p in permissions if p != PERMISSION] + ([PERMISSION] if add else [])
        conn.execute(sa.update(roles).where(roles.c.id == role_id).values(permissions=kept))


def upgrade() -> None:
    _change(add=True)


def downgrade() -> None:
    _change(add=False)
