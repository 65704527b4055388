"""A Flexie record body as the core's field values: aliases to keys, integer ids of users,
related records and stages to what the core stores."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm.api.common.entities import Values
from crm.api.flexie.fields import ALIASES, READ_ONLY, field_named, pipelines, unknown
from crm.core.auth.principal import Principal
from crm.core.errors import FieldError, ValidationFailed
from crm.core.metadata.model import ObjectMeta, UserMeta, WorkspaceMeta
from crm.core.records.lookup import uuids_by_number
from crm.core.records.model import RecordQuery

_STAGE_KEYS = ("pipeline_id", "stage_id")
#: Field types whose values a JSON client sends as strings: anything else is a wrong type
#: (the core, which also reads forms and CSV files, would take a number's digits).
TEXTUAL = frozenset({"text", "long_text", "email", "phone", "url", "select"})


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def user_by_number(meta: WorkspaceMeta, number: Any) -> UserMeta | None:
    if not _whole(number):
        return None
    return meta.users_by_number.get(number)


def client_names(meta: WorkspaceMeta, obj: ObjectMeta) -> dict[str, str]:
    """The client's name of each core field an error may name, where the two differ."""
    names = {k: a for k, a in ALIASES.items() if k in obj.fields}
    for staged in pipelines(meta, obj):
        names[staged.field.key] = "stage_id"
    return names


def _stage(meta: WorkspaceMeta, obj: ObjectMeta, body: dict[str, Any]) -> tuple[str, str]:
    """The stage field and stage UUID that ``pipeline_id`` and ``stage_id`` name."""
    staged = pipelines(meta, obj)
    if not staged:
        raise ValidationFailed.of(
            [FieldError("stage_id", f"{obj.plural_label.lower()} have no pipeline")]
        )
    chosen = staged[0]
    if body.get("pipeline_id") is not None:
        matches = [
            s for s in staged if _whole(body["pipeline_id"]) and s.number == body["pipeline_id"]
        ]
        if not matches:
            raise ValidationFailed.of([FieldError("pipeline_id", "is no pipeline of this object")])
        chosen = matches[0]
    number = body.get("stage_id")
    stage = chosen.stage(1 if number is None else number)
    if stage is None:
        raise ValidationFailed.of(
            [FieldError("stage_id", f"must be 1 to {len(chosen.pipeline.stages)}")]
        )
    return chosen.field.key, str(stage.uuid)


async def core_values(
    conn: AsyncConnection,
    p: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    body: dict[str, Any],
    *,
    creating: bool = False,
) -> Values:
    """The core's ``fields`` and owner reference for a body; 400 naming each unknown alias,
    user, stage or related record. A new record of an object with a pipeline starts in its
    first pipeline's first stage unless the body says otherwise."""
    fields: dict[str, Any] = {}
    owner: str | None = None
    errors: list[FieldError] = []
    related: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for name, value in body.items():
        if name in READ_ONLY or name in _STAGE_KEYS:
            continue
        if name == "owner_id":
            user = user_by_number(meta, value)
            if value is not None and user is None:
                errors.append(FieldError(name, "must be the id of a user of this workspace"))
            owner = str(user.uuid) if user is not None else None
            continue
        f = field_named(obj, name)
        if f is None:
            errors.append(unknown(obj, name))
        elif f.type in TEXTUAL and value is not None and not isinstance(value, str):
            errors.append(FieldError(name, "must be text"))
        elif f.type == "relation" and _whole(value):
            related[f.options["object"]].append((name, f.key, value))
        elif f.type == "user" and _whole(value):
            user = user_by_number(meta, value)
            if user is None:
                errors.append(FieldError(name, "must be the id of a user of this workspace"))
            else:
                fields[f.key] = str(user.uuid)
        else:
            fields[f.key] = value
    staged = pipelines(meta, obj)
    if any(body.get(k) is not None for k in _STAGE_KEYS) or (
        creating and staged and staged[0].field.key not in fields
    ):
        key, stage = _stage(meta, obj, body)
        fields[key] = stage
    for target, wanted in related.items():
        found = await uuids_by_number(conn, p, target, [n for _, _, n in wanted])
        for name, key, number in wanted:
            if number in found:
                fields[key] = found[number]
            else:
                errors.append(FieldError(name, f"no {target} with id {number}"))
    if errors:
        raise ValidationFailed.of(errors)
    return Values(fields, owner)


#: What a related record's id that names no record becomes in a filter: no record's UUID.
NOBODY = "00000000-0000-0000-0000-000000000000"


async def related_by_number(
    conn: AsyncConnection, p: Principal, obj: ObjectMeta, query: RecordQuery
) -> None:
    """Give the conditions of ``query`` on relation fields the UUIDs of the records their
    ids name (in place); an id that names no record matches nothing."""
    conditions = query.filter["and"] if query.filter else []
    for condition in conditions:
        f = obj.fields.get(condition.get("field", ""))
        if f is None or f.type != "relation" or "value" not in condition:
            continue
        given = condition["value"]
        numbers = [n for n in (given if isinstance(given, list) else [given]) if _whole(n)]
        found = await uuids_by_number(conn, p, f.options["object"], numbers)
        named = [found.get(n, NOBODY) if _whole(n) else n for n in numbers] or given
        condition["value"] = named if isinstance(given, list) else named[0]
