"""webhook subscriptions and their delivery log; admins manage webhooks

Managing webhooks is the permission ``admin:webhooks:manage``: owners hold it through
``admin:*:manage``, and the system admin role of every workspace gets it here.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import crm.db.types

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Moment = crm.db.types.UTCDateTime(timezone=True)

PERMISSION = "admin:webhooks:manage"

roles = sa.table(
    "roles",
    sa.column("id", sa.BigInteger),
    sa.column("key", sa.String),
    sa.column("is_system", sa.Boolean),
    sa.column("permissions", sa.JSON),
)


def _grant(add: bool) -> None:
    conn = op.get_bind()
    found = conn.execute(
        sa.select(roles.c.id, roles.c.permissions).where(
            roles.c.key == "admin", roles.c.is_system.is_(True)
        )
    )
    for role_id, permissions in found.all():
        kept = [p for p in permissions if p != PERMISSION] + ([PERMISSION] if add else [])
        conn.execute(sa.update(roles).where(roles.c.id == role_id).values(permissions=kept))


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event_types", JSONDoc, nullable=True),
        sa.Column("object_types", JSONDoc, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("failed_at", Moment, nullable=True),
        sa.Column("cursor_tx", sa.BigInteger(), nullable=False),
        sa.Column("cursor_id", sa.BigInteger(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("previous_secret", sa.String(length=100), nullable=True),
        sa.Column("previous_until", Moment, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", Moment, nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", Moment, nullable=True),
        sa.Column("served_at", Moment, nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_subscriptions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
        sa.UniqueConstraint("uuid", name=op.f("uq_webhook_subscriptions_uuid")),
    )
    op.create_index(
        "ix_webhook_subscriptions_listing", "webhook_subscriptions", ["workspace_id", "id"]
    )
    op.create_index(
        "ix_webhook_subscriptions_due", "webhook_subscriptions", ["status", "next_attempt_at"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("subscription_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("event_uuid", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("uuid", name=op.f("uq_webhook_deliveries_uuid")),
    )
    op.create_index(
        "ix_webhook_deliveries_subscription", "webhook_deliveries", ["subscription_id", "id"]
    )
    _grant(add=True)


def downgrade() -> None:
    _grant(add=False)
    op.drop_index("ix_webhook_deliveries_subscription", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_subscriptions_due", table_name="webhook_subscriptions")
    op.drop_index("ix_webhook_subscriptions_listing", table_name="webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
