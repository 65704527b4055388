"""Object types and fields: create, change, retype and delete, with events and versioning.

Every change bumps the workspace's metadata version in the same transaction, so each
process reloads its cached picture on the next request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.ids import uuid7
from crm.core.metadata import repository
from crm.core.metadata.fieldtypes import FIELD_TYPES, FieldContext, FieldValueError
from crm.core.metadata.model import (
    DUPLICATE_KEY_TYPES,
    DUPLICATE_POLICIES,
    GENERAL,
    CategoryMeta,
    FieldMeta,
    ObjectMeta,
    WorkspaceMeta,
)
from crm.core.metadata.validation import (
    check_flag,
    check_key,
    check_label,
    check_position,
    label_for_key,
)
from crm.db import jsonsql
from crm.db.engine import OFFLOAD
from crm.db.schema import (
    field_categories,
    fields,
    object_types,
    record_counts,
    record_numbers,
    records,
)

#: Types whose values can be indexed for filtering and sorting.
INDEXABLE = frozenset(FIELD_TYPES) - {"long_text", "multi_select"}
_FIELD_SPEC = {
    "key",
    "label",
    "type",
    "group",
    "required",
    "unique",
    "searchable",
    "indexed",
    "default",
    "options",
    "position",
}
#: How many non-converting records a retype conflict lists.
CONFLICT_SAMPLE = 20


async def metadata_for(conn: AsyncConnection, principal: Principal) -> WorkspaceMeta:
    """The caller's workspace metadata: at the version it authenticated with when reading,
    pinned for the rest of the transaction when writing (see ``repository.pinned_version``)."""
    version = await repository.pinned_version(
        conn, principal.workspace_id, principal.metadata_version
    )
    return await repository.cached(conn, principal.workspace_id, version)


async def metadata_to_change(conn: AsyncConnection, principal: Principal) -> WorkspaceMeta:
    """The metadata, read fresh under the exclusive metadata lock, for a change to it.

    Such a change may rewrite every record of an object, so the rest of its transaction's
    statements count as long ones (:data:`crm.db.engine.OFFLOAD`)."""
    await conn.execution_options(**OFFLOAD)
    await repository.hold_for_change(conn, principal.workspace_id)
    return await fresh_metadata(conn, principal.workspace_id)


async def fresh_metadata(conn: AsyncConnection, workspace_id: int) -> WorkspaceMeta:
    """The metadata as this transaction sees it, after its own changes; never cached."""
    return await repository.load(conn, workspace_id)


def _require(principal: Principal, action: str, resource: str = "object") -> None:
    """The scope of ``resource:action``; changing object types needs a role that manages
    objects, and changing fields one that manages fields (or objects)."""
    principal.require_scope(resource, action)
    if action in ("list", "read"):
        return
    if resource != "custom_field" or not principal.manages("fields"):
        principal.require_admin("objects")


def _dialect(conn: AsyncConnection) -> str:
    return conn.dialect.name


async def list_objects(conn: AsyncConnection, principal: Principal) -> list[ObjectMeta]:
    _require(principal, "list")
    meta = await metadata_for(conn, principal)
    return sorted(meta.objects.values(), key=lambda o: (not o.is_standard, o.id))


async def get_object(conn: AsyncConnection, principal: Principal, key: str) -> ObjectMeta:
    """An object type as the caller authenticated to see it, without pinning the metadata
    (a route may look an object up before changing it under the exclusive lock)."""
    _require(principal, "read")
    meta = await repository.cached(conn, principal.workspace_id, principal.metadata_version)
    return meta.object(key)


async def _rename_in_object(conn: AsyncConnection, obj: ObjectMeta, old: str, new: str) -> None:
    """Follow a field's new key in the object's display fields and duplicate rule."""
    values: dict[str, Any] = {}
    if old in obj.display_fields:
        values["display_fields"] = [new if k == old else k for k in obj.display_fields]
    if obj.duplicates is not None and old in obj.duplicates.match:
        values["duplicates"] = {
            "policy": obj.duplicates.policy,
            "match": [new if k == old else k for k in obj.duplicates.match],
        }
    if values:
        await conn.execute(
            sa.update(object_types).where(object_types.c.id == obj.id).values(**values)
        )


def _check_duplicate_rule(obj: ObjectMeta, rule: Any) -> dict[str, Any]:
    """A duplicate rule ``{"policy", "match"}`` for ``obj``, checked; ValidationFailed if not."""
    errors = []
    if not isinstance(rule, dict) or set(rule) - {"policy", "match"}:
        raise ValidationFailed.of(
            [FieldError("duplicates", "must be an object with policy and match")]
        )
    policy = rule.get("policy", obj.duplicate_rule.policy)
    if policy not in DUPLICATE_POLICIES:
        errors.append(
            FieldError("duplicates.policy", "must be one of " + ", ".join(DUPLICATE_POLICIES))
        )
    match = rule.get("match", list(obj.duplicate_rule.match))
    if not isinstance(match, list) or not all(isinstance(k, str) for k in match):
        errors.append(FieldError("duplicates.match", "must be a list of field keys"))
        match = []
    for key in match:
        f = obj.fields.get(key)
        if f is None:
            errors.append(FieldError("duplicates.match", f"no field {key!r} on {obj.key}"))
        elif f.type not in INDEXABLE or f.holds_links:
            errors.append(FieldError("duplicates.match", f"a {f.type} field cannot be matched"))
    if errors:
        raise ValidationFailed.of(errors)
    return {"policy": policy, "match": list(dict.fromkeys(match))}


def _check_object_spec(spec: dict[str, Any], *, creating: bool) -> list[FieldError]:
    allowed = {"key", "label", "plural_label", "display_fields", "duplicates"}
    errors = [FieldError(k, "unknown attribute", "unknown") for k in spec if k not in allowed]
    if creating or "key" in spec:
        errors += check_key(spec.get("key"))
    if creating or "label" in spec:
        errors += check_label(spec.get("label"))
    if "plural_label" in spec:
        errors += check_label(spec["plural_label"], "plural_label")
    shown = spec.get("display_fields", [])
    if not isinstance(shown, list) or not all(isinstance(k, str) for k in shown):
        errors.append(FieldError("display_fields", "must be a list of field keys"))
    return errors


def object_row(
    workspace_id: int,
    *,
    key: str,
    label: str,
    plural_label: str,
    display_fields: list[str],
    is_standard: bool,
) -> dict[str, Any]:
    """The ``object_types`` row of an object type, unchecked."""
    return {
        "workspace_id": workspace_id,
        "uuid": uuid7(),
        "key": key,
        "label": label,
        "plural_label": plural_label,
        "is_standard": is_standard,
        "display_fields": display_fields,
        "created_at": utcnow(),
    }


async def insert_object(conn: AsyncConnection, workspace_id: int, **spec: Any) -> int:
    """Store an object type without checks (``create_object``); ``spec`` as ``object_row``
    takes it."""
    row = object_row(workspace_id, **spec)
    return int(
        (
            await conn.execute(sa.insert(object_types).values(**row).returning(object_types.c.id))
        ).scalar_one()
    )


def category_row(
    workspace_id: int, object_type_id: int, *, key: str, position: int, label: str | None = None
) -> dict[str, Any]:
    """The ``field_categories`` row of a checked category; labelled from its key unless
    ``label`` is given."""
    return {
        "workspace_id": workspace_id,
        "uuid": uuid7(),
        "object_type_id": object_type_id,
        "key": key,
        "label": label if label is not None else label_for_key(key),
        "position": position,
        "created_at": utcnow(),
    }


def next_position(items: Iterable[CategoryMeta] | Iterable[FieldMeta]) -> int:
    """The position after the last of ``items`` (categories or fields): 1 for none."""
    return max((item.position for item in items), default=0) + 1


async def ensure_category(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, key: str
) -> None:
    """Give ``obj`` (as read under the metadata lock) a category keyed ``key`` when it has
    none, labelled from the key and placed last: a field's group always names a category.
    The caller bumps the metadata version."""
    if any(c.key == key for c in obj.categories):
        return
    row = category_row(
        principal.workspace_id, obj.id, key=key, position=next_position(obj.categories)
    )
    await conn.execute(sa.insert(field_categories).values(**row))
    await append_event(
        conn,
        principal.workspace_id,
        "field_category.created",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "category": key},
    )


async def create_object(
    conn: AsyncConnection, principal: Principal, spec: dict[str, Any]
) -> ObjectMeta:
    """Create a custom object type, optionally with its first fields."""
    _require(principal, "create")
    return await _create_object(conn, principal, spec)


async def _create_object(
    conn: AsyncConnection, principal: Principal, spec: dict[str, Any]
) -> ObjectMeta:
    field_specs = spec.pop("fields", [])
    errors = _check_object_spec(spec, creating=True)
    if not isinstance(field_specs, list):
        errors.append(FieldError("fields", "must be a list of field definitions"))
    if errors:
        raise ValidationFailed.of(errors)
    meta = await metadata_to_change(conn, principal)
    if spec["key"] in meta.objects:
        raise Conflict(f"An object type keyed {spec['key']!r} already exists")
    object_id = await insert_object(
        conn,
        principal.workspace_id,
        key=spec["key"],
        label=spec["label"].strip(),
        plural_label=(spec.get("plural_label") or plural(spec["label"].strip())).strip(),
        display_fields=spec.get("display_fields", []),
        is_standard=False,
    )
    await conn.execute(
        sa.insert(field_categories).values(
            **category_row(principal.workspace_id, object_id, key=GENERAL, position=1)
        )
    )
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "object.created",
        actor=principal,
        object_type_id=object_id,
        payload={"object": spec["key"]},
    )
    for index, field_spec in enumerate(field_specs):
        try:
            await create_field(conn, principal, spec["key"], field_spec)
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message,
                [{**d, "field": f"fields[{index}].{d['field']}"} for d in exc.details],
            ) from None
    created = (await fresh_metadata(conn, principal.workspace_id)).object(spec["key"])
    _check_display_fields(created, created.display_fields)
    if "duplicates" in spec:
        rule = _check_duplicate_rule(created, spec["duplicates"])
        await _index_match_fields(conn, created, rule)
        await conn.execute(
            sa.update(object_types).where(object_types.c.id == object_id).values(duplicates=rule)
        )
        await repository.bump_version(conn, principal.workspace_id)
        created = (await fresh_metadata(conn, principal.workspace_id)).object(spec["key"])
    return created


async def _index_match_fields(conn: AsyncConnection, obj: ObjectMeta, rule: dict[str, Any]) -> None:
    """Intake looks records up by the rule's fields: make sure they are indexed."""
    for key in rule["match"]:
        f = obj.fields[key]
        if not f.indexed:
            await ensure_index(conn, key)
            await conn.execute(sa.update(fields).where(fields.c.id == f.id).values(indexed=True))


async def ensure_object(
    conn: AsyncConnection, principal: Principal, *, key: str, label: str
) -> ObjectMeta:
    """The object type keyed ``key``; a caller who may create its fields creates it, when
    it is missing, with the first one (faces whose objects exist implicitly)."""
    meta = await metadata_to_change(conn, principal)
    if key in meta.objects:
        return meta.objects[key]
    _require(principal, "create", "custom_field")
    return await _create_object(conn, principal, {"key": key, "label": label})


def plural(label: str) -> str:
    """An English plural good enough for a default label: Property -> Properties."""
    lower = label.lower()
    if lower.endswith("y") and lower[-2:-1] not in tuple("aeiou"):
        return label[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return label + "es"
    return label + "s"


def _check_display_fields(obj: ObjectMeta, keys: tuple[str, ...] | list[str]) -> None:
    unknown = [k for k in keys if k not in obj.fields]
    if unknown:
        raise ValidationFailed.of(
            [FieldError("display_fields", f"no field {k!r} on {obj.key}") for k in unknown]
        )


async def update_object(
    conn: AsyncConnection, principal: Principal, key: str, spec: dict[str, Any]
) -> ObjectMeta:
    """Change an object type's labels or display fields (its key is permanent)."""
    _require(principal, "update")
    errors = _check_object_spec(spec, creating=False)
    if "key" in spec:
        errors = [e for e in errors if e.field != "key"] + [
            FieldError("key", "an object's key cannot change", "immutable")
        ]
    if errors:
        raise ValidationFailed.of(errors)
    obj = (await metadata_to_change(conn, principal)).object(key)
    if "display_fields" in spec:
        _check_display_fields(obj, spec["display_fields"])
    values = {k: v.strip() if isinstance(v, str) else v for k, v in spec.items()}
    if "duplicates" in values:
        rule = _check_duplicate_rule(obj, values["duplicates"])
        await _index_match_fields(conn, obj, rule)
        values["duplicates"] = rule
    if values:
        await conn.execute(
            sa.update(object_types).where(object_types.c.id == obj.id).values(**values)
        )
        await repository.bump_version(conn, principal.workspace_id)
        await append_event(
            conn,
            principal.workspace_id,
            "object.updated",
            actor=principal,
            object_type_id=obj.id,
            payload={"object": obj.key, "changed": sorted(values)},
        )
    return (await fresh_metadata(conn, principal.workspace_id)).object(obj.key)


async def delete_object(conn: AsyncConnection, principal: Principal, key: str) -> None:
    """Delete a custom object type with all its records; standard ones stay."""
    _require(principal, "delete")
    meta = await metadata_to_change(conn, principal)
    obj = meta.object(key)
    if obj.is_standard:
        raise Conflict(f"The standard object type {obj.key!r} cannot be deleted")
    referring = [
        f"{o.key}.{f.key}"
        for o in meta.objects.values()
        for f in o.fields.values()
        if f.type == "relation" and f.options.get("object") == obj.key and o.id != obj.id
    ]
    if referring:
        raise Conflict(
            f"Fields still relate to {obj.key!r}; delete them first",
            [
                {"field": name, "code": "in_use", "message": "relates to this object"}
                for name in referring
            ],
        )
    await conn.execute(
        sa.delete(records).where(
            records.c.workspace_id == principal.workspace_id, records.c.object_type_id == obj.id
        )
    )
    for counter in (record_numbers, record_counts):
        await conn.execute(sa.delete(counter).where(counter.c.object_type_id == obj.id))
    await conn.execute(sa.delete(object_types).where(object_types.c.id == obj.id))
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "object.deleted",
        actor=principal,
        payload={"object": obj.key},
    )


def check_field_spec(
    spec: dict[str, Any], meta: WorkspaceMeta, *, creating: bool, current: FieldMeta | None = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate a field definition (whole, or a change to ``current``); return stored values."""
    errors = [FieldError(k, "unknown attribute", "unknown") for k in spec if k not in _FIELD_SPEC]
    out: dict[str, Any] = {}
    if creating or "key" in spec:
        errors += check_key(spec.get("key"))
        out["key"] = spec.get("key")
    if creating or "label" in spec:
        errors += check_label(spec.get("label"))
        out["label"] = str(spec.get("label", "")).strip()
    type_name = spec.get("type", current.type if current else None)
    if type_name not in FIELD_TYPES or (creating and type_name == "stage"):
        errors.append(
            FieldError(
                "type",
                "must be one of: "
                + ", ".join(t for t in FIELD_TYPES if t != "stage")
                + " (stage fields come from pipelines)",
            )
        )
        return out, errors
    if "type" in spec or creating:
        out["type"] = type_name
    for flag in ("required", "unique", "searchable", "indexed"):
        errors += check_flag(spec, flag)
        if flag in spec:
            out[flag] = spec[flag]
    if "group" in spec:
        if not isinstance(spec["group"], str) or not 0 < len(spec["group"].strip()) <= 100:
            errors.append(FieldError("group", "must be 1 to 100 characters"))
        else:
            out["group"] = spec["group"].strip()
    if "position" in spec:
        position_errors = check_position(spec)
        errors += position_errors
        if not position_errors:
            out["position"] = spec["position"]
    kind = FIELD_TYPES[type_name]
    options = spec.get("options", current.options if current else {})
    if not isinstance(options, dict):
        errors.append(FieldError("options", "must be an object"))
        return out, errors
    try:
        out["options"] = kind.check_options(options)
    except FieldValueError as exc:
        errors.append(FieldError("options", str(exc)))
        return out, errors
    if type_name == "relation" and out["options"]["object"] not in meta.objects:
        errors.append(FieldError("options", f"no object type {out['options']['object']!r}"))
    if spec.get("default") is not None:
        try:
            out["default"] = kind.parse(spec["default"], FieldContext("default", out["options"]))
        except FieldValueError as exc:
            errors.append(FieldError("default", str(exc)))
    elif "default" in spec:
        out["default"] = None
    unique = out.get("unique", current.unique if current else False)
    if out.get("options", {}).get("multiple") and (unique or out.get("indexed")):
        errors.append(
            FieldError("options", "a many-to-many relation is neither unique nor indexed")
        )
    if (
        current is not None
        and "options" in spec
        and (bool(current.options.get("multiple")) != bool(out.get("options", {}).get("multiple")))
    ):
        errors.append(FieldError("options", "options.multiple cannot change once set"))
    if unique and type_name not in INDEXABLE:
        errors.append(FieldError("unique", f"a {type_name} field cannot be unique"))
    if out.get("indexed") and type_name not in INDEXABLE:
        errors.append(FieldError("indexed", f"a {type_name} field cannot be indexed"))
    return out, errors


async def ensure_index(conn: AsyncConnection, key: str) -> None:
    """Create the shared filter/sort index for field ``key`` if it does not exist yet."""
    for ddl in jsonsql.create_index_sql(_dialect(conn), key):
        await conn.execute(sa.text(ddl))


async def ensure_indexes(conn: AsyncConnection, keys: list[str]) -> None:
    """``ensure_index`` for each of ``keys``, reading the catalog once and running DDL only
    for what is missing: after the first workspace, seeding another runs none (each
    ``CREATE INDEX IF NOT EXISTS`` would otherwise lock ``records`` against writes on
    PostgreSQL until the transaction ends)."""
    dialect = _dialect(conn)
    present = set((await conn.execute(sa.text(jsonsql.index_names_sql(dialect)))).scalars())
    for key in dict.fromkeys(keys):
        wanted = {jsonsql.index_name(key)}
        if dialect == "postgresql":
            wanted.add(jsonsql.stats_name(key))
        if not wanted <= present:
            await ensure_index(conn, key)


def field_row(
    workspace_id: int, object_type_id: int, values: dict[str, Any], *, is_standard: bool
) -> dict[str, Any]:
    """The ``fields`` row of a checked field definition (without its id)."""
    kind = FIELD_TYPES[values["type"]]
    return {
        "workspace_id": workspace_id,
        "uuid": uuid7(),
        "object_type_id": object_type_id,
        "key": values["key"],
        "label": values["label"],
        "type": values["type"],
        "group": values.get("group", GENERAL),
        "required": values.get("required", False),
        "unique": values.get("unique", False),
        "searchable": values.get("searchable", kind.searchable),
        "indexed": values.get("indexed", values["type"] in DUPLICATE_KEY_TYPES)
        or values.get("unique", False),
        "is_standard": is_standard,
        "default": values.get("default"),
        "options": values.get("options", {}),
        "position": values.get("position", 0),
        "created_by": values.get("created_by"),
        "created_at": utcnow(),
    }


async def insert_field(
    conn: AsyncConnection,
    workspace_id: int,
    object_type_id: int,
    values: dict[str, Any],
    *,
    is_standard: bool,
) -> FieldMeta:
    """Store a checked field definition (fields API, pipelines)."""
    row = field_row(workspace_id, object_type_id, values, is_standard=is_standard)
    row["id"] = (
        await conn.execute(sa.insert(fields).values(**row).returning(fields.c.id))
    ).scalar_one()
    if row["indexed"]:
        await ensure_index(conn, row["key"])
    return FieldMeta(**{k: v for k, v in row.items() if k != "workspace_id"})


async def create_field(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    spec: Any,
) -> FieldMeta:
    """Add a field to an object type."""
    _require(principal, "create", "custom_field")
    if not isinstance(spec, dict):
        raise ValidationFailed.of([FieldError("field", "must be an object")])
    meta = await metadata_to_change(conn, principal)
    obj = meta.object(object_key)
    values, errors = check_field_spec(spec, meta, creating=True)
    if errors:
        raise ValidationFailed.of(errors)
    if values["key"] in obj.fields:
        raise Conflict(f"{obj.key} already has a field keyed {values['key']!r}")
    if "position" not in values:
        values["position"] = next_position(obj.fields.values())
    values["created_by"] = principal.user_id
    await ensure_category(conn, principal, obj, values.get("group", GENERAL))
    created = await insert_field(conn, principal.workspace_id, obj.id, values, is_standard=False)
    await repository.bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "field.created",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "field": created.key, "type": created.type},
    )
    if created.unique:
        await _check_no_duplicates(conn, principal.workspace_id, obj, created)
    return created


async def _check_no_duplicates(
    conn: AsyncConnection, workspace_id: int, obj: ObjectMeta, f: FieldMeta
) -> None:
    expr = jsonsql.value_expr(_dialect(conn), f.key)
    dupes = (
        await conn.execute(
            sa.select(expr.label("value"), sa.func.count().label("n"))
            .where(
                records.c.workspace_id == workspace_id,
                records.c.object_type_id == obj.id,
                records.c.deleted_at.is_(None),
                expr.is_not(None),
            )
            .group_by(expr)
            .having(sa.func.count() > 1)
            .limit(CONFLICT_SAMPLE)
        )
    ).all()
    if dupes:
        raise Conflict(
            f"{obj.key}.{f.key} cannot be unique: some values are held by several records",
            [
                {"field": f.key, "code": "duplicate", "message": f"{row.value!r} x{row.n}"}
                for row in dupes
            ],
        )


async def update_field(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    field_key: str,
    spec: dict[str, Any],
) -> FieldMeta:
    """Rename, relabel, retype or reconfigure a field, converting stored values."""
    _require(principal, "update", "custom_field")
    meta = await metadata_to_change(conn, principal)
    obj = meta.object(object_key)
    current = obj.field(field_key)
    values, errors = check_field_spec(spec, meta, creating=False, current=current)
    if current.type == "stage" and ("type" in values and values["type"] != "stage"):
        errors.append(FieldError("type", "a pipeline's stage field keeps its type"))
    if current.type != "stage" and values.get("type") == "stage":
        errors.append(FieldError("type", "stage fields come from pipelines"))
    if current.is_standard and ("key" in values or "type" in values):
        errors.append(FieldError("key", "a standard field keeps its key and type", "immutable"))
    if current.type == "stage":
        # The pipeline finds its field by key and its stages through the options.
        errors += [
            FieldError(k, "a pipeline's stage field keeps its key and pipeline", "immutable")
            for k in ("key", "options")
            if k in spec
            and values.get(k, getattr(current, k)) != getattr(current, k)
            and k not in {e.field for e in errors}
        ]
    if errors:
        raise ValidationFailed.of(errors)
    if values.get("type", current.type) != current.type:
        await _require_may_change_values(conn, principal, obj, current, "retype")
    dialect = _dialect(conn)
    scope = (records.c.workspace_id == principal.workspace_id) & (
        records.c.object_type_id == obj.id
    )
    new_key = values.get("key", current.key)
    if new_key != current.key:
        if new_key in obj.fields:
            raise Conflict(f"{obj.key} already has a field keyed {new_key!r}")
        await conn.execute(
            sa.update(records)
            .where(scope, jsonsql.has_key(dialect, current.key))
            .values(data=jsonsql.rename_key(dialect, current.key, new_key))
        )
        await _rename_in_object(conn, obj, current.key, new_key)
    if values.get("type", current.type) != current.type or "options" in spec:
        await _convert_values(conn, scope, obj, current, new_key, values)
    if values.get("indexed") or (values.get("unique") and not current.indexed):
        values["indexed"] = True
        await ensure_index(conn, new_key)
    if "group" in values:
        await ensure_category(conn, principal, obj, values["group"])
    if values:
        await conn.execute(sa.update(fields).where(fields.c.id == current.id).values(**values))
    await repository.bump_version(conn, principal.workspace_id)
    updated = (await fresh_metadata(conn, principal.workspace_id)).object(obj.key).field(new_key)
    if updated.unique and not current.unique:
        await _check_no_duplicates(conn, principal.workspace_id, obj, updated)
    await append_event(
        conn,
        principal.workspace_id,
        "field.updated",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "field": updated.key, "changed": sorted(values)},
    )
    return updated


async def _convert_values(
    conn: AsyncConnection,
    scope: sa.ColumnElement[bool],
    obj: ObjectMeta,
    current: FieldMeta,
    key: str,
    values: dict[str, Any],
) -> None:
    """Re-parse every stored value under the new type/options; 409 if any will not convert."""
    dialect = _dialect(conn)
    kind = FIELD_TYPES[values.get("type", current.type)]
    ctx = FieldContext(key, values.get("options", current.options))
    expr = jsonsql.json_expr(dialect, key)
    stream = await conn.stream(
        sa.select(records.c.id, records.c.uuid, expr.label("value")).where(
            scope, jsonsql.has_key(dialect, key)
        )
    )
    changed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    async for row in stream:
        old = row.value
        try:
            new = kind.parse(_as_input(old), ctx)
        except FieldValueError as exc:
            if len(failed) < CONFLICT_SAMPLE:
                failed.append(
                    {"field": str(row.uuid), "code": "not_convertible", "message": f"{old!r} {exc}"}
                )
            continue
        if new != old:
            changed.append({"rid": row.id, "value": orjson.dumps(new).decode()})
    if failed:
        raise Conflict(
            f"Some {obj.key} records hold {current.key} values that do not convert", failed
        )
    if changed:
        await conn.execute(
            sa.update(records)
            .where(records.c.id == sa.bindparam("rid"))
            .values(data=jsonsql.set_value(dialect, key, "value")),
            changed,
        )


def _as_input(stored: Any) -> Any:
    """A stored value as a new type would receive it from a client."""
    if isinstance(stored, list):
        return ", ".join(str(v) for v in stored)
    if isinstance(stored, bool):
        return "true" if stored else "false"
    return stored


async def delete_field(
    conn: AsyncConnection, principal: Principal, object_key: str, field_key: str
) -> None:
    """Remove a custom field and its values from every record.

    A role that manages fields but not object types (an agent) may delete only a field
    that no record it may not edit holds a value of: never others' data.
    """
    _require(principal, "delete", "custom_field")
    obj = (await metadata_to_change(conn, principal)).object(object_key)
    current = obj.field(field_key)
    await _require_may_change_values(conn, principal, obj, current, "delete")
    if current.is_standard:
        raise Conflict(f"The standard field {obj.key}.{current.key} cannot be deleted")
    if current.type == "stage":
        raise Conflict("A stage field goes away with its pipeline: delete the pipeline")
    if current.key in obj.display_fields:
        raise Conflict(f"{current.key!r} is a display field of {obj.key}; change those first")
    await drop_field(conn, principal.workspace_id, obj, current)
    await append_event(
        conn,
        principal.workspace_id,
        "field.deleted",
        actor=principal,
        object_type_id=obj.id,
        payload={"object": obj.key, "field": current.key},
    )


async def drop_field(
    conn: AsyncConnection, workspace_id: int, obj: ObjectMeta, f: FieldMeta
) -> None:
    """Delete a field's definition and strip its values (fields API and pipelines)."""
    dialect = _dialect(conn)
    await conn.execute(
        sa.update(records)
        .where(
            records.c.workspace_id == workspace_id,
            records.c.object_type_id == obj.id,
            jsonsql.has_key(dialect, f.key),
        )
        .values(data=jsonsql.remove_key(dialect, f.key))
    )
    await conn.execute(sa.delete(fields).where(fields.c.id == f.id))
    if obj.duplicates is not None and f.key in obj.duplicates.match:
        rule = {
            "policy": obj.duplicates.policy,
            "match": [k for k in obj.duplicates.match if k != f.key],
        }
        await conn.execute(
            sa.update(object_types).where(object_types.c.id == obj.id).values(duplicates=rule)
        )
    await repository.bump_version(conn, workspace_id)


async def _require_may_change_values(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, f: FieldMeta, verb: str
) -> None:
    """PermissionDenied unless the caller manages object types or may edit every record
    that holds a value of ``f``: deleting or retyping a field changes those values
    (retyping text to a boolean turns "yes" into true for good)."""
    if principal.manages("objects"):
        return
    owners = await conn.execute(
        sa.select(records.c.owner_id)
        .distinct()
        .where(
            records.c.workspace_id == principal.workspace_id,
            records.c.object_type_id == obj.id,
            jsonsql.has_key(_dialect(conn), f.key),
        )
    )
    if not principal.may_edit_all((obj.key, owner) for owner in owners.scalars()):
        raise PermissionDenied(
            f"Your role may not {verb} {obj.key}.{f.key}: "
            "records you may not edit hold values of it"
        )


def get_field(obj: ObjectMeta, key: str) -> FieldMeta:
    """A field of ``obj`` by key or UUID."""
    if key in obj.fields:
        return obj.fields[key]
    found = next((f for f in obj.fields.values() if str(f.uuid) == key), None)
    if found is None:
        raise NotFound(f"Object {obj.key!r} has no field {key!r}")
    return found
