"""What the databases cannot store, found before it reaches them.

PostgreSQL refuses NUL characters in text and JSON, neither database keeps lone
surrogates or integers beyond 64 bits, and the JSON encoder stops at 254 levels of
nesting; every body is checked with :func:`unstorable` where it enters (the request
layer of each face) so that such input is a validation error naming the field, never a
server error.
"""

from __future__ import annotations

import math
from typing import Any

from crm.core.errors import FieldError, ValidationFailed
from crm.core.limits import MAX_JSON_DEPTH

#: The integers a database column or the JSON encoder can hold (signed 64 bits).
INT64 = 2**63 - 1


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _inside(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def unstorable(data: Any, where: str = "body") -> str | None:
    """Where ``data`` holds what cannot be stored, as ``"<where>: <problem>"``: NUL, lone
    surrogates, huge or odd numbers, nesting deeper than ``MAX_JSON_DEPTH``."""
    pending: list[tuple[Any, str, int]] = [(data, where, 1)]
    while pending:
        value, where, depth = pending.pop()
        if depth > MAX_JSON_DEPTH and isinstance(value, dict | list):
            return f"{where}: must not nest more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(value, str) and "\x00" in value:
            return f"{where}: must not contain NUL characters"
        if isinstance(value, str) and not value.isascii() and not _utf8(value):
            return f"{where}: must be valid Unicode text (no lone surrogates)"
        if type(value) is int and not -INT64 - 1 <= value <= INT64:
            return f"{where}: the number is too large"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{where}: must be a finite number"
        if isinstance(value, dict):
            pending += [(key, where, depth) for key in value]
            pending += [(item, _inside(where, key), depth + 1) for key, item in value.items()]
        elif isinstance(value, list):
            pending += [(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    return None


def require_storable(data: Any, where: str = "") -> None:
    """ValidationFailed naming the field (its path within ``data``) unless storable."""
    problem = unstorable(data, where)
    if problem is not None:
        field, _, message = problem.rpartition(": ")
        raise ValidationFailed.of([FieldError(field or "body", message)])
