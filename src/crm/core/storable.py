"""What the databases cannot store, found before it reaches them.

PostgreSQL refuses NUL characters in text and JSON, and neither database keeps lone
surrogates or integers beyond 64 bits; every write path checks its input with
:func:`unstorable` so that such input is a validation error, never a server error.
"""

from __future__ import annotations

import math
from typing import Any

#: The integers a database column or the JSON encoder can hold (signed 64 bits).
INT64 = 2**63 - 1


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable(data: Any, where: str = "body") -> str | None:
    """Where ``data`` holds what cannot be stored: NUL, lone surrogates, huge or odd numbers."""
    pending: list[tuple[Any, str]] = [(data, where)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return f"{where}: must not contain NUL characters"
        if isinstance(value, str) and not value.isascii() and not _utf8(value):
            return f"{where}: must be valid Unicode text (no lone surrogates)"
        if type(value) is int and not -INT64 - 1 <= value <= INT64:
            return f"{where}: the number is too large"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{where}: must be a finite number"
        if isinstance(value, dict):
            pending += [(key, where) for key in value]
            pending += [(item, f"{where}.{key}") for key, item in value.items()]
        elif isinstance(value, list):
            pending += [(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return None
