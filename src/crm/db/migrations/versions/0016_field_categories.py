"""field categories: each object type's named, ordered groups of fields

A field's ``group`` names a category of its object. Existing objects get one category per
group their fields use, labelled from its key and ordered by the group's first field, and
``general`` (first, when no field uses it).

Revision ID: 0016
Revises: 0015
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm.db.types import BigId, UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERAL = "general"

object_types = sa.table("object_types", sa.column("id", BigId), sa.column("workspace_id", BigId))
fields = sa.table(
    "fields",
    sa.column("id", BigId),
    sa.column("object_type_id", BigId),
    sa.column("group", sa.String),
    sa.column("position", sa.Integer),
)


def _backfill(table: sa.Table) -> None:
    conn = op.get_bind()
    workspace_of = dict(
        conn.execute(sa.select(object_types.c.id, object_types.c.workspace_id)).all()
    )
    groups: dict[int, list[str]] = {object_id: [] for object_id in workspace_of}
    ordered = conn.execute(
        sa.select(fields.c.object_type_id, fields.c.group).order_by(
            fields.c.object_type_id, fields.c.position, fields.c.id
        )
    )
    for object_id, group in ordered:
        if group not in groups[object_id]:
            groups[object_id].append(group)
    now = datetime.now(UTC)
    rows = [
        {
            "workspace_id": workspace_of[object_id],
            "uuid": uuid.uuid4(),
            "object_type_id": object_id,
            "key": key,
            "label": _label(key),
            "position": position,
            "created_at": now,
        }
        for object_id, keys in groups.items()
        for position, key in enumerate(keys if GENERAL in keys else [GENERAL, *keys], start=1)
    ]
    if rows:
        op.bulk_insert(table, rows)


def _label(key: str) -> str:
    """A label made from a key, as the application makes one in this revision:
    ``"contact_info"`` gives ``Contact info``."""
    words = " ".join(key.replace("_", " ").split())
    return words[:1].upper() + words[1:]


def upgrade() -> None:
    table = op.create_table(
        "field_categories",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("object_type_id", BigId, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_type_id"],
            ["object_types.id"],
            name=op.f("fk_field_categories_object_type_id_object_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_field_categories_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_categories")),
        sa.UniqueConstraint("uuid", name=op.f("uq_field_categories_uuid")),
        sa.UniqueConstraint(
            "object_type_id", "key", name=op.f("uq_field_categories_object_type_id_key")
        ),
    )
    op.create_index(op.f("ix_field_categories_workspace_id"), "field_categories", ["workspace_id"])
    assert table is not None
    _backfill(table)


def downgrade() -> None:
    op.drop_index(op.f("ix_field_categories_workspace_id"), table_name="field_categories")
    op.drop_table("field_categories")
