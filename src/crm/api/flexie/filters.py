"""Flexie's list requests in the core's filter language.

``GET`` lists take ``search``, ``start``, ``limit``, ``orderBy`` and ``orderByDir``; the
filtered ``POST`` takes the same in its body with ``filters``, a list of
``{"type", "alias", "value": {"operator", "input"}, "strict", "starts", "ends"}`` that all
must hold. ``like`` finds a fragment anywhere, at the start (``starts``), at the end
(``ends``) or the whole value (``strict``). Records become the core's record query; users
and roles the conditions of :mod:`crm.core.auth.conditions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from crm.api.common.openapi import json_body
from crm.api.common.transport import json_object
from crm.api.flexie.fields import SYSTEM, TYPES, field_named, unknown
from crm.api.flexie.values import user_by_number
from crm.core.auth.conditions import Condition
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
#: The query parameters of a list, and the body of a filtered one, for the OpenAPI document.
LIST_QUERY = ("search", "start", "limit", "orderBy", "orderByDir")
#: An attribute left out or given as null takes its default.
LIST_BODY = json_body(
    {
        "filters": {"type": ["array", "null"], "items": {"type": "object"}},
        "start": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_START},
        "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_LIMIT},
        "orderBy": {"type": ["string", "null"]},
        "orderByDir": {"enum": ["ASC", "DESC", "asc", "desc", None]},
        "search": {"type": ["string", "null"]},
    }
)


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.of([FieldError(field, message)])


def count(value: Any, name: str, default: int, top: int, low: int) -> int:
    if value is None or value == "":
        return default
    digits = value.strip().removeprefix("-") if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit() and len(digits) < 19:
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


def _parse_filter(
    item: Any, where: str, field_of: Callable[[Any, str], str]
) -> tuple[str, str, Any]:
    """The core's field, operator and input of one filter; ``field_of`` names the field of
    an alias (or refuses it). ``like`` becomes ``eq``, ``starts`` or ``ends`` by its flags."""
    if not isinstance(item, dict):
        raise _bad(where, "must be an object")
    extra = sorted(set(item) - _FILTER_KEYS)
    if extra:
        raise _bad(f"{where}.{extra[0]}", "is not an attribute of a filter")
    kind = item.get("type", "text")
    if not isinstance(kind, str) or kind not in FILTER_TYPES:
        raise _bad(f"{where}.type", "must be one of " + ", ".join(sorted(FILTER_TYPES)))
    field = field_of(item.get("alias"), f"{where}.alias")
    value = item.get("value")
    if not isinstance(value, dict) or not isinstance(value.get("operator"), str):
        raise _bad(f"{where}.value", "must be an object with an operator and an input")
    operator = value["operator"]
    if operator not in OPERATORS:
        raise _bad(f"{where}.value.operator", f"unknown operator {operator!r}")
    flags = {k: item.get(k, False) for k in ("strict", "starts", "ends")}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise _bad(where, "strict, starts and ends are true or false")
    op = OPERATORS[operator]
    if op == "contains":
        if flags["strict"]:
            op = "eq"
        elif flags["starts"] and not flags["ends"]:
            op = "starts"
        elif flags["ends"] and not flags["starts"]:
            op = "ends"
    return field, op, value.get("input")


def _asks(op: str, given: Any, where: str) -> list[tuple[str, Any]]:
    """What a filter's operator and input ask of its field, as core operators and values:
    ``between`` asks two things."""
    if op in ("empty", "not_empty"):
        return [(op, None)]
    if op != "between":
        return [(op, given)]
    if not isinstance(given, list) or len(given) != 2:
        raise _bad(f"{where}.value.input", "between takes [from, to]")
    return [("gte", given[0]), ("lte", given[1])]


def _condition(meta: WorkspaceMeta, obj: ObjectMeta, item: Any, where: str) -> dict[str, Any]:
    field, op, given = _parse_filter(item, where, lambda name, at: target(obj, name, at))
    f = obj.fields.get(field)
    if op not in ("empty", "not_empty") and (field == "owner_id" or (f and f.type == "user")):
        given = _users(meta, given, f"{where}.value.input")
    parts = [
        {"field": field, "op": o} | ({} if o in ("empty", "not_empty") else {"value": v})
        for o, v in _asks(op, given, where)
    ]
    return parts[0] if len(parts) == 1 else {"and": parts}


def _direction(given: dict[str, Any]) -> str:
    """``asc`` or ``desc``, as ``orderByDir`` asks (ascending unless it says)."""
    chosen = given.get("orderByDir")
    if chosen is None:
        chosen = "ASC"
    if not isinstance(chosen, str) or chosen.upper() not in ("ASC", "DESC"):
        raise _bad("orderByDir", "must be ASC or DESC")
    return chosen.lower()


def _sort(obj: ObjectMeta, given: dict[str, Any]) -> list[dict[str, str]]:
    by = given.get("orderBy")
    if by in (None, ""):
        by = "id"
    return [{"field": target(obj, by, "orderBy"), "direction": _direction(given)}]


def _paging(given: dict[str, Any], filters: Any) -> tuple[str | None, int, int, list[Any]]:
    """The search, limit, offset and filters of a list request's parameters (or body)."""
    search = given.get("search")
    if search is not None and not isinstance(search, str):
        raise _bad("search", "must be text")
    if filters is None:
        filters = []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        raise _bad("filters", f"must be a list of at most {MAX_FILTERS} filters")
    limit = count(given.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT, 1)
    offset = count(given.get("start"), "start", 0, MAX_START, 0)
    return search or None, limit, offset, filters


def listing(
    meta: WorkspaceMeta, obj: ObjectMeta, given: dict[str, Any], filters: Any = None
) -> RecordQuery:
    """The core's query for a list request's parameters (or body) and filters."""
    search, limit, offset, filters = _paging(given, filters)
    conditions = [_condition(meta, obj, item, f"filters[{i}]") for i, item in enumerate(filters)]
    return RecordQuery(
        filter={"and": conditions} if conditions else None,
        sort=_sort(obj, given),
        limit=limit,
        offset=offset,
        q=search,
        with_total=True,
    )


async def list_request(request: Request, body: bool) -> tuple[dict[str, Any], Any]:
    """A list request's parameters and filters: of its query string, or of a filtered
    list's JSON body (400 naming an attribute that is none of its)."""
    if not body:
        return dict(request.query_params), None
    given = await json_object(request)
    extra = sorted(set(given) - _BODY_KEYS)
    if extra:
        raise _bad(extra[0], "is not an attribute of a list request")
    return given, given.get("filters")


def _column(aliases: Mapping[str, str], what: str, name: Any, where: str) -> str:
    """The core's column of users or roles (``what``) that a filter or sort names."""
    if not isinstance(name, str) or not name:
        raise _bad(where, "must name an attribute by its alias")
    if name not in aliases:
        raise ValidationFailed.of(
            [FieldError(name, f"is not an attribute of {what}", "unknown_field")]
        )
    return aliases[name]


def column_listing(
    aliases: Mapping[str, str], what: str, given: dict[str, Any], filters: Any = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A list request of users or roles (``what``) whose attributes ``aliases`` names: the
    core's arguments of ``list_users`` or ``list_roles``, and the client's name of each
    part of its conditions, for errors."""
    search, limit, offset, filters = _paging(given, filters)
    conditions: list[Condition] = []
    names = {"q": "search"}
    for i, item in enumerate(filters):
        where = f"filters[{i}]"
        field, op, given_input = _parse_filter(
            item, where, lambda name, at: _column(aliases, what, name, at)
        )
        for core_op, value in _asks(op, given_input, where):
            core = f"conditions[{len(conditions)}]"
            names[f"{core}.field"] = f"{where}.alias"
            names[f"{core}.op"] = f"{where}.value.operator"
            names[f"{core}.value"] = f"{where}.value.input"
            conditions.append(Condition(field, core_op, value))
    by = given.get("orderBy")
    sort = _column(aliases, what, "id" if by in (None, "") else by, "orderBy")
    query = {
        "q": search,
        "conditions": conditions,
        "sort": sort,
        "direction": _direction(given),
        "limit": limit,
        "offset": offset,
    }
    return query, names


def filter_names(query: RecordQuery) -> dict[str, str]:
    """The client's name of each part of the core filter ``listing`` made, for errors."""
    names: dict[str, str] = {}
    for i in range(len(query.filter["and"]) if query.filter else 0):
        core, given = f"filter.and[{i}]", f"filters[{i}]"
        names[f"{core}.field"] = f"{given}.alias"
        for value in (f"{core}.value", f"{core}.and[0].value", f"{core}.and[1].value"):
            names[value] = f"{given}.value.input"
    return names
