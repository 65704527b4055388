"""How Flownally shows contacts, tags and field definitions: prefixed ids, camelCase."""

from __future__ import annotations

from typing import Any

from crm.api.flownally.ids import face_id
from crm.core.auth.principal import Principal
from crm.core.identities.service import Identity
from crm.core.imports.service import Import, RowError
from crm.core.metadata.model import FieldMeta, ObjectMeta, WorkspaceMeta
from crm.core.records.model import Record
from crm.core.records.values import render_value
from crm.core.tags.service import Tag

#: Contact fields shown as the contact's ``name`` rather than as custom fields.
NAME_FIELDS = ("first_name", "last_name")
FIELD_PREFIX = "cf_"


def camel(key: str) -> str:
    """``lifecycle_stage`` reads ``lifecycleStage``."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field_for(obj: ObjectMeta, ref: str) -> FieldMeta | None:
    """A custom field by definition id (``cf_lifecycle_stage``), camelCase or snake_case key."""
    key = ref.removeprefix(FIELD_PREFIX)
    by_camel = {camel(k): f for k, f in obj.fields.items()}
    found = obj.fields.get(key) or by_camel.get(key)
    if found is None or found.key in NAME_FIELDS or found.holds_links:
        return None
    return found


def shown_fields(obj: ObjectMeta) -> list[FieldMeta]:
    return [f for f in obj.ordered_fields if f.key not in NAME_FIELDS and not f.holds_links]


def _user(meta: WorkspaceMeta, user_id: int | None) -> str | None:
    user = meta.users.get(user_id) if user_id is not None else None
    return face_id("usr", user.uuid) if user else None


def contact(
    principal: Principal,
    meta: WorkspaceMeta,
    record: Record,
    identities: list[Identity],
    tags: list[Tag],
) -> dict[str, Any]:
    name = " ".join(str(record.data[k]) for k in NAME_FIELDS if record.data.get(k))
    custom = {
        camel(f.key): render_value(meta, f, record.data[f.key])
        for f in shown_fields(record.object)
        if record.data.get(f.key) is not None
    }
    return {
        "id": face_id("con", record.uuid),
        "tenantId": face_id("tn", principal.workspace_uuid),
        "name": name or None,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "identities": [
            {"id": face_id("idn", i.uuid), "channel": i.channel, "metadata": i.metadata}
            for i in identities
        ],
        "tagIds": [face_id("tag", t.uuid) for t in tags],
        "customFields": custom,
        "archivedAt": record.archived_at,
    }


def tag(meta: WorkspaceMeta, t: Tag) -> dict[str, Any]:
    return {
        "id": face_id("tag", t.uuid),
        "name": t.name,
        "createdAt": t.created_at,
        "createdBy": _user(meta, t.created_by),
        "labeledCount": t.labeled_count,
    }


def field(meta: WorkspaceMeta, f: FieldMeta, entity_type: str) -> dict[str, Any]:
    return {
        "id": FIELD_PREFIX + f.key,
        "name": f.label,
        "type": "date" if f.type in ("date", "datetime") else "text",
        "createdAt": f.created_at,
        "createdBy": _user(meta, f.created_by),
        "predefined": f.is_standard,
        "entityType": entity_type,
    }


def contact_import(i: Import, errors: list[RowError]) -> dict[str, Any]:
    """An import's progress: ``totalRows`` is 0 until the worker has counted the file."""
    return {
        "importId": face_id("import", i.uuid),
        "status": i.status,
        "totalRows": i.total_rows or 0,
        "processedRows": i.processed,
        "successCount": i.succeeded,
        "failedCount": i.failed,
        "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in errors],
        "failure": i.failure,
        "createdAt": i.created_at,
        "finishedAt": i.finished_at,
    }
