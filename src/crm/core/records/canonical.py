"""A record's canonical JSON form: how the native API shows it, and what webhooks carry.

UUID ids, every field present in its shown form, users by their UUIDs; times stay
``datetime`` for the serialiser (ISO 8601 UTC).
"""

from __future__ import annotations

from typing import Any

from crm.core.metadata.model import WorkspaceMeta
from crm.core.records.model import Record
from crm.core.records.values import render_fields


def user_ref(meta: WorkspaceMeta, user_id: int | None) -> str | None:
    """The UUID of the workspace's user ``user_id`` (None for none, or one not known)."""
    user = meta.users.get(user_id) if user_id is not None else None
    return str(user.uuid) if user else None


def record(meta: WorkspaceMeta, r: Record) -> dict[str, Any]:
    """The record ``r`` in its canonical form."""
    return {
        "id": str(r.uuid),
        "number": r.number,
        "object": r.object.key,
        "display_name": r.display_name,
        "fields": render_fields(meta, r.object, r.data),
        "unmapped": r.unmapped,
        "owner_id": user_ref(meta, r.owner_id),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "archived_at": r.archived_at,
    }
