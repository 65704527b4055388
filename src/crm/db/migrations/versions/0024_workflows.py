"""workflows: categories, definitions, runs and their step logs; event log consumers

Every workspace's Administrator role may now manage workflows (``admin:workflows:manage``),
as new workspaces' do.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.db.types

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONDoc = crm.db.types.JSONDoc
MANAGE = "admin:workflows:manage"
roles = sa.table(
    "roles",
    sa.column("id", sa.BigInteger),
    sa.column("key", sa.String),
    sa.column("is_system", sa.Boolean),
    sa.column("permissions", sa.JSON),
)


def _grant(add: bool) -> None:
    conn = op.get_bind()
    admins = conn.execute(
        sa.select(roles.c.id, roles.c.permissions).where(
            roles.c.key == "admin", roles.c.is_system.is_(True)
        )
    )
    for role_id, held in admins.all():
        kept = [p for p in held if p != MANAGE]
        conn.execute(
            sa.update(roles)
            .where(roles.c.id == role_id)
            .values(permissions=[*kept, MANAGE] if add else kept)
        )


def upgrade() -> None:
    _grant(add=True)
    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("updated_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_consumers")),
    )
    op.create_table(
        "workflow_categories",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflow_categories_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_categories")),
    )
    with op.batch_alter_table("workflow_categories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_categories_number", ["workspace_id", "number"], unique=True
        )
        batch_op.create_index("ix_workflow_categories_uuid", ["workspace_id", "uuid"], unique=True)

    op.create_table(
        "workflows",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("object_type_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("category_id", BigId, nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", crm.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("runtime", sa.String(length=8), nullable=False),
        sa.Column("trigger", JSONDoc, nullable=False),
        sa.Column("conditions", JSONDoc, nullable=True),
        sa.Column("steps", JSONDoc, nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", crm.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["workflow_categories.id"],
            name=op.f("fk_workflows_category_id_workflow_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["object_type_id"],
            ["object_types.id"],
            name=op.f("fk_workflows_object_type_id_object_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflows_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
    )
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.create_index("ix_workflows_number", ["workspace_id", "number"], unique=True)
        batch_op.create_index(
            "ix_workflows_object", ["workspace_id", "object_type_id", "published"], unique=False
        )
        batch_op.create_index("ix_workflows_uuid", ["workspace_id", "uuid"], unique=True)

    op.create_table(
        "workflow_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", BigId, nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", JSONDoc, nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("event_uuid", sa.Uuid(), nullable=True),
        sa.Column("due_at", crm.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", crm.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", crm.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_runs_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflow_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_runs")),
    )
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_runs_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('pending', 'waiting')"),
            postgresql_where=sa.text("status IN ('pending', 'waiting')"),
        )
        batch_op.create_index(
            "ix_workflow_runs_record", ["workspace_id", "record_id", "id"], unique=False
        )
        batch_op.create_index("ix_workflow_runs_uuid", ["workspace_id", "uuid"], unique=True)
        batch_op.create_index(
            "ix_workflow_runs_workflow", ["workspace_id", "workflow_id", "id"], unique=False
        )

    op.create_table(
        "workflow_run_steps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", JSONDoc, nullable=True),
        sa.Column("at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_workflow_run_steps_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflow_run_steps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_run_steps")),
    )
    with op.batch_alter_table("workflow_run_steps", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_run_steps_run", ["run_id", "id"], unique=False)

    op.create_table(
        "workflow_date_fires",
        sa.Column("workflow_id", BigId, nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("moment", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_date_fires_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflow_date_fires_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workflow_id", "record_id", "moment", name=op.f("pk_workflow_date_fires")
        ),
    )


def downgrade() -> None:
    _grant(add=False)
    op.drop_table("workflow_date_fires")
    with op.batch_alter_table("workflow_run_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_run_steps_run")

    op.drop_table("workflow_run_steps")
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_runs_workflow")
        batch_op.drop_index("ix_workflow_runs_uuid")
        batch_op.drop_index("ix_workflow_runs_record")
        batch_op.drop_index(
            "ix_workflow_runs_due",
            sqlite_where=sa.text("status IN ('pending', 'waiting')"),
            postgresql_where=sa.text("status IN ('pending', 'waiting')"),
        )

    op.drop_table("workflow_runs")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_index("ix_workflows_uuid")
        batch_op.drop_index("ix_workflows_object")
        batch_op.drop_index("ix_workflows_number")

    op.drop_table("workflows")
    with op.batch_alter_table("workflow_categories", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_categories_uuid")
        batch_op.drop_index("ix_workflow_categories_number")

    op.drop_table("workflow_categories")
    op.drop_table("event_consumers")
