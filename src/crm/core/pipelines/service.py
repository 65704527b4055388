"""Pipelines and their stages. A pipeline gives its object a ``stage`` field keyed like it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from crm.core.events import append_event
from crm.core.ids import parse_uuid, uuid7
from crm.core.metadata import repository
from crm.core.metadata.model import PipelineMeta, WorkspaceMeta
from crm.core.metadata.service import (
    drop_field,
    ensure_category,
    fresh_metadata,
    insert_field,
    metadata_for,
    metadata_to_change,
)
from crm.core.metadata.validation import check_key, check_label
from crm.db import jsonsql
from crm.db.schema import pipelines, records, stages

STAGE_KINDS = ("open", "won", "lost")
#: The group, and so the field category, of every pipeline's stage field.
STAGE_GROUP = "pipeline"
_STAGE_SPEC = {"id", "name", "kind", "probability", "color", "system_key"}


def _require(principal: Principal, action: str) -> None:
    principal.require_scope("pipeline", action)
    if action not in ("list", "read"):
        principal.require_admin("objects")


def _check_stages(raw: Any) -> tuple[list[dict[str, Any]], list[FieldError]]:
    if not isinstance(raw, list) or not raw:
        return [], [FieldError("stages", "must be a non-empty list")]
    errors: list[FieldError] = []
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, stage in enumerate(raw):
        where = f"stages[{i}]"
        if not isinstance(stage, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        errors += [
            FieldError(f"{where}.{k}", "unknown attribute", "unknown")
            for k in stage
            if k not in _STAGE_SPEC
        ]
        errors += check_label(stage.get("name"), f"{where}.name")
        name = str(stage.get("name", "")).strip()
        if name.casefold() in names:
            errors.append(FieldError(f"{where}.name", f"stage {name!r} is repeated"))
        names.add(name.casefold())
        kind = stage.get("kind", "open")
        if kind not in STAGE_KINDS:
            errors.append(FieldError(f"{where}.kind", "must be open, won or lost"))
        probability = stage.get("probability", 100 if kind == "won" else 0)
        if (
            not isinstance(probability, int)
            or isinstance(probability, bool)
            or not (0 <= probability <= 100)
        ):
            errors.append(FieldError(f"{where}.probability", "must be an integer from 0 to 100"))
        color = stage.get("color")
        if color is not None and (not isinstance(color, str) or len(color) > 16):
            errors.append(FieldError(f"{where}.color", "must be a short string such as #4f46e5"))
        system_key = stage.get("system_key")
        if system_key is not None and check_key(system_key):
            errors.append(FieldError(f"{where}.system_key", "must be snake_case"))
        out.append(
            {
                "id": stage.get("id"),
                "name": name,
                "kind": kind,
                "probability": probability,
                "color": color,
                "system_key": system_key,
            }
        )
    return out, errors


def stage_rows(
    workspace_id: int, pipeline_id: int, specs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The ``stages`` rows of a checked pipeline's stages, in order."""
    return [
        {
            "workspace_id": workspace_id,
            "uuid": uuid7(),
            "pipeline_id": pipeline_id,
            "name": s["name"],
            "kind": s["kind"],
            "probability": s["probability"],
            "color": s["color"],
            "system_key": s["system_key"],
            "position": i,
        }
        for i, s in enumerate(specs)
    ]


async def _insert_stages(
    conn: AsyncConnection, workspace_id: int, pipeline_id: int, specs: list[dict[str, Any]]
) -> None:
    await conn.execute(sa.insert(stages), stage_rows(workspace_id, pipeline_id, specs))


def pipeline_row(workspace_id: int, object_type_id: int, *, key: str, label: str) -> dict[str, Any]:
    """The ``pipelines`` row of a checked pipeline."""
    return {
        "workspace_id": workspace_id,
        "uuid": uuid7(),
        "object_type_id": object_type_id,
        "key": key,
        "label": label,
        "created_at": utcnow(),
    }


def stage_field(row: dict[str, Any]) -> dict[str, Any]:
    """The definition of the ``stage`` field a pipeline (its ``pipelines`` row) gives its
    object."""
    return {
        "key": row["key"],
        "label": row["label"],
        "type": "stage",
        "group": STAGE_GROUP,
        "indexed": True,
        "options": {"pipeline_id": str(row["uuid"])},
        "position": 100,
    }


async def insert_pipeline(
    conn: AsyncConnection,
    workspace_id: int,
    object_type_id: int,
    *,
    key: str,
    label: str,
    stage_specs: list[dict[str, Any]],
    is_standard: bool,
) -> int:
    """Store a checked pipeline, its stages and its stage field (the API)."""
    row = pipeline_row(workspace_id, object_type_id, key=key, label=label)
    pipeline_id = (
        await conn.execute(sa.insert(pipelines).values(**row).returning(pipelines.c.id))
    ).scalar_one()
    await _insert_stages(conn, workspace_id, pipeline_id, stage_specs)
    await insert_field(
        conn, workspace_id, object_type_id, stage_field(row), is_standard=is_standard
    )
    return int(pipeline_id)


async def list_pipelines(
    conn: AsyncConnection, principal: Principal, *, object_key: str | None = None
) -> tuple[WorkspaceMeta, list[PipelineMeta]]:
    _require(principal, "list")
    meta = await metadata_for(conn, principal)
    found = sorted(meta.pipelines.values(), key=lambda p: p.id)
    if object_key is not None:
        obj = meta.object(object_key)
        found = [p for p in found if p.object_type_id == obj.id]
    return meta, found


def find_pipeline(meta: WorkspaceMeta, ref: str) -> PipelineMeta:
    """A pipeline by UUID, by ``object.key`` (``lead.stage``), or by key when only one
    object has a pipeline with that key."""
    wanted = parse_uuid(ref)
    if wanted is not None:
        found = [p for p in meta.pipelines.values() if p.uuid == wanted]
    else:
        object_key, _, key = ref.rpartition(".")
        found = [
            p
            for p in meta.pipelines.values()
            if p.key == key and object_key in ("", meta.objects_by_id[p.object_type_id].key)
        ]
    if len(found) > 1:
        owners = ", ".join(sorted(meta.objects_by_id[p.object_type_id].key for p in found))
        raise NotFound(
            f"Several pipelines are keyed {ref!r} ({owners}): name one as object.key or by id"
        )
    if not found:
        raise NotFound(f"Pipeline {ref!r} not found")
    return found[0]


async def get_pipeline(
    conn: AsyncConnection, principal: Principal, ref: str
) -> tuple[WorkspaceMeta, PipelineMeta]:
    _require(principal, "read")
    meta = await metadata_for(conn, principal)
    return meta, find_pipeline(meta, ref)


async def create_pipeline(
    conn: AsyncConnection, principal: Principal, spec: dict[str, Any]
) -> tuple[WorkspaceMeta, PipelineMeta]:
    """Create a pipeline on an object; its stage field appears on that object."""
    _require(principal, "create")
    allowed = {"key", "label", "object", "stages"}
    errors = [FieldError(k, "unknown attribute", "unknown") for k in spec if k not in allowed]
    errors += check_key(spec.get("key")) + check_label(spec.get("label"))
    if not isinstance(spec.get("object"), str):
        errors.append(FieldError("object", "must name an object type"))
    stage_specs, stage_errors = _check_stages(spec.get("stages"))
    errors += stage_errors
    if errors:
        raise ValidationFailed.of(errors)
    meta = await metadata_to_change(conn, principal)
    obj = meta.object(spec["object"])
    if spec["key"] in obj.fields:
        raise Conflict(f"{obj.key} already has a field keyed {spec['key']!r}")
    await ensure_category(conn, principal, obj, STAGE_GROUP)
    pipeline_id = await insert_pipeline(
        conn,
        principal.workspace_id,
        obj.id,
        key=spec["key"],
        label=spec["label"].strip(),
        stage_specs=stage_specs,
        is_standard=False,
    )
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "pipeline.created",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "pipeline": spec["key"]},
    )
    fresh = await fresh_metadata(conn, principal.workspace_id)
    return fresh, fresh.pipelines[pipeline_id]


async def _count_in_stage(
    conn: AsyncConnection, workspace_id: int, pipeline: PipelineMeta, stage_uuid: str
) -> int:
    expr = jsonsql.value_expr(conn.dialect.name, pipeline.key)
    return int(
        (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    records.c.workspace_id == workspace_id,
                    records.c.object_type_id == pipeline.object_type_id,
                    records.c.deleted_at.is_(None),
                    expr == jsonsql.bind_value(conn.dialect.name, stage_uuid),
                )
            )
        ).scalar_one()
    )


async def update_pipeline(
    conn: AsyncConnection, principal: Principal, ref: str, spec: dict[str, Any]
) -> tuple[WorkspaceMeta, PipelineMeta]:
    """Relabel a pipeline and/or replace its stage list.

    Stages given with an ``id`` keep their identity (and the records in them); stages left
    out are removed, which is refused with 409 while records are in them.
    """
    _require(principal, "update")
    allowed = {"label", "stages"}
    errors = [FieldError(k, "unknown attribute", "unknown") for k in spec if k not in allowed]
    if "label" in spec:
        errors += check_label(spec["label"])
    stage_specs: list[dict[str, Any]] = []
    if "stages" in spec:
        stage_specs, stage_errors = _check_stages(spec["stages"])
        errors += stage_errors
    if errors:
        raise ValidationFailed.of(errors)
    meta = await metadata_to_change(conn, principal)
    pipeline = find_pipeline(meta, ref)
    if "label" in spec:
        await conn.execute(
            sa.update(pipelines)
            .where(pipelines.c.id == pipeline.id)
            .values(label=spec["label"].strip())
        )
    if "stages" in spec:
        await _replace_stages(conn, principal.workspace_id, pipeline, stage_specs)
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "pipeline.updated",
        actor=principal,
        object_type_id=pipeline.object_type_id,
        payload={"pipeline": pipeline.key},
    )
    fresh = await fresh_metadata(conn, principal.workspace_id)
    return fresh, fresh.pipelines[pipeline.id]


async def _replace_stages(
    conn: AsyncConnection,
    workspace_id: int,
    pipeline: PipelineMeta,
    specs: list[dict[str, Any]],
) -> None:
    existing = {str(s.uuid): s for s in pipeline.stages}
    kept: set[str] = set()
    for spec in specs:
        if spec["id"] is not None:
            if str(spec["id"]) not in existing:
                raise ValidationFailed.of([FieldError("stages", f"no stage {spec['id']!r} here")])
            kept.add(str(spec["id"]))
    for stage_uuid, stage in existing.items():
        if stage_uuid not in kept:
            in_use = await _count_in_stage(conn, workspace_id, pipeline, stage_uuid)
            if in_use:
                raise Conflict(
                    f"Stage {stage.name!r} still holds {in_use} records; move them first",
                    [{"field": "stages", "code": "in_use", "message": stage.name}],
                )
            await conn.execute(sa.delete(stages).where(stages.c.id == stage.id))
    for position, spec in enumerate(specs):
        values = {
            "name": spec["name"],
            "kind": spec["kind"],
            "probability": spec["probability"],
            "color": spec["color"],
            "system_key": spec["system_key"],
            "position": position,
        }
        if spec["id"] is not None:
            await conn.execute(
                sa.update(stages)
                .where(stages.c.id == existing[str(spec["id"])].id)
                .values(**values)
            )
        else:
            await conn.execute(
                sa.insert(stages).values(
                    workspace_id=workspace_id, uuid=uuid7(), pipeline_id=pipeline.id, **values
                )
            )


async def delete_pipeline(conn: AsyncConnection, principal: Principal, ref: str) -> None:
    """Delete a pipeline, its stages and its stage field's values."""
    _require(principal, "delete")
    meta = await metadata_to_change(conn, principal)
    pipeline = find_pipeline(meta, ref)
    obj = meta.objects_by_id[pipeline.object_type_id]
    if obj.field(pipeline.key).is_standard:
        raise Conflict(f"The standard pipeline {pipeline.label!r} cannot be deleted")
    await drop_field(conn, principal.workspace_id, obj, obj.field(pipeline.key))
    await conn.execute(sa.delete(pipelines).where(pipelines.c.id == pipeline.id))
    await append_event(
        conn,
        principal.workspace_id,
        "pipeline.deleted",
        actor=principal,
        object_type_id=obj.id,
        payload={"pipeline": pipeline.key},
    )
