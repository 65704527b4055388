"""Checks on metadata input shared by objects, fields and pipelines."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from crm.core.errors import FieldError
from crm.db.jsonsql import KEY

#: Record attributes every object has; no field may take these keys.
SYSTEM_ATTRIBUTES = frozenset(
    {
        "id",
        "uuid",
        "object",
        "fields",
        "owner_id",
        "owner",
        "created_at",
        "updated_at",
        "archived_at",
        "deleted_at",
        "created_by",
    }
)


def check_key(value: Any, name: str = "key") -> list[FieldError]:
    if not isinstance(value, str) or not KEY.match(value):
        return [
            FieldError(
                name,
                "must be snake_case: a lowercase letter, then letters, "
                "digits or underscores (at most 63)",
            )
        ]
    if value in SYSTEM_ATTRIBUTES:
        return [FieldError(name, f"{value!r} is reserved")]
    return []


def check_label(value: Any, name: str = "label") -> list[FieldError]:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        return [FieldError(name, "must be a non-empty string of at most 200 characters")]
    return []


def check_flag(spec: dict[str, Any], name: str) -> list[FieldError]:
    if name in spec and not isinstance(spec[name], bool):
        return [FieldError(name, "must be true or false")]
    return []


def check_position(spec: dict[str, Any]) -> list[FieldError]:
    position = spec.get("position")
    if "position" in spec and (
        not isinstance(position, int) or isinstance(position, bool) or abs(position) >= 2**31
    ):
        return [FieldError("position", "must be an integer below 2,147,483,648")]
    return []


def key_for_label(label: str) -> str:
    """A field key made from a label: ``"Lifecycle stage"`` gives ``lifecycle_stage``."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    if not key or not key[0].isalpha():
        key = f"f_{key}".rstrip("_")
    key = key[:63].rstrip("_")
    return f"{key}_field" if key in SYSTEM_ATTRIBUTES else key


def label_for_key(key: str) -> str:
    """A label made from a key: ``"general"`` gives ``General``, ``"contact_info"``
    ``Contact info``."""
    words = " ".join(key.replace("_", " ").split())
    return words[:1].upper() + words[1:]
