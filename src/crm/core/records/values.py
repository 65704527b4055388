"""Turning field input into stored values, and stored values into what clients read."""

from __future__ import annotations

from typing import Any

from crm.core.errors import FieldError
from crm.core.metadata.fieldtypes import FieldValueError
from crm.core.metadata.model import FieldMeta, ObjectMeta, WorkspaceMeta

#: Stored text is cut to this for the search column; display names to 500 characters.
SEARCH_TEXT_LIMIT = 4000


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def parse_value(meta: WorkspaceMeta, f: FieldMeta, value: Any) -> Any:
    """One input value in stored form (``None`` clears); raises FieldValueError."""
    if f.holds_links:
        raise FieldValueError("links many records: set them through the record's links")
    if _empty(value):
        return None
    stored = f.kind.parse(value, f.context)
    if f.type == "stage":
        stage = meta.pipeline_of(f).stage(stored)
        if stage is None:
            names = ", ".join(s.name for s in meta.pipeline_of(f).stages)
            raise FieldValueError(f"no stage {stored!r}; stages are: {names}")
        return str(stage.uuid)
    if f.type == "user":
        user = meta.user(stored)
        if user is None:
            raise FieldValueError(f"no user {stored!r} in this workspace")
        return str(user.uuid)
    return _empty_to_none(stored)


def _empty_to_none(value: Any) -> Any:
    return None if _empty(value) else value


def parse_fields(
    meta: WorkspaceMeta, obj: ObjectMeta, raw: Any
) -> tuple[dict[str, Any], list[FieldError]]:
    """Parse a ``fields`` object: stored values by key (None means clear) and per-field errors."""
    if not isinstance(raw, dict):
        return {}, [FieldError("fields", "must be an object of field values")]
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in raw.items():
        f = obj.fields.get(key)
        if f is None:
            errors.append(FieldError(key, f"{obj.key} has no field {key!r}", "unknown_field"))
            continue
        try:
            out[key] = parse_value(meta, f, value)
        except FieldValueError as exc:
            errors.append(FieldError(key, str(exc)))
    return out, errors


def apply_defaults(obj: ObjectMeta, values: dict[str, Any]) -> None:
    """Fill in field defaults for a new record, in place."""
    for f in obj.fields.values():
        if f.default is not None and values.get(f.key) is None and f.key not in values:
            values[f.key] = f.default


def missing_required(obj: ObjectMeta, data: dict[str, Any]) -> list[FieldError]:
    return [
        FieldError(f.key, "is required", "required")
        for f in obj.ordered_fields
        if f.required and data.get(f.key) is None
    ]


def render_value(meta: WorkspaceMeta, f: FieldMeta, stored: Any) -> Any:
    """A stored value as clients read it (a stage by its name)."""
    if stored is None:
        return None
    if f.type == "stage":
        stage = meta.pipeline_of(f).stage_by_uuid(stored)
        return stage.name if stage else None
    return stored


def render_fields(meta: WorkspaceMeta, obj: ObjectMeta, data: dict[str, Any]) -> dict[str, Any]:
    """Every field of the object, in order, with ``None`` where a record has no value."""
    get = data.get
    return {
        f.key: render_value(meta, f, get(f.key)) if f.type == "stage" else get(f.key)
        for f in obj.value_fields
    }


def display_name(obj: ObjectMeta, data: dict[str, Any]) -> str:
    """The record's name: its display fields joined, with contact points only as a fallback.

    A contact shown by ``first_name, last_name, email`` reads "Jane Doe", or
    "jane@acme.com" when it has no name.
    """
    shown = [obj.fields[k] for k in obj.display_fields if k in obj.fields]
    parts = [
        str(data[f.key])
        for f in shown
        if f.type not in ("email", "phone") and data.get(f.key) is not None
    ]
    if not parts:
        parts = [str(data[f.key]) for f in shown if data.get(f.key) is not None][:1]
    if not parts:
        parts = [next((v for v in data.values() if isinstance(v, str)), "")]
    return " ".join(parts)[:500]


def search_text(obj: ObjectMeta, data: dict[str, Any], name: str) -> str:
    """Lower-cased text that ``q`` searches: the display name and searchable field values."""
    parts = [name]
    for f in obj.fields.values():
        value = data.get(f.key)
        if f.searchable and isinstance(value, str):
            parts.append(value)
            if f.type == "phone":
                parts.append(value.lstrip("+"))
    return " ".join(dict.fromkeys(p for p in parts if p)).lower()[:SEARCH_TEXT_LIMIT]
