"""Reply templates: texts a case reply can be made from, numbered per workspace (1, 2, ...).

A template's body may hold merge fields, filled in as plain text when a reply is made from
it: ``{{case.<field key>}}``, ``{{contact.<field key>}}`` (the case's ``contact``, empty
when it has none or the caller may not see it) and ``{{user.name}}``/``{{user.email}}``
(the reply's author). A merge field no field answers to is refused when the template is
saved; one whose field was deleted since is left empty.

Numbers are the workspace's largest so far plus one, taken under a lock on the
workspace's template counter (:func:`crm.db.locks.hold_counter`), so a deleted template's
number is given again only when it was the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal, Reach
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.ids import parse_uuid, uuid7
from crm.core.limits import MAX_TEXT_BODY
from crm.core.metadata.model import FieldMeta, ObjectMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.paging import after, check_limit
from crm.core.records import repository as repo
from crm.core.records.model import Record
from crm.core.records.values import render_value
from crm.db.locks import hold_counter
from crm.db.schema import records, reply_templates

__all__ = [
    "MAX_TEMPLATE_PAGE",
    "TEMPLATE_PAGE",
    "Template",
    "TemplatePage",
    "create_template",
    "delete_template",
    "get_template",
    "list_templates",
    "merge",
    "update_template",
]

CASE = "case"
#: The case's relation field whose record ``{{contact.*}}`` reads.
CONTACT = "contact"
USER_FIELDS = ("name", "email")
MAX_NAME = 200
#: Templates on a page of the list unless the caller asks for fewer or more.
TEMPLATE_PAGE = 100
MAX_TEMPLATE_PAGE = 500
#: ``{{ scope.key }}``, spaces inside the braces allowed.
MERGE_FIELD = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class Template:
    id: int
    uuid: Any
    number: int
    name: str
    body: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime


def _template(row: Any) -> Template:
    return Template(
        row.id,
        row.uuid,
        row.number,
        row.name,
        row.body,
        row.created_by,
        row.created_at,
        row.updated_at,
    )


def _contact_object(meta: WorkspaceMeta) -> ObjectMeta | None:
    f = meta.object(CASE).fields.get(CONTACT)
    return meta.objects.get(f.options["object"]) if f and f.type == "relation" else None


def _known(meta: WorkspaceMeta) -> set[str]:
    """The merge fields a template may hold in this workspace."""
    known = {f"case.{f.key}" for f in meta.object(CASE).value_fields}
    contact = _contact_object(meta)
    if contact is not None:
        known |= {f"contact.{f.key}" for f in contact.value_fields}
    return known | {f"user.{key}" for key in USER_FIELDS}


def _check(meta: WorkspaceMeta, spec: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """A template's checked ``name`` and ``body`` (those given, all when ``creating``)."""
    errors = [
        FieldError(k, "unknown attribute", "unknown") for k in spec if k not in ("name", "body")
    ]
    out: dict[str, Any] = {}
    if creating or "name" in spec:
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
            errors.append(FieldError("name", f"must be 1 to {MAX_NAME} characters"))
        else:
            out["name"] = name.strip()
    if creating or "body" in spec:
        body = spec.get("body")
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_TEXT_BODY:
            errors.append(FieldError("body", f"must be 1 to {MAX_TEXT_BODY} characters"))
        else:
            used = {m.group(1) for m in MERGE_FIELD.finditer(body)}
            unknown = sorted(used - _known(meta))
            if unknown:
                named = ", ".join("{{" + u + "}}" for u in unknown)
                errors.append(FieldError("body", f"unknown merge fields: {named}", "unknown"))
            out["body"] = body
    if errors:
        raise ValidationFailed.of(errors)
    return out


def _require_replier(principal: Principal) -> None:
    """Templates are written by those who may reply to cases (edit some)."""
    if principal.reach(CASE, "edit") == Reach.NONE:
        raise PermissionDenied("Your role may not reply to cases")


def _require_may_change(principal: Principal, template: Template) -> None:
    if template.created_by != principal.user_id and principal.reach(CASE, "edit") != Reach.ALL:
        raise PermissionDenied("Only the template's author or an editor of all cases may change it")


async def create_template(
    conn: AsyncConnection, principal: Principal, *, name: Any, body: Any
) -> Template:
    """A new template, numbered after the workspace's last."""
    principal.require_scope("reply_template", "create")
    _require_replier(principal)
    values = _check(
        await metadata_for(conn, principal), {"name": name, "body": body}, creating=True
    )
    workspace_id = principal.workspace_id
    await hold_counter(conn, "reply_templates", workspace_id)
    last = await conn.execute(
        sa.select(sa.func.max(reply_templates.c.number)).where(
            reply_templates.c.workspace_id == workspace_id
        )
    )
    now = utcnow()
    row = {
        "workspace_id": workspace_id,
        "uuid": uuid7(),
        "number": (last.scalar() or 0) + 1,
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
        **values,
    }
    made = await conn.execute(
        sa.insert(reply_templates).values(**row).returning(reply_templates.c.id)
    )
    template_id = made.scalar_one()
    await _event(conn, principal, "reply_template.created", row["uuid"], row["number"])
    return Template(
        template_id,
        row["uuid"],
        row["number"],
        values["name"],
        values["body"],
        principal.user_id,
        now,
        now,
    )


async def _event(
    conn: AsyncConnection, principal: Principal, type_: str, ref: Any, number: int
) -> None:
    await append_event(
        conn,
        principal.workspace_id,
        type_,
        actor=principal,
        payload={"template": str(ref), "number": number},
    )


class TemplatePage(NamedTuple):
    """One page of the workspace's templates by number, and the next page's cursor."""

    templates: list[Template]
    next_cursor: str | None


async def list_templates(
    conn: AsyncConnection,
    principal: Principal,
    *,
    limit: int = TEMPLATE_PAGE,
    cursor: str | None = None,
) -> TemplatePage:
    """A page of the workspace's templates by number; ``cursor`` is the last template of
    the page before."""
    principal.require_scope("reply_template", "list")
    check_limit(limit, MAX_TEMPLATE_PAGE)
    mine = reply_templates.c.workspace_id == principal.workspace_id
    select = sa.select(reply_templates).where(mine)
    if cursor is not None:
        last = await after(
            conn, sa.select(reply_templates.c.number).where(mine), reply_templates.c.uuid, cursor
        )
        select = select.where(reply_templates.c.number > last.number)
    rows = (await conn.execute(select.order_by(reply_templates.c.number).limit(limit + 1))).all()
    page = [_template(r) for r in rows[:limit]]
    return TemplatePage(page, str(page[-1].uuid) if len(rows) > limit else None)


def _ident(ref: Any) -> sa.ColumnElement[bool]:
    """Match a template by UUID or number; NotFound for anything else."""
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and len(ref) < 19:
        ref = int(ref)
    if isinstance(ref, int) and not isinstance(ref, bool):
        if not 0 < ref < 2**63:
            raise NotFound("Reply template not found")
        return reply_templates.c.number == ref
    found = parse_uuid(ref) if isinstance(ref, str) else None
    if found is None:
        raise NotFound("Reply template not found")
    return reply_templates.c.uuid == found


async def get_template(
    conn: AsyncConnection, principal: Principal, ref: Any, *, lock: bool = False
) -> Template:
    """A template of the workspace by UUID or number; NotFound otherwise. A reply made from
    it passes ``lock``: it cannot change or go before the reply's transaction ends."""
    principal.require_scope("reply_template", "read")
    return await _find(conn, principal, ref, lock=lock)


async def _find(
    conn: AsyncConnection,
    principal: Principal,
    ref: Any,
    *,
    lock: bool = False,
    exclusive: bool = False,
) -> Template:
    """A template of the workspace by UUID or number, its row locked shared (``lock``) or
    for a change (``exclusive``) when asked; NotFound otherwise."""
    select = sa.select(reply_templates).where(
        reply_templates.c.workspace_id == principal.workspace_id, _ident(ref)
    )
    if lock or exclusive:
        select = select.with_for_update(read=not exclusive)
    row = (await conn.execute(select)).first()
    if row is None:
        raise NotFound("Reply template not found")
    return _template(row)


async def update_template(
    conn: AsyncConnection, principal: Principal, ref: Any, changes: dict[str, Any]
) -> Template:
    """Change a template's ``name`` and/or ``body``: its author, or an editor of all cases."""
    principal.require_scope("reply_template", "update")
    meta = await metadata_for(conn, principal)
    template = await _find(conn, principal, ref, exclusive=True)
    _require_may_change(principal, template)
    values = _check(meta, changes, creating=False)
    now = utcnow()
    await conn.execute(
        sa.update(reply_templates)
        .where(reply_templates.c.id == template.id)
        .values(updated_at=now, **values)
    )
    await _event(conn, principal, "reply_template.updated", template.uuid, template.number)
    return Template(
        template.id,
        template.uuid,
        template.number,
        values.get("name", template.name),
        values.get("body", template.body),
        template.created_by,
        template.created_at,
        now,
    )


async def delete_template(conn: AsyncConnection, principal: Principal, ref: Any) -> None:
    """Delete a template; replies made from it keep their text."""
    principal.require_scope("reply_template", "delete")
    template = await _find(conn, principal, ref, exclusive=True)
    _require_may_change(principal, template)
    await conn.execute(sa.delete(reply_templates).where(reply_templates.c.id == template.id))
    await _event(conn, principal, "reply_template.deleted", template.uuid, template.number)


async def _related(
    conn: AsyncConnection, principal: Principal, meta: WorkspaceMeta, f: FieldMeta, value: Any
) -> Record | None:
    """The record a relation value names, if the caller may see it."""
    target = meta.objects.get(f.options["object"])
    wanted = parse_uuid(value) if isinstance(value, str) else None
    if target is None or wanted is None:
        return None
    where = repo.scoped(principal, target)
    return await repo.fetch(conn, where, records.c.uuid == wanted, target)


async def _plain(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    data: dict[str, Any],
    key: str,
) -> str:
    """Field ``key`` of a record of ``obj`` as plain text: a stage or user by name, a
    related record by its name (empty if the caller may not see it), a list joined with
    commas, true and false as Yes and No; empty when the record has no value."""
    f = obj.fields.get(key)
    value = data.get(key) if f is not None else None
    if f is None or value is None:
        return ""
    if f.type == "relation":
        related = await _related(conn, principal, meta, f, value)
        return related.display_name if related else ""
    if f.type == "user":
        user = meta.users_by_uuid.get(value)
        return user.name if user else ""
    if f.type == "stage":
        return str(render_value(meta, f, value) or "")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


async def merge(
    conn: AsyncConnection, principal: Principal, template: Template, case: Record
) -> str:
    """The template's body with its merge fields filled in for a reply by the caller on
    ``case``; the values are inserted as they are, never read for merge fields again."""
    meta = await metadata_for(conn, principal)
    user = meta.users.get(principal.user_id)
    tokens = {m.group(1) for m in MERGE_FIELD.finditer(template.body)}
    contact = None
    link = case.object.fields.get(CONTACT)
    if link is not None and any(t.startswith("contact.") for t in tokens):
        contact = await _related(conn, principal, meta, link, case.data.get(CONTACT))
    values: dict[str, str] = {}
    for token in tokens:
        scope, _, key = token.partition(".")
        if scope == "case":
            values[token] = await _plain(conn, principal, meta, case.object, case.data, key)
        elif scope == "contact" and contact is not None:
            values[token] = await _plain(conn, principal, meta, contact.object, contact.data, key)
        elif scope == "user" and key in USER_FIELDS and user is not None:
            values[token] = getattr(user, key)
    return MERGE_FIELD.sub(lambda m: values.get(m.group(1), ""), template.body)
