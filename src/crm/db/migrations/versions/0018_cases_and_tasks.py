"""case replies and reply templates; task reminders; tasks get category and completed_by

Every existing workspace's task object gets the two new standard fields (unless it has a
field of that key already), at the end of its fields, and its metadata version moves.

Revision ID: 0018
Revises: 0017
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import crm.db.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

CATEGORIES = ["Call", "Email", "Meeting", "To-do", "Follow-up", "Other"]
#: The new standard fields of ``task``, in the order they follow its last field.
FIELDS = [
    {
        "key": "category",
        "label": "Category",
        "type": "select",
        "options": {"choices": [{"value": c, "label": c} for c in CATEGORIES]},
    },
    {"key": "completed_by", "label": "Completed by", "type": "user", "options": {}},
]

object_types = sa.table(
    "object_types",
    sa.column("id", sa.BigInteger),
    sa.column("workspace_id", sa.BigInteger),
    sa.column("key", sa.String),
    sa.column("is_standard", sa.Boolean),
)
fields = sa.table(
    "fields",
    sa.column("id", sa.BigInteger),
    sa.column("workspace_id", sa.BigInteger),
    sa.column("uuid", sa.Uuid),
    sa.column("object_type_id", sa.BigInteger),
    sa.column("key", sa.String),
    sa.column("label", sa.String),
    sa.column("type", sa.String),
    sa.column("group", sa.String),
    sa.column("required", sa.Boolean),
    sa.column("unique", sa.Boolean),
    sa.column("searchable", sa.Boolean),
    sa.column("indexed", sa.Boolean),
    sa.column("is_standard", sa.Boolean),
    sa.column("options", sa.JSON),
    sa.column("position", sa.Integer),
    sa.column("created_at", crm.db.types.UTCDateTime),
)
workspaces = sa.table(
    "workspaces", sa.column("id", sa.BigInteger), sa.column("metadata_version", sa.Integer)
)
records = sa.table(
    "records", sa.column("object_type_id", sa.BigInteger), sa.column("data", sa.JSON)
)


def _task_objects(conn: sa.Connection) -> dict[int, int]:
    """The workspace of each standard task object, by the object's id."""
    found = conn.execute(
        sa.select(object_types.c.id, object_types.c.workspace_id).where(
            object_types.c.key == "task", object_types.c.is_standard.is_(True)
        )
    )
    return {object_id: workspace_id for object_id, workspace_id in found.all()}


def _bump(conn: sa.Connection, workspace_ids: set[int]) -> None:
    if workspace_ids:
        conn.execute(
            sa.update(workspaces)
            .where(workspaces.c.id.in_(workspace_ids))
            .values(metadata_version=workspaces.c.metadata_version + 1)
        )


def _add_fields() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows, changed = [], set()
    for object_id, workspace_id in _task_objects(conn).items():
        present = dict(
            conn.execute(
                sa.select(fields.c.key, fields.c.position).where(
                    fields.c.object_type_id == object_id
                )
            ).all()
        )
        last = max(present.values(), default=0)
        for spec in FIELDS:
            if spec["key"] in present:
                continue
            last += 1
            rows.append(
                {
                    **spec,
                    "workspace_id": workspace_id,
                    "uuid": uuid.uuid4(),
                    "object_type_id": object_id,
                    "group": "general",
                    "required": False,
                    "unique": False,
                    "searchable": False,
                    "indexed": False,
                    "is_standard": True,
                    "position": last,
                    "created_at": now,
                }
            )
            changed.add(workspace_id)
    if rows:
        conn.execute(sa.insert(fields), rows)
    _bump(conn, changed)


def _drop_fields() -> None:
    """Take the standard fields away again, with their values."""
    conn = op.get_bind()
    keys = [spec["key"] for spec in FIELDS]
    tasks = _task_objects(conn)
    standard = sa.and_(
        fields.c.object_type_id.in_(tasks), fields.c.key.in_(keys), fields.c.is_standard.is_(True)
    )
    holders = set(conn.execute(sa.select(fields.c.object_type_id).where(standard)).scalars())
    if not holders:
        return
    stripped: sa.ColumnElement[object]
    if conn.dialect.name == "postgresql":
        stripped = sa.literal_column("data - 'category' - 'completed_by'")
    else:
        stripped = sa.literal_column("json_remove(data, '$.category', '$.completed_by')")
    conn.execute(
        sa.update(records).where(records.c.object_type_id.in_(holders)).values(data=stripped)
    )
    conn.execute(sa.delete(fields).where(standard))
    _bump(conn, {tasks[object_id] for object_id in holders})


def upgrade() -> None:
    op.create_table(
        "reply_templates",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_reply_templates_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
        sa.UniqueConstraint("uuid", name=op.f("uq_reply_templates_uuid")),
        sa.UniqueConstraint(
            "workspace_id", "number", name=op.f("uq_reply_templates_workspace_id_number")
        ),
    )
    op.create_table(
        "case_replies",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("author_id", BigId, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template_id", BigId, nullable=True),
        sa.Column("created_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_case_replies_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_case_replies_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["reply_templates.id"],
            name=op.f("fk_case_replies_template_id_reply_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_case_replies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_replies")),
        sa.UniqueConstraint("uuid", name=op.f("uq_case_replies_uuid")),
    )
    op.create_index(
        "ix_case_replies_record", "case_replies", ["workspace_id", "record_id", "created_at"]
    )
    op.create_index("ix_case_replies_record_id", "case_replies", ["record_id"])
    op.create_table(
        "task_reminders",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("remind_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raised_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_task_reminders_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_task_reminders_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "remind_at", name=op.f("pk_task_reminders")),
    )
    _add_fields()


def downgrade() -> None:
    _drop_fields()
    op.drop_table("task_reminders")
    op.drop_index("ix_case_replies_record_id", table_name="case_replies")
    op.drop_index("ix_case_replies_record", table_name="case_replies")
    op.drop_table("case_replies")
    op.drop_table("reply_templates")
