"""How Leadflip shows leads, entities and events."""

from __future__ import annotations

from typing import Any

from crm.core.errors import FieldError, ValidationFailed
from crm.core.events.service import Event
from crm.core.metadata.model import ObjectMeta, PipelineMeta, WorkspaceMeta
from crm.core.pipelines.motion import pipelines_of
from crm.core.records.model import Record
from crm.core.records.values import render_fields

#: Core event types as Leadflip's event ``type`` and ``message``.
EVENTS = {
    "record.created": ("lead_created_event", "Lead created"),
    "record.updated": ("lead_updated_event", "Lead fields updated"),
    "record.stage_changed": ("lead_status_event", "Lead moved to new status"),
    "record.archived": ("lead_archived_event", "Lead archived"),
    "record.unarchived": ("lead_unarchived_event", "Lead restored from the archive"),
    "record.restored": ("lead_restored_event", "Lead restored"),
    "record.shared": ("lead_viewers_event", "Lead shared with viewers"),
    "record.unshared": ("lead_viewers_event", "Lead no longer shared with a viewer"),
    "record.duplicate_found": ("lead_duplicate_event", "Lead looks like a duplicate"),
    "note.created": ("lead_note_event", "Note added"),
    "note.updated": ("lead_note_event", "Note changed"),
    "note.deleted": ("lead_note_event", "Note deleted"),
}


def status_pipeline(meta: WorkspaceMeta, obj: ObjectMeta, ref: Any = None) -> PipelineMeta:
    """The pipeline ``status_step`` speaks of: the one named, else the entity's first."""
    found = pipelines_of(meta, obj)
    for pipeline in found:
        if ref is None or ref in (pipeline.key, str(pipeline.uuid)):
            return pipeline
    problem = (
        f"no pipeline {ref!r} on {obj.key}" if ref is not None else f"no pipeline on {obj.key}"
    )
    raise ValidationFailed.of([FieldError("pipeline" if ref else "status_step", problem)])


def stage_name(meta: WorkspaceMeta, pipeline: PipelineMeta, record: Record) -> str | None:
    stage = pipeline.stage_by_uuid(record.data.get(pipeline.key) or "")
    return stage.name if stage else None


def email_of(record: Record) -> str | None:
    """The record's first email address, as the batch answer shows it."""
    for f in record.object.ordered_fields:
        if f.type == "email" and record.data.get(f.key):
            return str(record.data[f.key])
    return None


def lead(meta: WorkspaceMeta, record: Record) -> dict[str, Any]:
    found = pipelines_of(meta, record.object)
    owner = meta.users.get(record.owner_id) if record.owner_id is not None else None
    return {
        "lead_id": str(record.uuid),
        "entity": str(record.object.uuid),
        "entity_slug": record.object.key,
        "status_step": stage_name(meta, found[0], record) if found else None,
        "fields": {
            k: v
            for k, v in render_fields(meta, record.object, record.data).items()
            if v is not None
        },
        "unmapped": record.unmapped,
        "assignee": str(owner.uuid) if owner else None,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def event(ev: Event) -> dict[str, Any]:
    kind, message = EVENTS.get(ev.type, (f"lead_{ev.type.split('.')[-1]}_event", ev.type))
    out: dict[str, Any] = {"type": kind, "message": message, "created_at": ev.created_at}
    if ev.type == "record.stage_changed":
        out["from"] = (ev.payload.get("from") or {}).get("name")
        out["to"] = (ev.payload.get("to") or {}).get("name")
    return out


def entity(obj: ObjectMeta) -> dict[str, Any]:
    return {
        "id": str(obj.uuid),
        "slug": obj.key,
        "label": obj.plural_label,
        "singular_label": obj.label,
        "fields": [
            {"key": f.key, "label": f.label, "type": f.type, "required": f.required}
            for f in obj.ordered_fields
            if not f.holds_links
        ],
    }
