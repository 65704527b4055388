"""the standard objects take Flexie's default field set

Leads and companies get a ``status``; statuses gain "Qualify", sources "Meeting", and a
case's public and internal statuses the values Flexie's examples use ("New Opened",
"In Process", "open"). A workspace's own choices stay; only missing ones are added, and a
field the workspace already has is left as it is. Downgrading keeps the fields and their
values: removing them would lose data.

Revision ID: 0019
Revises: 0018
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crm.db.types import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
STATUSES = ["New", "Contacted", "Qualify", "Qualified", "Nurture", "Customer", "Unqualified"]
#: Choices each standard field should offer, by (object key, field key).
CHOICES = {
    ("contact", "status"): STATUSES,
    ("lead", "status"): STATUSES,
    ("company", "status"): STATUSES,
    ("contact", "source"): ["Meeting"],
    ("lead", "source"): ["Meeting"],
    ("deal", "source"): ["Meeting"],
    ("case", "public_status"): ["New Opened", "In Process"],
    ("case", "internal_status"): ["Open", "Closed"],
}
NEW_FIELDS = ("lead", "company")

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
    sa.column("is_standard", sa.Boolean),
    sa.column("options", _JSON),
    sa.column("position", sa.Integer),
    sa.column("created_at", UTCDateTime),
)
workspaces = sa.table(
    "workspaces", sa.column("id", sa.BigInteger), sa.column("metadata_version", sa.Integer)
)


def _with(choices: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    have = {c["value"].casefold() for c in choices}
    return choices + [{"value": w, "label": w} for w in wanted if w.casefold() not in have]


def upgrade() -> None:
    conn = op.get_bind()
    standard = {
        (r.id): (r.workspace_id, r.key)
        for r in conn.execute(
            sa.select(object_types.c.id, object_types.c.workspace_id, object_types.c.key).where(
                object_types.c.is_standard, object_types.c.key.in_({k for k, _ in CHOICES})
            )
        )
    }
    rows = conn.execute(
        sa.select(
            fields.c.id,
            fields.c.object_type_id,
            fields.c.key,
            fields.c.type,
            fields.c.options,
            fields.c.position,
        ).where(fields.c.object_type_id.in_(list(standard)))
    ).all()
    held = {(r.object_type_id, r.key) for r in rows}
    last: dict[int, int] = {}
    for r in rows:
        last[r.object_type_id] = max(last.get(r.object_type_id, 0), r.position)
        wanted = CHOICES.get((standard[r.object_type_id][1], r.key))
        if wanted and r.type in ("select", "multi_select"):
            options = dict(r.options)
            choices = _with(list(options.get("choices", [])), wanted)
            if choices != options.get("choices"):
                options["choices"] = choices
                conn.execute(sa.update(fields).where(fields.c.id == r.id).values(options=options))
    now = datetime.now(UTC)
    for type_id, (workspace_id, key) in standard.items():
        if key not in NEW_FIELDS or (type_id, "status") in held:
            continue
        conn.execute(
            sa.insert(fields).values(
                workspace_id=workspace_id,
                uuid=uuid.uuid4(),
                object_type_id=type_id,
                key="status",
                label="Status",
                type="select",
                group="general",
                is_standard=True,
                options={"choices": _with([], STATUSES)},
                position=last.get(type_id, 0) + 1,
                created_at=now,
            )
        )
    conn.execute(sa.update(workspaces).values(metadata_version=workspaces.c.metadata_version + 1))


def downgrade() -> None:
    """The added fields and choices stay (see the module's docstring)."""
