"""Filters and sorting of the lists of users and roles, over their columns.

A list takes conditions ``Condition(field, op, value)``, all of which must hold, and one
sort key. Text compares in any case, and ``neq`` also finds an empty value, as the record
filter does; missing values sort first ascending and last descending.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.core.errors import FieldError, ValidationFailed
from crm.core.limits import MAX_FILTER_TEXT
from crm.core.metadata.fieldtypes import FieldValueError, parse_datetime
from crm.core.storable import INT64

MAX_CONDITIONS = 50
MAX_IN = 1000
MAX_Q = 200
_EMPTINESS = ("empty", "not_empty")
_ORDERED = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_SUBSTRING = ("contains", "starts", "ends")
#: What each kind of column may be compared with.
OPS = {
    "text": ("eq", "neq", *_SUBSTRING, "in", *_EMPTINESS),
    "whole": ("eq", "neq", "in", *_ORDERED, *_EMPTINESS),
    "moment": ("eq", "neq", *_ORDERED, *_EMPTINESS),
    "flag": ("eq", "neq"),
}
DIRECTIONS = ("asc", "desc")


@dataclass(frozen=True)
class Condition:
    """``field op value``: ``Condition("email", "ends", "@acme.com")``; ``empty`` and
    ``not_empty`` take no value, ``in`` a list."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Column:
    """A column a list filters and sorts on, and its kind (a key of ``OPS``)."""

    expr: sa.ColumnElement[Any]
    kind: str

    def folded(self) -> sa.ColumnElement[Any]:
        return sa.func.lower(self.expr) if self.kind == "text" else self.expr


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.of([FieldError(field, message)])


def search(q: Any, columns: tuple[sa.ColumnElement[Any], ...]) -> sa.ColumnElement[bool] | None:
    """Rows where one of ``columns`` holds ``q`` in any case; None for no search."""
    if q is None:
        return None
    if not isinstance(q, str) or len(q) > MAX_Q or "\x00" in q:
        raise _bad("q", f"must be a string of at most {MAX_Q}")
    if not q.strip():
        return None
    needle = q.strip().lower()
    return sa.or_(*(sa.func.lower(c).contains(needle, autoescape=True) for c in columns))


def _operand(column: Column, value: Any) -> Any:
    """``value`` as ``column`` compares with it; FieldValueError saying why it cannot be."""
    if column.kind == "text":
        if not isinstance(value, str) or len(value) > MAX_FILTER_TEXT or "\x00" in value:
            raise FieldValueError(f"must be text of at most {MAX_FILTER_TEXT} characters")
        return value.lower()
    if column.kind == "whole":
        if type(value) is not int or not -INT64 <= value <= INT64:
            raise FieldValueError("must be a whole number")
        return value
    if column.kind == "flag":
        if not isinstance(value, bool):
            raise FieldValueError("must be true or false")
        return value
    if isinstance(value, str):
        try:
            return parse_datetime(value.strip())
        except (ValueError, OverflowError):
            pass
    raise FieldValueError("must be an ISO 8601 datetime")


def _clause(column: Column, op: str, value: Any) -> sa.ColumnElement[bool]:
    expr = column.folded()
    if op == "empty":
        return column.expr.is_(None)
    if op == "not_empty":
        return column.expr.is_not(None)
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN:
            raise FieldValueError(f"in takes a list of 1 to {MAX_IN} values")
        return expr.in_([_operand(column, v) for v in value])
    operand = _operand(column, value)
    if op in _SUBSTRING:
        if not operand:
            raise FieldValueError(f"{op} takes at least one character")
        if op == "starts":
            return expr.startswith(operand, autoescape=True)
        if op == "ends":
            return expr.endswith(operand, autoescape=True)
        return expr.contains(operand, autoescape=True)
    if op == "eq":
        equal: sa.ColumnElement[bool] = expr == operand
        return equal
    if op == "neq":
        return sa.or_(expr != operand, column.expr.is_(None))
    compared: sa.ColumnElement[bool] = _ORDERED[op](expr, operand)
    return compared


def matching(columns: Mapping[str, Column], conditions: Any) -> list[sa.ColumnElement[bool]]:
    """SQL for ``conditions`` over ``columns``; ValidationFailed naming each unfit part
    (``conditions[1].op``)."""
    if not isinstance(conditions, list | tuple) or len(conditions) > MAX_CONDITIONS:
        raise _bad("conditions", f"must be a list of at most {MAX_CONDITIONS} conditions")
    clauses, errors = [], []
    for i, c in enumerate(conditions):
        at = f"conditions[{i}]"
        if not isinstance(c, Condition):
            errors.append(FieldError(at, "must be a condition"))
            continue
        column = columns.get(c.field) if isinstance(c.field, str) else None
        if column is None:
            errors.append(FieldError(f"{at}.field", "must be one of " + ", ".join(columns)))
        elif c.op not in OPS[column.kind]:
            errors.append(FieldError(f"{at}.op", "must be one of " + ", ".join(OPS[column.kind])))
        else:
            try:
                clauses.append(_clause(column, c.op, c.value))
            except FieldValueError as exc:
                errors.append(FieldError(f"{at}.value", str(exc)))
    if errors:
        raise ValidationFailed.of(errors)
    return clauses


def order(
    columns: Mapping[str, Column], sort: Any, direction: Any, *ties: sa.ColumnElement[Any]
) -> list[sa.ColumnElement[Any]]:
    """The ORDER BY of ``sort`` (a key of ``columns``) ``direction`` (asc or desc), then
    ``ties`` ascending."""
    errors = []
    if not isinstance(sort, str) or sort not in columns:
        errors.append(FieldError("sort", "must be one of " + ", ".join(columns)))
    if direction not in DIRECTIONS:
        errors.append(FieldError("direction", "must be asc or desc"))
    if errors:
        raise ValidationFailed.of(errors)
    expr = columns[sort].folded()
    first = expr.asc().nulls_first() if direction == "asc" else expr.desc().nulls_last()
    return [first, *ties]
