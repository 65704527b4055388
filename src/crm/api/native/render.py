"""How the native API shows core objects: UUID ids, ISO UTC times, every field present."""

from __future__ import annotations

from typing import Any

from crm.core.auth.roles import Role
from crm.core.auth.users import User
from crm.core.cases.service import Reply
from crm.core.cases.templates import Template
from crm.core.events.service import Event
from crm.core.identities.service import Identity
from crm.core.imports.service import Import, RowError
from crm.core.lists.service import StaticList
from crm.core.metadata.model import (
    CategoryMeta,
    FieldMeta,
    ObjectMeta,
    PipelineMeta,
    UserMeta,
    WorkspaceMeta,
)
from crm.core.notes.service import Note
from crm.core.records import canonical
from crm.core.records.canonical import user_ref as _user
from crm.core.tags.service import Tag
from crm.core.webhooks.subscriptions import ALL, Attempt, Subscription
from crm.core.workflows.model import Category, Run, Workflow

#: A record as the native API shows it: its canonical form.
record = canonical.record


def user(u: UserMeta) -> dict[str, Any]:
    return {"id": str(u.uuid), "email": u.email, "name": u.name, "active": u.active}


def profile(u: User) -> dict[str, Any]:
    """A user as ``/users`` shows it (never its password)."""
    return {
        "id": str(u.uuid),
        "number": u.number,
        "username": u.username,
        "email": u.email,
        "name": u.name,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "position": u.position,
        "timezone": u.timezone,
        "locale": u.locale,
        "role": u.role,
        "active": u.active,
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    }


def role(r: Role) -> dict[str, Any]:
    return {
        "key": r.key,
        "number": r.number,
        "name": r.name,
        "description": r.description,
        "permissions": list(r.permissions),
        "system": r.is_system,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def field(f: FieldMeta) -> dict[str, Any]:
    return {
        "id": str(f.uuid),
        "key": f.key,
        "label": f.label,
        "type": f.type,
        "group": f.group,
        "required": f.required,
        "unique": f.unique,
        "searchable": f.searchable,
        "indexed": f.indexed,
        "standard": f.is_standard,
        "default": f.default,
        "options": f.options,
        "position": f.position,
    }


def category(c: CategoryMeta) -> dict[str, Any]:
    return {"id": str(c.uuid), "key": c.key, "label": c.label, "position": c.position}


def object_type(o: ObjectMeta, *, with_fields: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(o.uuid),
        "key": o.key,
        "label": o.label,
        "plural_label": o.plural_label,
        "standard": o.is_standard,
        "display_fields": list(o.display_fields),
        "duplicates": {
            "policy": o.duplicate_rule.policy,
            "match": list(o.duplicate_rule.match),
        },
        "categories": [category(c) for c in o.categories],
    }
    if with_fields:
        out["fields"] = [field(f) for f in o.ordered_fields]
    return out


def pipeline(meta: WorkspaceMeta, p: PipelineMeta) -> dict[str, Any]:
    return {
        "id": str(p.uuid),
        "key": p.key,
        "label": p.label,
        "object": meta.objects_by_id[p.object_type_id].key,
        "stages": [
            {
                "id": str(s.uuid),
                "name": s.name,
                "kind": s.kind,
                "probability": s.probability,
                "color": s.color,
                "system_key": s.system_key,
                "position": s.position,
            }
            for s in p.stages
        ],
    }


def note(meta: WorkspaceMeta, n: Note) -> dict[str, Any]:
    return {
        "id": str(n.uuid),
        "number": n.number,
        "record_id": str(n.record.uuid),
        "object": n.record.object.key,
        "kind": n.kind,
        "tag": n.tag,
        "body": n.body,
        "author_id": _user(meta, n.author_id),
        "occurred_at": n.occurred_at,
        "created_at": n.created_at,
        "updated_at": n.updated_at,
    }


def event(meta: WorkspaceMeta, ev: Event) -> dict[str, Any]:
    return {
        "id": str(ev.uuid),
        "type": ev.type,
        "actor_id": _user(meta, ev.actor_user_id),
        "record_id": ev.payload.get("record"),
        "object": ev.payload.get("object"),
        "changes": ev.changes,
        "data": ev.payload,
        "created_at": ev.created_at,
    }


def tag(meta: WorkspaceMeta, t: Tag, *, counted: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(t.uuid),
        "name": t.name,
        "created_by": _user(meta, t.created_by),
        "created_at": t.created_at,
    }
    if counted:
        out["labeled_count"] = t.labeled_count
    return out


def static_list(meta: WorkspaceMeta, lst: StaticList) -> dict[str, Any]:
    return {
        "id": str(lst.uuid),
        "number": lst.number,
        "name": lst.name,
        "object": lst.object.key,
        "description": lst.description,
        "member_count": lst.member_count,
        "created_by": _user(meta, lst.created_by),
        "created_at": lst.created_at,
        "updated_at": lst.updated_at,
    }


def identity(i: Identity) -> dict[str, Any]:
    return {
        "id": str(i.uuid),
        "channel": i.channel,
        "address": i.address,
        "metadata": i.metadata,
        "created_at": i.created_at,
    }


def import_(meta: WorkspaceMeta, i: Import) -> dict[str, Any]:
    return {
        "id": str(i.uuid),
        "object": i.object.key,
        "status": i.status,
        "filename": i.filename,
        "size_bytes": i.size_bytes,
        "encoding": i.options.get("encoding"),
        "phone_channel": i.options.get("phone_channel"),
        "total_rows": i.total_rows,
        "processed_rows": i.processed,
        "created": i.created,
        "updated": i.updated,
        "skipped": i.skipped,
        "failed": i.failed,
        "succeeded": i.succeeded,
        "errors_kept": i.errors_kept,
        "failure": i.failure,
        "created_by": _user(meta, i.created_by),
        "created_at": i.created_at,
        "started_at": i.started_at,
        "finished_at": i.finished_at,
        "updated_at": i.updated_at,
    }


def row_error(e: RowError) -> dict[str, Any]:
    return {"row": e.row, "column": e.column, "message": e.message}


def reply(r: Reply) -> dict[str, Any]:
    author = r.author
    return {
        "id": str(r.uuid),
        "case_id": str(r.case.uuid),
        "body": r.body,
        "author": {"id": str(author.uuid), "name": author.name, "email": author.email}
        if author
        else None,
        "template_id": str(r.template) if r.template else None,
        "created_at": r.created_at,
    }


def reply_template(meta: WorkspaceMeta, t: Template) -> dict[str, Any]:
    return {
        "id": str(t.uuid),
        "number": t.number,
        "name": t.name,
        "body": t.body,
        "created_by": _user(meta, t.created_by),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def webhook(s: Subscription) -> dict[str, Any]:
    """A webhook subscription; its secret only when it was just made or rotated."""
    out: dict[str, Any] = {
        "id": str(s.uuid),
        "url": s.url,
        "events": list(s.event_types) if s.event_types is not None else [ALL],
        "objects": list(s.object_types) if s.object_types is not None else [ALL],
        "active": s.active,
        "status": s.status,
        "failure": s.failure,
        "failed_at": s.failed_at,
        "failed_attempts": s.attempts,
        "next_attempt_at": s.next_attempt_at,
        "previous_secret_expires_at": s.previous_secret_until,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }
    if s.secret is not None:
        out["secret"] = s.secret
    return out


def delivery(a: Attempt) -> dict[str, Any]:
    """One attempt of a webhook's delivery log."""
    return {
        "id": str(a.uuid),
        "event_id": str(a.event_uuid),
        "event_type": a.event_type,
        "attempt": a.attempt,
        "status": a.status,
        "response_status": a.response_status,
        "response_excerpt": a.response_excerpt,
        "error": a.error,
        "duration_ms": a.duration_ms,
        "created_at": a.created_at,
    }


def workflow_category(c: Category) -> dict[str, Any]:
    return {"id": str(c.uuid), "number": c.number, "name": c.name}


def workflow(meta: WorkspaceMeta, w: Workflow) -> dict[str, Any]:
    return {
        "id": str(w.uuid),
        "number": w.number,
        "object": w.object_key,
        "name": w.name,
        "description": w.description,
        "category": workflow_category(w.category) if w.category else None,
        "published": w.published,
        "runtime": w.runtime,
        "trigger": w.trigger,
        "conditions": w.conditions,
        "steps": w.steps,
        "created_by": _user(meta, w.created_by),
        "created_at": w.created_at,
        "updated_at": w.updated_at,
    }


def workflow_run(r: Run) -> dict[str, Any]:
    """A run; with its ``steps`` (what each did) when it was read alone."""
    out: dict[str, Any] = {
        "id": str(r.uuid),
        "workflow": {
            "id": str(r.workflow_uuid),
            "number": r.workflow_number,
            "name": r.workflow_name,
        },
        "record": {"id": str(r.record_uuid), "number": r.record_number, "object": r.object_key}
        if r.record_uuid
        else None,
        "status": r.status,
        "position": r.position,
        "depth": r.depth,
        "due_at": r.due_at,
        "error": r.error,
        "started_at": r.started_at,
        "updated_at": r.updated_at,
        "finished_at": r.finished_at,
    }
    if r.steps is not None:
        out["steps"] = [
            {
                "position": s.position,
                "type": s.type,
                "status": s.status,
                "detail": s.detail,
                "at": s.at,
            }
            for s in r.steps
        ]
    return out
