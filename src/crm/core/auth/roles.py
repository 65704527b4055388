"""Roles: the system roles every workspace starts with, and the custom roles its users make.

A role is named by its key or its number. Nobody grants more than they hold: creating or
changing a role needs every permission it will hold (and, to change or delete one, every
permission it holds). System roles never change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth import service
from crm.core.auth.conditions import Column, matching, order, search
from crm.core.auth.principal import PERMISSION, Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.metadata.repository import hold_for_change
from crm.core.metadata.validation import check_label
from crm.core.paging import check_limit, check_offset
from crm.db.jsonsql import KEY
from crm.db.schema import api_keys, roles, users


class RoleSpec(NamedTuple):
    name: str
    permissions: tuple[str, ...]


SYSTEM_ROLES: dict[str, RoleSpec] = {
    "owner": RoleSpec("Owner", ("*:*:full", "admin:*:manage")),
    "admin": RoleSpec(
        "Administrator",
        (
            "*:*:full",
            "admin:objects:manage",
            "admin:fields:manage",
            "admin:users:manage",
            "admin:apikeys:manage",
            "admin:events:manage",
            "admin:workflows:manage",
            "admin:webhooks:manage",
        ),
    ),
    "agent": RoleSpec(
        "Agent",
        ("*:*:viewown", "*:*:create", "*:*:editown", "*:*:deleteown", "admin:fields:manage"),
    ),
}

#: Where the deleted users and revoked keys of a deleted role go (they never act again).
FALLBACK_ROLE = "agent"
#: The most permissions one role holds, or one request asks about.
MAX_PERMISSIONS = 100
MAX_DESCRIPTION = 1000
#: Roles on a page of the list unless the caller asks for fewer or more (up to the most).
ROLE_PAGE = 100
MAX_ROLE_PAGE = 500


@dataclass(frozen=True)
class Role:
    id: int
    number: int
    key: str
    name: str
    description: str | None
    permissions: tuple[str, ...]
    is_system: bool
    created_at: datetime
    updated_at: datetime


class RolePage(NamedTuple):
    roles: list[Role]
    total: int


#: What a list of roles filters and sorts on.
COLUMNS = {
    "number": Column(roles.c.number, "whole"),
    "key": Column(roles.c.key, "text"),
    "name": Column(roles.c.name, "text"),
    "description": Column(roles.c.description, "text"),
    "created_at": Column(roles.c.created_at, "moment"),
    "updated_at": Column(sa.func.coalesce(roles.c.updated_at, roles.c.created_at), "moment"),
}


def _role(row: Any) -> Role:
    return Role(
        row.id,
        row.number,
        row.key,
        row.name,
        row.description,
        tuple(row.permissions),
        row.is_system,
        row.created_at,
        row.updated_at or row.created_at,
    )


def check_permissions(value: Any, name: str = "permissions") -> list[str]:
    """A list of well-formed permission strings, without repeats; ValidationFailed naming
    the list or each unfit item (``permissions[2]``)."""
    if not isinstance(value, list) or len(value) > MAX_PERMISSIONS:
        raise ValidationFailed.of(
            [FieldError(name, f"must be a list of at most {MAX_PERMISSIONS} permissions")]
        )
    errors = [
        FieldError(f"{name}[{i}]", "must be a permission such as lead:leads:viewown")
        for i, item in enumerate(value)
        if not isinstance(item, str) or not PERMISSION.match(item)
    ]
    if errors:
        raise ValidationFailed.of(errors)
    return list(dict.fromkeys(value))


def require_holds(principal: Principal, permissions: Iterable[str], what: str) -> None:
    """PermissionDenied unless the caller holds every one of ``permissions``."""
    beyond = [p for p in permissions if not principal.holds_permission(p)]
    if beyond:
        raise PermissionDenied(f"{what} has permissions you do not hold: {', '.join(beyond)}")


def _check(spec: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked values of a role's ``key`` (when creating), ``name``, ``description``
    and ``permissions``."""
    allowed = {"name", "description", "permissions"} | ({"key"} if creating else set())
    errors = [FieldError(k, "unknown attribute", "unknown") for k in spec if k not in allowed]
    out: dict[str, Any] = {}
    if creating and (not isinstance(spec.get("key"), str) or not KEY.match(spec["key"])):
        errors.append(
            FieldError("key", "must be a lowercase letter, then letters, digits or underscores")
        )
    if creating or "name" in spec:
        unfit = check_label(spec.get("name"), "name")
        errors += unfit
        if not unfit:
            out["name"] = spec["name"].strip()
    if "description" in spec:
        text = spec["description"]
        if text is not None and (not isinstance(text, str) or len(text) > MAX_DESCRIPTION):
            errors.append(
                FieldError("description", f"must be text of at most {MAX_DESCRIPTION} characters")
            )
        else:
            out["description"] = text.strip() or None if isinstance(text, str) else None
    if creating or "permissions" in spec:
        try:
            out["permissions"] = check_permissions(spec.get("permissions"))
        except ValidationFailed as exc:
            errors += exc.field_errors
    if errors:
        raise ValidationFailed.of(errors)
    return out


def _where(principal: Principal, ref: str) -> sa.ColumnElement[bool] | None:
    """The workspace's role named by ``ref``: its key, or its number (None for neither)."""
    text = ref.strip()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        named = roles.c.number == int(text)
    elif KEY.match(text):
        named = roles.c.key == text
    else:
        return None
    return sa.and_(roles.c.workspace_id == principal.workspace_id, named)


async def list_roles(
    conn: AsyncConnection,
    principal: Principal,
    *,
    q: Any = None,
    conditions: Any = (),
    sort: Any = "number",
    direction: Any = "asc",
    limit: int = ROLE_PAGE,
    offset: Any = 0,
) -> RolePage:
    """A page of the workspace's roles and how many there are. ``q`` finds them by a part
    of their key or name, in any case; ``conditions`` (see :mod:`crm.core.auth.conditions`)
    and ``sort`` name the keys of ``COLUMNS``."""
    principal.require_scope("role", "list")
    check_limit(limit, MAX_ROLE_PAGE)
    check_offset(offset)
    where = [roles.c.workspace_id == principal.workspace_id, *matching(COLUMNS, conditions)]
    found = search(q, (roles.c.key, roles.c.name))
    if found is not None:
        where.append(found)
    ordered = order(COLUMNS, sort, direction, roles.c.number)
    rows = await conn.execute(
        sa.select(roles).where(*where).order_by(*ordered).limit(limit).offset(offset)
    )
    page = [_role(row) for row in rows]
    total = await conn.execute(sa.select(sa.func.count()).select_from(roles).where(*where))
    return RolePage(page, int(total.scalar_one()))


async def _find(conn: AsyncConnection, principal: Principal, ref: str) -> Role:
    where = _where(principal, ref)
    row = None if where is None else (await conn.execute(sa.select(roles).where(where))).first()
    if row is None:
        raise NotFound("Role not found")
    return _role(row)


async def get_role(conn: AsyncConnection, principal: Principal, ref: str) -> Role:
    """A role of the workspace by key or number; NotFound otherwise."""
    principal.require_scope("role", "read")
    return await _find(conn, principal, ref)


async def create_role(conn: AsyncConnection, principal: Principal, **spec: Any) -> Role:
    """A custom role (``key``, ``name``, ``description``, ``permissions``), made by a caller
    that manages users and holds every permission it grants; 409 when the key is taken."""
    principal.require_scope("role", "create")
    principal.require_admin("users")
    values = _check(spec, creating=True)
    require_holds(principal, values["permissions"], f"The role {spec['key']!r}")
    await service.create_role(
        conn,
        principal.workspace_id,
        key=spec["key"],
        name=values["name"],
        permissions=values["permissions"],
        description=values.get("description"),
    )
    await append_event(
        conn,
        principal.workspace_id,
        "role.created",
        actor=principal,
        payload={"role": spec["key"], "permissions": values["permissions"]},
    )
    return await _find(conn, principal, spec["key"])


async def _to_change(conn: AsyncConnection, principal: Principal, ref: str, action: str) -> Role:
    """The custom role ``ref`` names, for a caller that may change it, under the workspace's
    lock on who may do what (the metadata lock)."""
    principal.require_scope("role", action)
    await hold_for_change(conn, principal.workspace_id)
    role = await _find(conn, principal, ref)
    principal.require_admin("users")
    require_holds(principal, role.permissions, f"The role {role.key!r}")
    if role.is_system:
        raise Conflict(f"The role {role.key!r} is a system role; it cannot be changed")
    return role


async def update_role(conn: AsyncConnection, principal: Principal, ref: str, **spec: Any) -> Role:
    """Change a custom role's ``name``, ``description`` or ``permissions``; what its users
    and keys may do changes from their next request."""
    role = await _to_change(conn, principal, ref, "update")
    values = _check(spec, creating=False)
    if "permissions" in values:
        require_holds(principal, values["permissions"], f"The role {role.key!r}")
    old = {"name": role.name, "description": role.description, "permissions": [*role.permissions]}
    changes = {k: [old[k], v] for k, v in values.items() if v != old[k]}
    if not changes:
        return role
    await conn.execute(
        sa.update(roles).where(roles.c.id == role.id).values(**values, updated_at=utcnow())
    )
    await append_event(
        conn,
        principal.workspace_id,
        "role.updated",
        actor=principal,
        changes=changes,
        payload={"role": role.key},
    )
    return await _find(conn, principal, role.key)


async def delete_role(conn: AsyncConnection, principal: Principal, ref: str) -> None:
    """Delete a custom role; 409 while a user (not deleted) or a key (not revoked) holds it.
    Deleted users and revoked keys that held it are given the agent role."""
    role = await _to_change(conn, principal, ref, "delete")
    held = await conn.execute(
        sa.select(sa.literal("user"))
        .where(users.c.role_id == role.id, users.c.deleted_at.is_(None))
        .union_all(
            sa.select(sa.literal("key")).where(
                api_keys.c.role_id == role.id, api_keys.c.revoked_at.is_(None)
            )
        )
        .limit(1)
    )
    holder = held.scalar()
    if holder is not None:
        raise Conflict(f"The role {role.key!r} is held by a {holder}; give them another first")
    fallback = await service.role_id(conn, principal.workspace_id, FALLBACK_ROLE)
    await conn.execute(
        sa.update(users)
        .where(users.c.role_id == role.id)
        .values(role_id=fallback, updated_at=utcnow())
    )
    await conn.execute(
        sa.update(api_keys).where(api_keys.c.role_id == role.id).values(role_id=fallback)
    )
    await conn.execute(sa.delete(roles).where(roles.c.id == role.id))
    await append_event(
        conn, principal.workspace_id, "role.deleted", actor=principal, payload={"role": role.key}
    )
