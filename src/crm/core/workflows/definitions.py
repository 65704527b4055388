"""A workflow's definition checked against the workspace: its object, runtime, trigger,
conditions and steps, as they are stored.

Triggers (``trigger.type``):

- ``record.created``;
- ``record.updated``, optionally only when one of ``fields`` changed, or when each field of
  ``to`` changed to that value;
- ``stage.changed``, optionally ``from`` and/or ``to`` a stage (by name or id) of the
  object's ``pipeline``;
- ``list.added`` / ``list.removed`` with a record's lists, optionally one ``list``;
- ``tag.added``, optionally one ``tag``;
- ``date.reached``: a date or datetime ``field`` of the record reached, moved by an
  ``offset`` (``{"days": 3, "before": true}``), see :mod:`crm.core.workflows.dates`;
- ``manual``: only started by hand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.errors import CRMError, FieldError, ValidationFailed
from crm.core.lists import service as lists
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.tags import service as tags
from crm.core.workflows.model import RUNTIMES, TRIGGERS
from crm.core.workflows.steps import (
    Checking,
    MoveStage,
    check_filter,
    check_offset,
    check_steps,
)

__all__ = ["check_definition"]

#: What each trigger may say beside its type.
_TRIGGER_KEYS: dict[str, set[str]] = {
    "record.created": set(),
    "record.updated": {"fields", "to"},
    "stage.changed": {"pipeline", "from", "to"},
    "list.added": {"list"},
    "list.removed": {"list"},
    "tag.added": {"tag"},
    "date.reached": {"field", "offset"},
    "manual": set(),
}


def _bad(where: str, message: str) -> ValidationFailed:
    return ValidationFailed.of([FieldError(where, message)])


async def _stage(at: Checking, spec: dict[str, Any], side: str) -> str:
    """A stage of the trigger's pipeline, by its id."""
    moved = await MoveStage().check(
        at, {"type": "move_stage", "stage": spec[side], "pipeline": spec.get("pipeline")}, "trigger"
    )
    return str(moved["stage"])


async def _trigger(at: Checking, given: Any) -> dict[str, Any]:
    if not isinstance(given, dict) or given.get("type") not in TRIGGERS:
        raise _bad("trigger.type", "must be one of " + ", ".join(TRIGGERS))
    kind = given["type"]
    unknown = set(given) - _TRIGGER_KEYS[kind] - {"type"}
    if unknown:
        raise _bad(f"trigger.{sorted(unknown)[0]}", f"is not an attribute of {kind}")
    out = dict(given)
    obj = at.obj
    named = given.get("fields", [])
    if not isinstance(named, list) or not all(f in obj.fields for f in named):
        raise _bad("trigger.fields", f"must list fields of {obj.key}")
    wanted = given.get("to", {}) if kind == "record.updated" else {}
    if not isinstance(wanted, dict) or not all(f in obj.fields for f in wanted):
        raise _bad("trigger.to", f"must map fields of {obj.key} to values")
    if kind == "stage.changed":
        for side in ("from", "to"):
            if side in given:
                out[side] = await _stage(at, given, side)
    if kind == "date.reached":
        f = obj.fields.get(given.get("field", ""))
        if f is None or f.type not in ("date", "datetime"):
            raise _bad("trigger.field", f"must name a date field of {obj.key}")
        out["offset"] = check_offset(given.get("offset"), "trigger.offset")
    if "list" in given:
        try:
            found = await lists.get_list(at.conn, at.principal, given["list"])
        except CRMError:
            found = None
        if found is None or found.object.key != obj.key:
            raise _bad("trigger.list", f"no list {given['list']!r} of {obj.key} records")
        out["list"] = str(found.uuid)
    if "tag" in given:
        try:
            out["tag"] = str((await tags.get_tag(at.conn, at.principal, str(given["tag"]))).uuid)
        except CRMError:
            raise _bad("trigger.tag", f"no tag {given['tag']!r}") from None
    return out


def _object(meta: WorkspaceMeta, key: Any) -> ObjectMeta:
    found = meta.objects.get(key) if isinstance(key, str) else None
    if found is None:
        raise _bad("object", f"no object type {key!r}")
    return found


async def check_definition(
    conn: AsyncConnection, principal: Principal, meta: WorkspaceMeta, spec: dict[str, Any]
) -> dict[str, Any]:
    """The stored columns of a workflow's ``object``, ``runtime``, ``trigger``,
    ``conditions`` and ``steps``; ValidationFailed naming the first wrong part."""
    obj = _object(meta, spec["object"])
    if spec["runtime"] not in RUNTIMES:
        raise _bad("runtime", "must be one of " + ", ".join(RUNTIMES))
    if spec["runtime"] == "sync":
        raise _bad("runtime", "sync workflows are not available yet: run it async")
    at = Checking(conn, principal, meta, obj)
    if spec["trigger"] is None:
        raise _bad("trigger", "is required")
    trigger = await _trigger(at, spec["trigger"])
    if spec["conditions"] is not None:
        check_filter(at, spec["conditions"], "conditions")
    steps = await check_steps(at, spec["steps"], "steps")
    return {
        "object_type_id": obj.id,
        "runtime": spec["runtime"],
        "trigger": trigger,
        "conditions": spec["conditions"],
        "steps": steps,
    }
