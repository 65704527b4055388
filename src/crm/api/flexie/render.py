"""Records, notes, lists, users, roles and workflows as Flexie shows them: integer ids,
fields under their aliases, times in ISO 8601 with their offset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.api.flexie.entities import flexie_permission
from crm.api.flexie.fields import alias, pipelines
from crm.core.auth.principal import covers
from crm.core.auth.roles import Role
from crm.core.auth.users import User
from crm.core.cases.service import Reply
from crm.core.lists.service import StaticList
from crm.core.metadata.model import FieldMeta, WorkspaceMeta
from crm.core.notes.service import Note
from crm.core.records.model import Record
from crm.core.workflows.model import Category, Run, Workflow, path_text


def user_number(meta: WorkspaceMeta, user_id: int | None) -> int | None:
    """A user as Flexie names them: by their number in the workspace."""
    user = meta.users.get(user_id) if user_id is not None else None
    return user.number if user is not None else None


def user_by_uuid(meta: WorkspaceMeta, value: Any) -> int | None:
    user = meta.users_by_uuid.get(value) if isinstance(value, str) else None
    return user.number if user is not None else None


def records(
    meta: WorkspaceMeta, found: list[Record], related: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Records of one type; ``related`` gives the numbers of the records their relations
    name. Each field's alias and the type's pipeline are worked out once for the page."""
    if not found:
        return []
    obj = found[0].object
    shown = [(f, alias(f)) for f in obj.value_fields]
    staged = pipelines(meta, obj)[:1]
    out = []
    for r in found:
        data = r.data
        one: dict[str, Any] = {"id": r.number}
        for f, name in shown:
            value = data.get(f.key)
            if value is not None and f.type in ("relation", "user", "stage"):
                value = _reference(meta, f, value, related)
            one[name] = value
        for pipeline in staged:
            one["pipeline_id"] = pipeline.number
            one["stage_id"] = pipeline.stage_number(data.get(pipeline.field.key))
        one["owner_id"] = user_number(meta, r.owner_id)
        one["date_added"] = r.created_at
        one["date_modified"] = r.updated_at
        out.append(one)
    return out


def _reference(meta: WorkspaceMeta, f: FieldMeta, value: Any, related: Mapping[str, int]) -> Any:
    """A related record, a user or a stage as Flexie names it: by number, or a stage by name."""
    if f.type == "relation":
        return related.get(value)
    if f.type == "user":
        return user_by_uuid(meta, value)
    stage = meta.pipeline_of(f).stage_by_uuid(value)
    return stage.name if stage else None


def relation_values(records: list[Record]) -> set[str]:
    """The record UUIDs the relation fields of ``records`` hold."""
    return {
        r.data[f.key]
        for r in records
        for f in r.object.value_fields
        if f.type == "relation" and isinstance(r.data.get(f.key), str)
    }


def note(meta: WorkspaceMeta, n: Note) -> dict[str, Any]:
    """A note: its text, type and time, the record it is on, and who wrote it."""
    return {
        "id": n.number,
        "text": n.body,
        "type": n.kind,
        "datetime": n.occurred_at,
        "entityType": n.record.object.key,
        "entityId": n.record.number,
        "owner_id": user_number(meta, n.author_id),
        "date_added": n.created_at,
        "date_modified": n.updated_at,
    }


def static_list(meta: WorkspaceMeta, lst: StaticList) -> dict[str, Any]:
    """A static list: its id, name, description and how many records are on it."""
    return {
        "id": lst.number,
        "name": lst.name,
        "description": lst.description,
        "entityType": lst.object.key,
        "memberCount": lst.member_count,
        "created_by": user_number(meta, lst.created_by),
        "date_added": lst.created_at,
        "date_modified": lst.updated_at,
    }


def reply(meta: WorkspaceMeta, r: Reply) -> dict[str, Any]:
    """A reply on a case: its text, who wrote it, and when."""
    author = r.author
    return {
        "text": r.body,
        "caseId": r.case.number,
        "identifier": r.case.data.get("identifier"),
        "fromTemplate": r.template is not None,
        "owner": {"id": author.number, "name": author.name, "email": author.email}
        if author is not None
        else None,
        "date_added": r.created_at,
    }


def user(u: User) -> dict[str, Any]:
    """A user (never its password): ``role`` is its role's id and name, ``isPublished``
    whether it is active."""
    return {
        "id": u.number,
        "username": u.username,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "email": u.email,
        "position": u.position,
        "timezone": u.timezone,
        "locale": u.locale,
        "role": {"id": u.role_number, "name": u.role_name},
        "isPublished": u.active,
        "date_added": u.created_at,
        "date_modified": u.updated_at,
    }


#: What a role holds to be an administrator: every record, and the users.
ADMIN = ("*:*:full", "admin:users:manage")


def role(r: Role) -> dict[str, Any]:
    """A role with its permissions; ``isAdmin`` when it holds all of ``ADMIN``."""
    return {
        "id": r.number,
        "name": r.name,
        "description": r.description,
        "isAdmin": all(covers(r.permissions, p) for p in ADMIN),
        "permissions": [flexie_permission(p) for p in r.permissions],
        "date_added": r.created_at,
        "date_modified": r.updated_at,
    }


def workflow_category(c: Category) -> dict[str, Any]:
    return {"id": c.number, "name": c.name}


def workflow(w: Workflow) -> dict[str, Any]:
    """A workflow: ``isPublished`` whether it runs, ``object`` the core's key of the record
    type it runs on; its trigger, conditions and steps as the native API shows them."""
    return {
        "id": w.number,
        "name": w.name,
        "description": w.description,
        "category": workflow_category(w.category) if w.category else None,
        "isPublished": w.published,
        "runtime": w.runtime,
        "object": w.object_key,
        "trigger": w.trigger,
        "conditions": w.conditions,
        "steps": w.steps,
        "date_added": w.created_at,
        "date_modified": w.updated_at,
    }


def workflow_run(r: Run) -> dict[str, Any]:
    """A run on a record: its workflow's id and name, its status, and ``step``, the
    position of the step it is at (where it stopped, once it has ended)."""
    return {
        "id": r.workflow_number,
        "name": r.workflow_name,
        "status": r.status,
        "step": path_text(r.position),
        "error": r.error,
        "date_started": r.started_at,
        "date_finished": r.finished_at,
    }
