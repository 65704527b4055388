"""Users: who works in a workspace, their profiles and roles, and what their roles grant.

A user is named by its UUID, its number or its email. Listing and reading users needs only
a key's scopes; changing them needs a role that manages users and holds every permission
of the user's role (nobody manages someone above them) and of any role it hands out.
Changes take the workspace's metadata lock first: users are part of the metadata, and
their numbers are ``max + 1`` read under that lock.

Deleting a user is soft: the user is deactivated and marked deleted, its keys are revoked,
and its records keep their owner unless ``transfer_to`` names an heir. A workspace always
keeps an active owner, and nobody deletes or deactivates themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth import service
from crm.core.auth.conditions import Column, matching, order, search
from crm.core.auth.credentials import hash_password
from crm.core.auth.principal import Principal, covers
from crm.core.auth.profiles import PROFILE_FIELDS, check_profile, full_name
from crm.core.auth.roles import check_permissions, require_holds
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.ids import parse_uuid
from crm.core.metadata.repository import bump_version, hold_for_change
from crm.core.paging import check_limit, check_offset
from crm.db.schema import api_keys, object_types, records, roles, users

#: Users on a page of the list unless the caller asks for fewer or more (up to the most).
USER_PAGE = 100
MAX_USER_PAGE = 500
OWNER = "owner"


@dataclass(frozen=True)
class User:
    id: int
    uuid: uuid.UUID
    number: int
    username: str
    email: str
    name: str
    first_name: str | None
    last_name: str | None
    position: str | None
    timezone: str | None
    locale: str | None
    #: The role's key, number and name.
    role: str
    role_number: int
    role_name: str
    active: bool
    created_at: datetime
    updated_at: datetime
    #: What the user's role grants.
    permissions: tuple[str, ...]


class UserPage(NamedTuple):
    users: list[User]
    total: int


_JOINED = users.join(roles, roles.c.id == users.c.role_id)
_SELECT = sa.select(
    users,
    roles.c.key.label("role_key"),
    roles.c.number.label("role_number"),
    roles.c.name.label("role_name"),
    roles.c.permissions.label("role_permissions"),
).select_from(_JOINED)
#: What a list of users filters and sorts on: the role by its key or its number.
COLUMNS = {
    "number": Column(users.c.number, "whole"),
    **{
        name: Column(users.c[name], "text")
        for name in (
            "email",
            "username",
            "name",
            "first_name",
            "last_name",
            "position",
            "timezone",
            "locale",
        )
    },
    "role": Column(roles.c.key, "text"),
    "role_number": Column(roles.c.number, "whole"),
    "active": Column(users.c.active, "flag"),
    "created_at": Column(users.c.created_at, "moment"),
    "updated_at": Column(sa.func.coalesce(users.c.updated_at, users.c.created_at), "moment"),
}


def _user(row: Any) -> User:
    return User(
        id=row.id,
        uuid=row.uuid,
        number=row.number,
        username=row.username,
        email=row.email,
        name=row.name,
        first_name=row.first_name,
        last_name=row.last_name,
        position=row.position,
        timezone=row.timezone,
        locale=row.locale,
        role=row.role_key,
        role_number=row.role_number,
        role_name=row.role_name,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at or row.created_at,
        permissions=tuple(row.role_permissions),
    )


def _live(principal: Principal) -> sa.ColumnElement[bool]:
    return sa.and_(users.c.workspace_id == principal.workspace_id, users.c.deleted_at.is_(None))


def _named(ref: Any) -> sa.ColumnElement[bool] | None:
    """What ``ref`` names a user by: its UUID, its number or its email (None for nothing)."""
    if not isinstance(ref, str) or "\x00" in ref:
        return None
    text = ref.strip()
    wanted = parse_uuid(text)
    if wanted is not None:
        return users.c.uuid == wanted
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return users.c.number == int(text)
    return users.c.email == text.lower() if "@" in text else None


async def _find(conn: AsyncConnection, principal: Principal, ref: Any) -> User:
    named = _named(ref)
    row = None
    if named is not None:
        row = (await conn.execute(_SELECT.where(_live(principal), named))).first()
    if row is None:
        raise NotFound("User not found")
    return _user(row)


async def list_users(
    conn: AsyncConnection,
    principal: Principal,
    *,
    q: Any = None,
    conditions: Any = (),
    sort: Any = "number",
    direction: Any = "asc",
    limit: int = USER_PAGE,
    offset: Any = 0,
) -> UserPage:
    """A page of the workspace's users (not deleted) and how many there are. ``q`` finds
    them by a part of their name, email or username, in any case; ``conditions`` (see
    :mod:`crm.core.auth.conditions`) and ``sort`` name the keys of ``COLUMNS``."""
    principal.require_scope("user", "list")
    check_limit(limit, MAX_USER_PAGE)
    check_offset(offset)
    where = [_live(principal), *matching(COLUMNS, conditions)]
    found = search(q, (users.c.name, users.c.email, users.c.username))
    if found is not None:
        where.append(found)
    ordered = order(COLUMNS, sort, direction, users.c.number, users.c.id)
    rows = await conn.execute(_SELECT.where(*where).order_by(*ordered).limit(limit).offset(offset))
    page = [_user(row) for row in rows]
    total = await conn.execute(sa.select(sa.func.count()).select_from(_JOINED).where(*where))
    return UserPage(page, int(total.scalar_one()))


async def own_user(conn: AsyncConnection, principal: Principal) -> User:
    """The caller's own user; like ``/me``, it needs no scope."""
    row = (await conn.execute(_SELECT.where(users.c.id == principal.user_id))).one()
    return _user(row)


async def get_user(conn: AsyncConnection, principal: Principal, ref: Any) -> User:
    """A user of the workspace (not deleted) by UUID, number or email; NotFound otherwise."""
    principal.require_scope("user", "read")
    return await _find(conn, principal, ref)


async def create_user(conn: AsyncConnection, principal: Principal, **spec: Any) -> User:
    """Add a user (see :func:`crm.core.auth.service.create_user` for ``spec``), with a role
    the caller holds every permission of."""
    principal.require_scope("user", "create")
    principal.require_admin("users")
    made = await service.create_user(conn, principal.workspace_id, actor=principal, **spec)
    return await _find(conn, principal, str(made["uuid"]))


async def _to_change(conn: AsyncConnection, principal: Principal, ref: Any, action: str) -> User:
    """The user ``ref`` names, for a caller that may manage it, under the metadata lock."""
    principal.require_scope("user", action)
    await hold_for_change(conn, principal.workspace_id)
    user = await _find(conn, principal, ref)
    principal.require_admin("users")
    require_holds(principal, user.permissions, f"The role of {user.email}")
    return user


async def _keep_an_owner(conn: AsyncConnection, principal: Principal, user: User) -> None:
    """Conflict when ``user`` is the workspace's last active owner."""
    if user.role != OWNER or not user.active:
        return
    others = await conn.execute(
        sa.select(sa.func.count())
        .select_from(users)
        .join(roles, roles.c.id == users.c.role_id)
        .where(_live(principal), roles.c.key == OWNER, users.c.active, users.c.id != user.id)
    )
    if others.scalar_one() == 0:
        raise Conflict(f"{user.email} is the workspace's last active owner")


def _check_update(spec: dict[str, Any]) -> dict[str, Any]:
    """The checked profile values, ``role`` and ``active`` of an update."""
    errors = [
        FieldError(k, "unknown attribute", "unknown")
        for k in spec
        if k not in (*PROFILE_FIELDS, "role", "active")
    ]
    values: dict[str, Any] = {}
    try:
        values = check_profile({k: v for k, v in spec.items() if k in PROFILE_FIELDS})
    except ValidationFailed as exc:
        errors += exc.field_errors
    if "active" in spec:
        if isinstance(spec["active"], bool):
            values["active"] = spec["active"]
        else:
            errors.append(FieldError("active", "must be true or false"))
    if "role" in spec:
        if service.names_a_role(spec["role"]):
            values["role"] = spec["role"]
        else:
            errors.append(FieldError("role", "must be a role's key or number"))
    if errors:
        raise ValidationFailed.of(errors)
    return values


async def update_user(conn: AsyncConnection, principal: Principal, ref: Any, **spec: Any) -> User:
    """Change a user's profile (``PROFILE_FIELDS``; ``null`` clears an optional one),
    ``role`` (its key or number) or ``active``.

    A new first or last name renames the user unless ``name`` is given too. Email and
    username stay unique (409). A new role must be one the caller holds; the user's keys
    whose roles grant more than it are given it, so that no key does more than its user.
    An inactive user's keys are refused until it is active again.
    """
    user = await _to_change(conn, principal, ref, "update")
    values = _check_update(spec)
    role = None
    if "role" in values:
        found = await service.find_role(
            conn, principal.workspace_id, values.pop("role"), granted_by=principal
        )
        role = found if found.key != user.role else None
    role_key = user.role if role is None else role.key
    if values.get("active") is False and user.id == principal.user_id:
        raise Conflict("You cannot deactivate yourself")
    if role_key != OWNER or not values.get("active", user.active):
        await _keep_an_owner(conn, principal, user)
    if "name" not in values and ("first_name" in values or "last_name" in values):
        derived = full_name(
            values.get("first_name", user.first_name), values.get("last_name", user.last_name)
        )
        if derived:
            values["name"] = derived
    await _check_unique(conn, principal, user, values)
    stored = {k: v for k, v in values.items() if k != "password"}
    changes = {k: [getattr(user, k), v] for k, v in stored.items() if getattr(user, k) != v}
    row = {k: stored[k] for k in changes}
    if role is not None:
        changes["role"] = [user.role, role.key]
        row["role_id"] = role.id
    if "password" in values:
        row["password_hash"] = hash_password(values["password"])
    if not row:
        return user
    await conn.execute(
        sa.update(users).where(users.c.id == user.id).values(**row, updated_at=utcnow())
    )
    capped = 0 if role is None else await _cap_keys(conn, user, role.permissions, role.id)
    await bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "user.updated",
        actor=principal,
        changes=changes,
        payload={
            "user": str(user.uuid),
            "password_changed": "password" in values,
            "keys_given_the_role": capped,
        },
    )
    return await _find(conn, principal, str(user.uuid))


async def _check_unique(
    conn: AsyncConnection, principal: Principal, user: User, values: dict[str, Any]
) -> None:
    """Conflict when another user of the workspace (deleted ones too) has the email or
    username ``values`` gives ``user``."""
    wanted = [
        column == values[column.key]
        for column in (users.c.email, users.c.username)
        if values.get(column.key) not in (None, getattr(user, column.key))
    ]
    if not wanted:
        return
    taken = await conn.execute(
        sa.select(users.c.email, users.c.username).where(
            users.c.workspace_id == principal.workspace_id, sa.or_(*wanted)
        )
    )
    for row in taken:
        which = "email" if row.email == values.get("email") else "username"
        raise service.taken_value(which, values[which])


async def _cap_keys(conn: AsyncConnection, user: User, permissions: list[str], role_id: int) -> int:
    """Give the role ``role_id`` to the user's live keys whose roles grant more than it;
    how many there were."""
    keys = await conn.execute(
        sa.select(api_keys.c.id, roles.c.permissions)
        .join(roles, roles.c.id == api_keys.c.role_id)
        .where(api_keys.c.user_id == user.id, api_keys.c.revoked_at.is_(None))
    )
    beyond = [key.id for key in keys if not all(covers(permissions, p) for p in key.permissions)]
    if beyond:
        await conn.execute(
            sa.update(api_keys).where(api_keys.c.id.in_(beyond)).values(role_id=role_id)
        )
    return len(beyond)


async def delete_user(
    conn: AsyncConnection, principal: Principal, ref: Any, *, transfer_to: Any = None
) -> None:
    """Delete a user: deactivated and marked deleted, its keys revoked at once; its email
    and username stay taken. Its records keep their owner, unless ``transfer_to`` names an
    active user, who then owns them all (one ``user.deleted`` event says how many moved).
    """
    user = await _to_change(conn, principal, ref, "delete")
    if user.id == principal.user_id:
        raise Conflict("You cannot delete yourself")
    await _keep_an_owner(conn, principal, user)
    heir = None if transfer_to is None else await _heir(conn, principal, user, transfer_to)
    now = utcnow()
    await conn.execute(
        sa.update(users)
        .where(users.c.id == user.id)
        .values(active=False, deleted_at=now, updated_at=now)
    )
    await conn.execute(
        sa.update(api_keys)
        .where(api_keys.c.user_id == user.id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    moved = 0
    if heir is not None:
        done = await conn.execute(
            sa.update(records)
            .where(records.c.workspace_id == principal.workspace_id, records.c.owner_id == user.id)
            .values(owner_id=heir.id, updated_at=now)
        )
        moved = done.rowcount
    await bump_version(conn, principal.workspace_id)
    await append_event(
        conn,
        principal.workspace_id,
        "user.deleted",
        actor=principal,
        payload={
            "user": str(user.uuid),
            "transfer_to": None if heir is None else str(heir.uuid),
            "records_transferred": moved,
        },
    )


async def _heir(conn: AsyncConnection, principal: Principal, user: User, ref: Any) -> User:
    """The active user ``ref`` names, to own ``user``'s records, for a caller that may edit
    every one of them."""
    try:
        heir = await _find(conn, principal, ref)
    except NotFound:
        heir = None
    if heir is None or not heir.active or heir.id == user.id:
        raise ValidationFailed.of(
            [FieldError("transfer_to", "must name another active user: id, number or email")]
        )
    kinds = await conn.execute(
        sa.select(object_types.c.key)
        .distinct()
        .join_from(records, object_types, object_types.c.id == records.c.object_type_id)
        .where(records.c.workspace_id == principal.workspace_id, records.c.owner_id == user.id)
    )
    if not principal.may_edit_all((key, user.id) for key in kinds.scalars()):
        raise PermissionDenied(f"Your role may not edit every record {user.email} owns")
    return heir


async def permission_check(
    conn: AsyncConnection, principal: Principal, ref: Any, permissions: Any
) -> dict[str, bool]:
    """Whether the user's role grants each of ``permissions`` (well-formed permission
    strings; 422 naming each one that is not). A caller asks about itself, or about
    anyone when its role manages users."""
    principal.require_scope("user", "read")
    user = await _find(conn, principal, ref)
    if user.id != principal.user_id:
        principal.require_admin("users")
    return {p: covers(user.permissions, p) for p in check_permissions(permissions)}
