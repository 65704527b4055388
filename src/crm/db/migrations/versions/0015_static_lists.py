"""static lists of records, and per-workspace numbers for lists and notes

Lists and notes get numbers among their workspace's (1, 2, ...), for the faces that name
them by integers; the counters of things that are no records live in ``workspace_numbers``.
Existing notes are numbered in the order they were made.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

NUMBER_NOTES = """
UPDATE notes SET number = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY id) AS n FROM notes)
    AS numbered
WHERE notes.id = numbered.id
"""

NEXT_NOTE_NUMBERS = """
INSERT INTO workspace_numbers (workspace_id, name, next_number)
SELECT workspace_id, 'note', max(number) + 1 FROM notes GROUP BY workspace_id
"""


def upgrade() -> None:
    op.create_table(
        "workspace_numbers",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_workspace_numbers")),
    )
    op.add_column("notes", sa.Column("number", sa.BigInteger(), nullable=True))
    op.execute(NUMBER_NOTES)
    op.create_index("ix_notes_number", "notes", ["workspace_id", "number"], unique=True)
    op.execute(NEXT_NOTE_NUMBERS)
    op.create_table(
        "lists",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("object_type_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=600), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_type_id"],
            ["object_types.id"],
            name=op.f("fk_lists_object_type_id_object_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lists_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
        sa.UniqueConstraint("uuid", name=op.f("uq_lists_uuid")),
        sa.UniqueConstraint("workspace_id", "number", name=op.f("uq_lists_workspace_id_number")),
        sa.UniqueConstraint(
            "workspace_id",
            "object_type_id",
            "name_key",
            name=op.f("uq_lists_workspace_id_object_type_id_name_key"),
        ),
    )
    op.create_table(
        "list_members",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("list_id", BigId, nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("added_at", crm.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_list_members_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_list_members_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_list_members_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "record_id", name=op.f("pk_list_members")),
    )
    op.create_index(
        "ix_list_members_record", "list_members", ["record_id", "workspace_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_list_members_record", table_name="list_members")
    op.drop_table("list_members")
    op.drop_table("lists")
    op.drop_index("ix_notes_number", table_name="notes")
    op.drop_column("notes", "number")
    op.drop_table("workspace_numbers")
