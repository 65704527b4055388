"""The system roles, standard object types, fields and pipelines of a new workspace, stored
with one statement per table rather than one per row (``crm workspace create``, the first start and
every test's workspace run this)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.roles import SYSTEM_ROLES
from crm.core.clock import utcnow
from crm.core.metadata.fieldtypes import FIELD_TYPES
from crm.core.metadata.model import DUPLICATE_KEY_TYPES
from crm.core.metadata.service import category_row, ensure_indexes, field_row, object_row
from crm.core.metadata.standard import STANDARD_OBJECTS
from crm.core.pipelines.service import STAGE_GROUP, pipeline_row, stage_field, stage_rows
from crm.db.schema import field_categories, fields, object_types, pipelines, roles, stages

#: Standard fields indexed from the start: what CRM users filter and sort on most.
INDEXED_STANDARD = frozenset(
    {
        "email",
        "phone",
        "name",
        "status",
        "city",
        "amount",
        "close_date",
        "identifier",
        "due_date",
        "last_name",
    }
)


def standard_object(spec: dict[str, Any]) -> dict[str, Any]:
    """What ``object_row`` takes for the standard object ``spec``."""
    return {
        "key": spec["key"],
        "label": spec["label"],
        "plural_label": spec["plural_label"],
        "display_fields": spec["display_fields"],
        "is_standard": True,
    }


def standard_stages(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """The stage specs of a standard pipeline, as ``stage_rows`` takes them."""
    return [{"color": None, "system_key": None, **stage} for stage in pipeline["stages"]]


def standard_field(field: dict[str, Any], position: int) -> dict[str, Any]:
    """The checked definition of a standard field at ``position``."""
    kind = FIELD_TYPES[field["type"]]
    return {
        **field,
        "position": position,
        "options": kind.check_options(field.get("options", {})),
        "indexed": field["key"] in INDEXED_STANDARD or field.get("type") in DUPLICATE_KEY_TYPES,
    }


def standard_categories(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """What ``category_row`` takes for each category of the standard object ``spec``, in
    order: its own, then its pipeline's stage field's."""
    labels = dict(spec["categories"])
    if "pipeline" in spec:
        labels.setdefault(STAGE_GROUP, None)
    return [
        {"key": key, "label": label, "position": position}
        for position, (key, label) in enumerate(labels.items(), start=1)
    ]


async def seed_roles(conn: AsyncConnection, workspace_id: int) -> None:
    """Insert the system roles into a new workspace, numbered in ``SYSTEM_ROLES`` order."""
    now = utcnow()
    await conn.execute(
        sa.insert(roles),
        [
            {
                "workspace_id": workspace_id,
                "key": key,
                "number": number,
                "name": role.name,
                "description": None,
                "permissions": list(role.permissions),
                "is_system": True,
                "created_at": now,
                "updated_at": now,
            }
            for number, (key, role) in enumerate(SYSTEM_ROLES.items(), start=1)
        ],
    )


async def _ids_by_key(conn: AsyncConnection, table: sa.Table, workspace_id: int) -> dict[str, int]:
    found = await conn.execute(
        sa.select(table.c.key, table.c.id).where(table.c.workspace_id == workspace_id)
    )
    return {row.key: row.id for row in found}


async def seed_standard_objects(conn: AsyncConnection, workspace_id: int) -> None:
    """Insert the standard object types, field categories, fields and pipelines into a new
    workspace.

    Rows are numbered in the order of ``STANDARD_OBJECTS``: each object's categories and
    fields by position, then the stage field of its pipeline, if it has one.
    """
    await conn.execute(
        sa.insert(object_types),
        [object_row(workspace_id, **standard_object(spec)) for spec in STANDARD_OBJECTS],
    )
    object_ids = await _ids_by_key(conn, object_types, workspace_id)
    await conn.execute(
        sa.insert(field_categories),
        [
            category_row(workspace_id, object_ids[spec["key"]], **category)
            for spec in STANDARD_OBJECTS
            for category in standard_categories(spec)
        ],
    )
    with_pipeline = [spec for spec in STANDARD_OBJECTS if "pipeline" in spec]
    pipeline_rows = {
        spec["key"]: pipeline_row(
            workspace_id,
            object_ids[spec["key"]],
            key=spec["pipeline"]["key"],
            label=spec["pipeline"]["label"],
        )
        for spec in with_pipeline
    }
    if pipeline_rows:
        await conn.execute(sa.insert(pipelines), list(pipeline_rows.values()))
        found = await conn.execute(
            sa.select(pipelines.c.object_type_id, pipelines.c.id).where(
                pipelines.c.workspace_id == workspace_id
            )
        )
        pipeline_ids = {row.object_type_id: row.id for row in found}
        await conn.execute(
            sa.insert(stages),
            [
                row
                for spec in with_pipeline
                for row in stage_rows(
                    workspace_id,
                    pipeline_ids[object_ids[spec["key"]]],
                    standard_stages(spec["pipeline"]),
                )
            ],
        )
    field_rows = []
    for spec in STANDARD_OBJECTS:
        object_id = object_ids[spec["key"]]
        field_rows += [
            field_row(workspace_id, object_id, standard_field(field, position), is_standard=True)
            for position, field in enumerate(spec["fields"], start=1)
        ]
        if spec["key"] in pipeline_rows:
            pipeline = stage_field(pipeline_rows[spec["key"]])
            field_rows.append(field_row(workspace_id, object_id, pipeline, is_standard=True))
    await conn.execute(sa.insert(fields), field_rows)
    await ensure_indexes(conn, [row["key"] for row in field_rows if row["indexed"]])
