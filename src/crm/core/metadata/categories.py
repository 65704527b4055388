"""Field categories: an object type's named, ordered groups of fields.

A field's ``group`` is the key of one of its object's categories; creating or regrouping a
field into a group without one creates it (``service.ensure_category``). Changing them
needs what changing fields needs, and bumps the metadata version like any metadata change.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.errors import Conflict, FieldError, ValidationFailed
from crm.core.events import append_event
from crm.core.metadata import repository
from crm.core.metadata.model import GENERAL, CategoryMeta, ObjectMeta
from crm.core.metadata.service import (
    _require,
    category_row,
    fresh_metadata,
    get_object,
    metadata_to_change,
    next_position,
)
from crm.core.metadata.validation import check_key, check_label, check_position
from crm.db.schema import field_categories

_SPEC = {"key", "label", "position"}


def _check(spec: Any, *, creating: bool) -> dict[str, Any]:
    """A category's attributes (whole, or a change), checked; ValidationFailed if not."""
    if not isinstance(spec, dict):
        raise ValidationFailed.of([FieldError("category", "must be an object")])
    errors = [FieldError(k, "unknown attribute", "unknown") for k in spec if k not in _SPEC]
    if creating:
        errors += check_key(spec.get("key"))
    elif "key" in spec:
        errors.append(FieldError("key", "a category's key cannot change", "immutable"))
    if creating or "label" in spec:
        errors += check_label(spec.get("label"))
    errors += check_position(spec)
    if errors:
        raise ValidationFailed.of(errors)
    values = dict(spec)
    if "label" in values:
        values["label"] = values["label"].strip()
    return values


async def list_categories(
    conn: AsyncConnection, principal: Principal, object_key: str
) -> tuple[CategoryMeta, ...]:
    """An object type's categories, in order."""
    return (await get_object(conn, principal, object_key)).categories


async def get_category(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str
) -> CategoryMeta:
    """A category of an object type by key or UUID."""
    return (await get_object(conn, principal, object_key)).category(ref)


async def _changed(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, key: str, event: str, **more: Any
) -> CategoryMeta:
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        f"field_category.{event}",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "category": key, **more},
    )
    return (await fresh_metadata(conn, principal.workspace_id)).object(obj.key).category(key)


async def create_category(
    conn: AsyncConnection, principal: Principal, object_key: str, spec: Any
) -> CategoryMeta:
    """Add a category to an object type; placed last unless ``position`` is given."""
    _require(principal, "create", "custom_field")
    values = _check(spec, creating=True)
    obj = (await metadata_to_change(conn, principal)).object(object_key)
    if any(c.key == values["key"] for c in obj.categories):
        raise Conflict(f"{obj.key} already has a field category keyed {values['key']!r}")
    row = category_row(
        principal.workspace_id,
        obj.id,
        key=values["key"],
        label=values["label"],
        position=values.get("position", next_position(obj.categories)),
    )
    await conn.execute(sa.insert(field_categories).values(**row))
    return await _changed(conn, principal, obj, row["key"], "created")


async def update_category(
    conn: AsyncConnection, principal: Principal, object_key: str, key: str, spec: Any
) -> CategoryMeta:
    """Relabel or move a category (its key is what fields name: it stays)."""
    _require(principal, "update", "custom_field")
    values = _check(spec, creating=False)
    obj = (await metadata_to_change(conn, principal)).object(object_key)
    current = obj.category(key)
    if not values:
        return current
    await conn.execute(
        sa.update(field_categories).where(field_categories.c.id == current.id).values(**values)
    )
    return await _changed(conn, principal, obj, current.key, "updated", changed=sorted(values))


async def delete_category(
    conn: AsyncConnection, principal: Principal, object_key: str, key: str
) -> None:
    """Delete a category no field is in; ``general`` stays."""
    _require(principal, "delete", "custom_field")
    obj = (await metadata_to_change(conn, principal)).object(object_key)
    current = obj.category(key)
    if current.key == GENERAL:
        raise Conflict(f"The {GENERAL!r} category of {obj.key} cannot be deleted")
    used = [f.key for f in obj.ordered_fields if f.group == current.key]
    if used:
        raise Conflict(
            f"{len(used)} field{'s' if len(used) > 1 else ''} of {obj.key} "
            f"{'are' if len(used) > 1 else 'is'} in the category {current.key!r}; "
            "move them first",
            [{"field": k, "code": "in_use", "message": "is in this category"} for k in used],
        )
    await conn.execute(sa.delete(field_categories).where(field_categories.c.id == current.id))
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "field_category.deleted",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "category": current.key},
    )
