"""Flexie's names for fields, and what ``…/list/fields`` says of each.

A field's alias is its key, except where Flexie's default field set names it otherwise
(``internalStatus``); a workspace's own fields appear under their keys. Records also carry
``id`` (the record's number), ``owner_id`` (the owner's user number), ``date_added`` and
``date_modified``, and an object with a pipeline ``pipeline_id`` and ``stage_id`` (the
pipeline's number among the object's, and the stage's position in it, both from 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.core.errors import FieldError
from crm.core.metadata.model import FieldMeta, ObjectMeta, PipelineMeta, StageMeta, WorkspaceMeta

#: Flexie's alias of a core field where the two differ.
ALIASES = {"internal_status": "internalStatus"}
#: Other names Flexie clients send for a field (the quickstart writes ``firstname``).
SYNONYMS = {"firstname": "first_name", "lastname": "last_name"}
#: What a record shows that is no field; clients may send them back, and they are ignored.
READ_ONLY = ("id", "date_added", "date_modified", "created_by")
#: System attributes a list filters and sorts on, by alias: the core's name.
SYSTEM = {
    "id": "number",
    "owner_id": "owner_id",
    "date_added": "created_at",
    "date_modified": "updated_at",
}
_FROM_ALIAS = {alias: key for key, alias in ALIASES.items()}

#: Flexie's type of each core field type, for ``list/fields`` and filters.
TYPES = {
    "text": "text",
    "long_text": "textarea",
    "number": "number",
    "currency": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "select": "select",
    "multi_select": "multiselect",
    "stage": "select",
    "relation": "lookup",
    "user": "user",
}


def alias(f: FieldMeta) -> str:
    return ALIASES.get(f.key, f.key)


def field_named(obj: ObjectMeta, name: str) -> FieldMeta | None:
    """The field a client names by its alias, its key or a synonym."""
    key = _FROM_ALIAS.get(name, SYNONYMS.get(name, name))
    f = obj.fields.get(key)
    return f if f is not None and not f.holds_links else None


def unknown(obj: ObjectMeta, name: str) -> FieldError:
    return FieldError(name, f"is not a field of {obj.plural_label.lower()}", "unknown_field")


@dataclass(frozen=True)
class Staged:
    """An object's pipeline as Flexie numbers it."""

    field: FieldMeta
    pipeline: PipelineMeta
    number: int

    def stage(self, number: Any) -> StageMeta | None:
        if isinstance(number, bool) or not isinstance(number, int):
            return None
        return self.pipeline.stages[number - 1] if 0 < number <= len(self.pipeline.stages) else None

    def stage_number(self, stage_uuid: str | None) -> int | None:
        for i, s in enumerate(self.pipeline.stages, 1):
            if str(s.uuid) == stage_uuid:
                return i
        return None


def pipelines(meta: WorkspaceMeta, obj: ObjectMeta) -> list[Staged]:
    """The object's pipelines in their order of creation, each with its stage field."""
    stage_fields = {f.options.get("pipeline_id"): f for f in obj.value_fields if f.type == "stage"}
    own = sorted(
        (p for p in meta.pipelines.values() if p.object_type_id == obj.id), key=lambda p: p.id
    )
    return [
        Staged(stage_fields[str(p.uuid)], p, n)
        for n, p in enumerate(own, 1)
        if str(p.uuid) in stage_fields
    ]


def describe(meta: WorkspaceMeta, obj: ObjectMeta, f: FieldMeta) -> dict[str, Any]:
    """One field as ``list/fields`` shows it."""
    out: dict[str, Any] = {
        "id": f.id,
        "alias": alias(f),
        "label": f.label,
        "type": TYPES.get(f.type, f.type),
        "category": f.group,
        "required": f.required,
        "unique": f.unique,
        "order": f.position,
        "defaultValue": f.default,
        "isCustom": not f.is_standard,
    }
    choices = f.options.get("choices")
    if f.type == "stage":
        choices = [{"value": s.name, "label": s.name} for s in meta.pipeline_of(f).stages]
    if choices is not None:
        out["properties"] = {"choices": choices}
    if f.type == "relation":
        out["properties"] = {"object": f.options.get("object")}
    return out
