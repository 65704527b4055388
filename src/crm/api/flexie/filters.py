"""Flexie's list requests in the core's filter language.

``GET`` lists take ``search``, ``start``, ``limit``, ``orderBy`` and ``orderByDir``; the
filtered ``POST`` takes the same in its body with ``filters``, a list of
``{"type", "alias", "value": {"operator", "input"}, "strict", "starts", "ends"}`` that all
must hold. ``like`` finds a fragment anywhere, at the start (``starts``), at the end
(``ends``) or the whole value (``strict``).
"""

from __future__ import annotations

from typing import Any

from crm.api.flexie.fields import SYSTEM, TYPES, field_named, unknown
from crm.api.flexie.values import user_by_number
from crm.core.errors import FieldError, ValidationFailed
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta
from crm.core.records.model import RecordQuery

DEFAULT_LIMIT = 30
MAX_LIMIT = 500
MAX_START = 10_000_000
MAX_FILTERS = 50
#: Each Flexie operator, and the core operator it becomes.
OPERATORS = {
    "eq": "eq",
    "=": "eq",
    "neq": "neq",
    "!=": "neq",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "in": "in",
    "like": "contains",
    "empty": "empty",
    "notEmpty": "not_empty",
    "!empty": "not_empty",
    "between": "between",
}
_FILTER_KEYS = {"type", "alias", "value", "strict", "starts", "ends", "glue"}
_BODY_KEYS = {"filters", "start", "limit", "orderBy", "orderByDir", "search"}
FILTER_TYPES = {*TYPES.values(), "string", "int", "float", "bool"}


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.of([FieldError(field, message)])


def count(value: Any, name: str, default: int, top: int, low: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        raise _bad(name, f"must be a whole number from {low} to {top}")
    return value


def target(obj: ObjectMeta, name: Any, where: str) -> str:
    """The core's name of what a filter or sort names by its Flexie alias."""
    if not isinstance(name, str) or not name:
        raise _bad(where, "must name a field by its alias")
    if name in SYSTEM:
        return SYSTEM[name]
    f = field_named(obj, name)
    if f is None:
        raise ValidationFailed.of([unknown(obj, name)])
    return f.key


def _users(meta: WorkspaceMeta, given: Any, where: str) -> Any:
    """User numbers as the core names users (UUIDs)."""
    if isinstance(given, list):
        return [_users(meta, g, where) for g in given]
    user = user_by_number(meta, given)
    if user is None:
        raise _bad(where, "must be the id of a user of this workspace")
    return str(user.uuid)


def _condition(meta: WorkspaceMeta, obj: ObjectMeta, item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _bad(where, "must be an object")
    extra = sorted(set(item) - _FILTER_KEYS)
    if extra:
        raise _bad(f"{where}.{extra[0]}", "is not an attribute of a filter")
    kind = item.get("type", "text")
    if not isinstance(kind, str) or kind not in FILTER_TYPES:
        raise _bad(f"{where}.type", "must be one of " + ", ".join(sorted(FILTER_TYPES)))
    field = target(obj, item.get("alias"), f"{where}.alias")
    value = item.get("value")
    if not isinstance(value, dict) or not isinstance(value.get("operator"), str):
        raise _bad(f"{where}.value", "must be an object with an operator and an input")
    operator = value["operator"]
    if operator not in OPERATORS:
        raise _bad(f"{where}.value.operator", f"unknown operator {operator!r}")
    flags = {k: item.get(k, False) for k in ("strict", "starts", "ends")}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise _bad(where, "strict, starts and ends are true or false")
    op, given = OPERATORS[operator], value.get("input")
    f = obj.fields.get(field)
    if op not in ("empty", "not_empty") and (field == "owner_id" or (f and f.type == "user")):
        given = _users(meta, given, f"{where}.value.input")
    if op in ("empty", "not_empty"):
        return {"field": field, "op": op}
    if op == "between":
        if not isinstance(given, list) or len(given) != 2:
            raise _bad(f"{where}.value.input", "between takes [from, to]")
        return {
            "and": [
                {"field": field, "op": "gte", "value": given[0]},
                {"field": field, "op": "lte", "value": given[1]},
            ]
        }
    if op == "contains":
        if flags["strict"]:
            op = "eq"
        elif flags["starts"] and not flags["ends"]:
            op = "starts"
        elif flags["ends"] and not flags["starts"]:
            op = "ends"
    return {"field": field, "op": op, "value": given}


def _sort(obj: ObjectMeta, by: Any, direction: Any) -> list[dict[str, str]]:
    if direction is None:
        direction = "ASC"
    if not isinstance(direction, str) or direction.upper() not in ("ASC", "DESC"):
        raise _bad("orderByDir", "must be ASC or DESC")
    if by in (None, ""):
        by = "id"
    return [{"field": target(obj, by, "orderBy"), "direction": direction.lower()}]


def listing(
    meta: WorkspaceMeta, obj: ObjectMeta, given: dict[str, Any], filters: Any = None
) -> RecordQuery:
    """The core's query for a list request's parameters (or body) and filters."""
    search = given.get("search")
    if search is not None and not isinstance(search, str):
        raise _bad("search", "must be text")
    if filters is None:
        filters = []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        raise _bad("filters", f"must be a list of at most {MAX_FILTERS} filters")
    conditions = [_condition(meta, obj, item, f"filters[{i}]") for i, item in enumerate(filters)]
    return RecordQuery(
        filter={"and": conditions} if conditions else None,
        sort=_sort(obj, given.get("orderBy"), given.get("orderByDir")),
        limit=count(given.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT, 1),
        offset=count(given.get("start"), "start", 0, MAX_START, 0),
        q=search or None,
        with_total=True,
    )


def body_listing(meta: WorkspaceMeta, obj: ObjectMeta, body: dict[str, Any]) -> RecordQuery:
    """The query of a filtered list's body; 400 naming an attribute that is none of its."""
    extra = sorted(set(body) - _BODY_KEYS)
    if extra:
        raise _bad(extra[0], "is not an attribute of a list request")
    return listing(meta, obj, body, body.get("filters"))


def filter_names(query: RecordQuery) -> dict[str, str]:
    """The client's name of each part of the core filter ``listing`` made, for errors."""
    names: dict[str, str] = {}
    for i in range(len(query.filter["and"]) if query.filter else 0):
        core, given = f"filter.and[{i}]", f"filters[{i}]"
        names[f"{core}.field"] = f"{given}.alias"
        for value in (f"{core}.value", f"{core}.and[0].value", f"{core}.and[1].value"):
            names[value] = f"{given}.value.input"
    return names
