"""Flownally's ids: a type prefix and the Crockford base32 form of the same 128 bits.

``con_01HV8Y...`` is a contact's UUID, ``tag_...`` a tag's, ``tn_...`` the workspace's; the
mapping is a pure function both ways, never a lookup table.
"""

from __future__ import annotations

import uuid

from crm.core.errors import NotFound
from crm.core.ids import from_base32, to_base32


def face_id(prefix: str, value: uuid.UUID) -> str:
    return f"{prefix}_{to_base32(value)}"


def core_id(prefix: str, text: str, what: str) -> str:
    """The UUID (as text) behind a prefixed id; NotFound for anything else."""
    head, _, body = text.partition("_")
    try:
        if head != prefix:
            raise ValueError(head)
        return str(from_base32(body))
    except ValueError:
        raise NotFound(f"{what} not found") from None
