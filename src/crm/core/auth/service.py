"""Authentication and the management of users and API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.cache import KnownKey, KnownKeys
from crm.core.auth.credentials import hash_password, key_digest, new_api_key
from crm.core.auth.principal import PERMISSION, SCOPE, Principal
from crm.core.auth.profiles import check_profile, default_username, free_username, full_name
from crm.core.clock import utcnow
from crm.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from crm.core.events import append_event
from crm.core.ids import parse_uuid, uuid7
from crm.core.metadata.repository import bump_version, hold_for_change
from crm.core.storable import INT64
from crm.db.engine import database_key
from crm.db.schema import api_keys, roles, users, workspaces

#: How stale ``last_used_at`` may get before a request refreshes it (saves a write per call).
LAST_USED_RESOLUTION = timedelta(minutes=1)

#: How many keys each process keeps resolved (least recently used dropped first).
CACHED_KEYS = 10_000
_known = KnownKeys(CACHED_KEYS)

#: Per request with a cached key: the workspace's versions, by primary key.
_VERSIONS = sa.select(workspaces.c.metadata_version, workspaces.c.auth_version).where(
    workspaces.c.id == sa.bindparam("workspace")
)
#: Resolving a key: what its principal is made of, read with the version it holds at.
_RESOLVE = (
    sa.select(
        api_keys.c.id,
        api_keys.c.workspace_id,
        api_keys.c.scopes,
        api_keys.c.user_id,
        api_keys.c.last_used_at,
        workspaces.c.uuid,
        workspaces.c.metadata_version,
        workspaces.c.auth_version,
        roles.c.key.label("role_key"),
        roles.c.permissions,
        users.c.active,
        users.c.deleted_at,
    )
    .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
    .join(roles, roles.c.id == api_keys.c.role_id)
    .join(users, users.c.id == api_keys.c.user_id)
    .where(api_keys.c.key_hash == sa.bindparam("digest"), api_keys.c.revoked_at.is_(None))
)


class Authentication(NamedTuple):
    """A resolved caller, and whether its key's ``last_used_at`` is due for a refresh."""

    principal: Principal
    use_due: bool


async def authenticate(conn: AsyncConnection, raw_key: str | None) -> Authentication:
    """Resolve an API key to its principal; Unauthenticated when missing, unknown or revoked.

    A key this process resolved before costs one primary-key read of its workspace's
    versions; it is resolved again when the workspace's ``auth_version`` moved. Call it
    first in its transaction, so that what it caches was committed. Only reads: the caller
    records the key's use with :func:`record_key_use` when ``use_due``, in a writing
    transaction (a read transaction upgraded to write fails on SQLite when another
    connection wrote since it began), then :func:`note_key_use` once that committed.
    """
    if not raw_key:
        raise Unauthenticated("An API key is required")
    slot = (database_key(conn.engine), key_digest(raw_key))
    known = _known.get(slot)
    if known is not None:
        versions = (await conn.execute(_VERSIONS, {"workspace": known.workspace_id})).first()
        if versions is not None and versions.auth_version == known.auth_version:
            return Authentication(known.principal(versions.metadata_version), _due(known))
    row = (await conn.execute(_RESOLVE, {"digest": slot[1]})).first()
    if row is None or not row.active or row.deleted_at is not None:
        _known.drop(slot)
        raise Unauthenticated("The API key is not valid")
    known = KnownKey(
        workspace_id=row.workspace_id,
        workspace_uuid=row.uuid,
        user_id=row.user_id,
        role_key=row.role_key,
        permissions=frozenset(row.permissions),
        scopes=frozenset(row.scopes),
        key_id=row.id,
        last_used_at=row.last_used_at,
        auth_version=row.auth_version,
    )
    _known.put(slot, known)
    return Authentication(known.principal(row.metadata_version), _due(known))


def known_key(database: str, raw_key: str | None) -> KnownKey | None:
    """What this process resolved ``raw_key`` to, if it has and the key's use is not due
    for recording; as of the workspace's ``auth_version`` it holds, which the caller must
    compare with the committed one (a hot path reads it with its record)."""
    if not raw_key:
        return None
    known = _known.get((database, key_digest(raw_key)))
    return None if known is None or _due(known) else known


def _due(known: KnownKey) -> bool:
    return known.last_used_at is None or utcnow() - known.last_used_at > LAST_USED_RESOLUTION


async def record_key_use(conn: AsyncConnection, key_id: int) -> None:
    """Set the key's ``last_used_at`` to now."""
    await conn.execute(
        sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=utcnow())
    )


def note_key_use(engine: AsyncEngine, raw_key: str) -> None:
    """Tell this process's cache that the key's use was recorded and has committed: the
    next refresh falls due ``LAST_USED_RESOLUTION`` from now."""
    known = _known.get((database_key(engine), key_digest(raw_key)))
    if known is not None:
        known.last_used_at = utcnow()


async def acting_user(conn: AsyncConnection, user_id: int | None) -> Principal | None:
    """The principal of a user who may still act (active, not deleted), else None: what a
    workflow made by that user acts as."""
    if user_id is None:
        return None
    alive = await conn.execute(
        sa.select(users.c.id).where(
            users.c.id == user_id, users.c.active.is_(True), users.c.deleted_at.is_(None)
        )
    )
    return await principal_for_user(conn, user_id) if alive.first() else None


async def principal_for_user(conn: AsyncConnection, user_id: int) -> Principal:
    """The principal of a user acting directly (CLI, workers acting on a user's behalf)."""
    row = (
        await conn.execute(
            sa.select(
                users.c.workspace_id,
                workspaces.c.uuid,
                workspaces.c.metadata_version,
                roles.c.key.label("role_key"),
                roles.c.permissions,
            )
            .join(workspaces, workspaces.c.id == users.c.workspace_id)
            .join(roles, roles.c.id == users.c.role_id)
            .where(users.c.id == user_id)
        )
    ).one()
    return Principal(
        workspace_id=row.workspace_id,
        workspace_uuid=row.uuid,
        metadata_version=row.metadata_version,
        user_id=user_id,
        role_key=row.role_key,
        permissions=frozenset(row.permissions),
        scopes=frozenset({"*"}),
    )


def names_a_role(ref: Any) -> bool:
    """Whether ``ref`` may name a role: its key (text) or its number (a whole number)."""
    return isinstance(ref, str) or (type(ref) is int and 0 < ref <= INT64)


async def find_role(
    conn: AsyncConnection, workspace_id: int, key: str | int, *, granted_by: Principal | None = None
) -> Any:
    """The id, key and permissions of the workspace's role keyed ``key`` (or numbered, for
    an int); a 422 naming ``role`` otherwise.

    With ``granted_by``, the caller must hold every permission of the role: nobody hands
    out more than they have.
    """
    named = roles.c.number == key if isinstance(key, int) else roles.c.key == key
    found = (
        await conn.execute(
            sa.select(roles.c.id, roles.c.key, roles.c.permissions).where(
                roles.c.workspace_id == workspace_id, named
            )
        )
    ).first()
    if found is None:
        raise ValidationFailed.of([FieldError("role", f"no role {key!r} in this workspace")])
    if granted_by is not None:
        beyond = [p for p in found.permissions if not granted_by.holds_permission(p)]
        if beyond:
            raise PermissionDenied(
                f"The role {key!r} has permissions you do not hold: {', '.join(beyond)}"
            )
    return found


async def role_id(
    conn: AsyncConnection, workspace_id: int, key: str, *, granted_by: Principal | None = None
) -> int:
    """The id of the workspace's role keyed ``key`` (see :func:`find_role`)."""
    return int((await find_role(conn, workspace_id, key, granted_by=granted_by)).id)


async def user_id_by_email(conn: AsyncConnection, workspace_id: int, email: str) -> int:
    """The id of the workspace's user with ``email`` (not deleted); NotFound otherwise."""
    found = (
        await conn.execute(
            sa.select(users.c.id).where(
                users.c.workspace_id == workspace_id,
                users.c.email == email.strip().lower(),
                users.c.deleted_at.is_(None),
            )
        )
    ).scalar()
    if found is None:
        raise NotFound(f"No user {email!r} in this workspace")
    return int(found)


def next_number(table: sa.Table, workspace_id: int) -> sa.ScalarSelect[Any]:
    """The workspace's next number of a user or role, read in the insert that takes it
    (after :func:`hold_for_change`, so two writers never read the same one)."""
    return (
        sa.select(sa.func.coalesce(sa.func.max(table.c.number), 0) + 1)
        .where(table.c.workspace_id == workspace_id)
        .scalar_subquery()
    )


async def create_role(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    key: str,
    name: str,
    permissions: list[str],
    description: str | None = None,
) -> int:
    """A custom role holding ``bundle:entity:action`` permission strings; 409 when the
    workspace has a role of that key."""
    bad = [p for p in permissions if not PERMISSION.match(p)]
    if bad:
        raise ValidationFailed.of(
            [FieldError("permissions", f"not a permission: {p}") for p in bad]
        )
    await hold_for_change(conn, workspace_id)
    taken = await conn.execute(
        sa.select(roles.c.id).where(roles.c.workspace_id == workspace_id, roles.c.key == key)
    )
    if taken.first() is not None:
        raise Conflict(f"A role keyed {key!r} already exists")
    return int(
        (
            await conn.execute(
                sa.insert(roles)
                .values(
                    workspace_id=workspace_id,
                    key=key,
                    number=next_number(roles, workspace_id),
                    name=name,
                    description=description,
                    permissions=permissions,
                    is_system=False,
                    created_at=(now := utcnow()),
                    updated_at=now,
                )
                .returning(roles.c.id)
            )
        ).scalar_one()
    )


async def create_user(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    email: Any = None,
    name: Any = None,
    role: Any = "agent",
    password: Any = None,
    active: Any = True,
    actor: Principal | None = None,
    username: Any = None,
    first_name: Any = None,
    last_name: Any = None,
    position: Any = None,
    timezone: Any = None,
    locale: Any = None,
) -> dict[str, Any]:
    """Create a user with a profile: the email and the username are unique within the
    workspace, the username in any case. Without a name, the user is called by its first
    and last names; without a username, by its email's local part (made unique). ``role``
    is a role's key or number. Answers the stored row (but the password's hash) and
    ``role``, the role's key.
    """
    optional = {
        "name": name,
        "password": password,
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
        "position": position,
        "timezone": timezone,
        "locale": locale,
    }
    given = {"email": email, **{k: v for k, v in optional.items() if v is not None}}
    errors: list[FieldError] = []
    try:
        values = check_profile(given)
    except ValidationFailed as exc:
        errors = exc.field_errors
    if name is None and not any(isinstance(n, str) and n.strip() for n in (first_name, last_name)):
        errors.append(FieldError("name", "is required unless a first or last name is given"))
    if not names_a_role(role):
        errors.append(FieldError("role", "must be a role's key or number"))
    if not isinstance(active, bool):
        errors.append(FieldError("active", "must be true or false"))
    if errors:
        raise ValidationFailed.of(errors)
    values.setdefault("name", full_name(values.get("first_name"), values.get("last_name")))
    await hold_for_change(conn, workspace_id)
    address, wanted = values["email"], values.get("username")
    base = wanted or default_username(address)
    taken = (
        await conn.execute(
            sa.select(users.c.email, users.c.username).where(
                users.c.workspace_id == workspace_id,
                sa.or_(
                    users.c.email == address, users.c.username.startswith(base, autoescape=True)
                ),
            )
        )
    ).all()
    if any(row.email == address for row in taken):
        raise taken_value("email", address)
    usernames = {row.username for row in taken}
    if wanted is not None and wanted in usernames:
        raise taken_value("username", wanted)
    values["username"] = free_username(base, usernames)
    found = await find_role(conn, workspace_id, role, granted_by=actor)
    secret = values.pop("password", None)
    uid = uuid7()
    row = (
        await conn.execute(
            sa.insert(users)
            .values(
                workspace_id=workspace_id,
                uuid=uid,
                number=next_number(users, workspace_id),
                password_hash=hash_password(secret) if secret else None,
                role_id=found.id,
                active=active,
                created_at=(now := utcnow()),
                updated_at=now,
                **values,
            )
            .returning(*(c for c in users.c if c.key != "password_hash"))
        )
    ).one()
    await bump_version(conn, workspace_id)
    await append_event(
        conn,
        workspace_id,
        "user.created",
        actor=actor,
        payload={"user": str(uid), "role": found.key, "active": active},
    )
    return {**row._asdict(), "role": found.key}


def taken_value(which: str, value: str) -> Conflict:
    """The conflict of an email or username another user of the workspace has."""
    return Conflict(
        f"A user with {which} {value} already exists",
        [FieldError(which, "another user has it", "duplicate").as_dict()],
    )


async def create_api_key(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    user_id: int,
    role: str,
    scopes: list[str],
    name: str = "API key",
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Issue a key. The raw key is in the answer once and never stored."""
    bad = [s for s in scopes if not SCOPE.match(s)]
    if bad or not scopes:
        raise ValidationFailed.of(
            [FieldError("scopes", f"not a scope: {s}") for s in bad]
            or [FieldError("scopes", "at least one scope is required")]
        )
    if len(name) > 200:
        raise ValidationFailed.of([FieldError("name", "must be at most 200 characters")])
    beyond = [s for s in scopes if actor is not None and not actor.holds_scope(s)]
    if beyond:
        raise PermissionDenied(f"You cannot grant scopes you do not hold: {', '.join(beyond)}")
    rid = await role_id(conn, workspace_id, role, granted_by=actor)
    raw = new_api_key()
    uid = uuid7()
    await conn.execute(
        sa.insert(api_keys).values(
            workspace_id=workspace_id,
            uuid=uid,
            name=name,
            prefix=raw[:10],
            key_hash=key_digest(raw),
            scopes=scopes,
            role_id=rid,
            user_id=user_id,
            created_at=utcnow(),
        )
    )
    await append_event(
        conn,
        workspace_id,
        "api_key.created",
        actor=actor,
        payload={"api_key": str(uid), "scopes": scopes, "role": role},
    )
    return {"id": uid, "api_key": raw, "scopes": scopes, "role": role, "name": name}


async def revoke_api_key(conn: AsyncConnection, principal: Principal, key_uuid: str) -> None:
    """Revoke one of the workspace's keys; it stops working at once."""
    principal.require_admin("apikeys")
    key_id = parse_uuid(key_uuid)
    if key_id is None:
        raise NotFound("API key not found")
    result = await conn.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.workspace_id == principal.workspace_id,
            api_keys.c.uuid == key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound("API key not found")
    await append_event(
        conn,
        principal.workspace_id,
        "api_key.revoked",
        actor=principal,
        payload={"api_key": key_uuid},
    )
