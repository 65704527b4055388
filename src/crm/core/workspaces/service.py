"""Creating and finding workspaces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import ALL_SCOPES
from crm.core.auth.service import create_api_key, create_user
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from crm.core.events import append_event
from crm.core.ids import parse_uuid, uuid7
from crm.core.workspaces.seeding import seed_roles, seed_standard_objects
from crm.db.schema import roles, users, workspaces

SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Workspace:
    id: int
    uuid: Any
    name: str
    subdomain: str


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug or "workspace"


async def _free_subdomain(conn: AsyncConnection, base: str) -> str:
    taken = set(
        (
            await conn.execute(
                sa.select(workspaces.c.subdomain).where(workspaces.c.subdomain.like(f"{base}%"))
            )
        ).scalars()
    )
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[:58]}-{n}"
    return candidate


async def create_workspace(
    conn: AsyncConnection,
    *,
    name: str,
    subdomain: str | None = None,
    owner_email: str = "owner@example.com",
    owner_name: str = "Owner",
) -> dict[str, Any]:
    """Create a workspace with its roles, an owner user, the standard objects and an owner key.

    Answers the workspace, the owner and the owner's API key (shown this once).
    """
    errors = []
    if not name.strip() or len(name) > 200:
        errors.append(FieldError("name", "must be 1 to 200 characters"))
    if subdomain is not None and not SUBDOMAIN.match(subdomain):
        errors.append(FieldError("subdomain", "must be lowercase letters, digits and hyphens"))
    if errors:
        raise ValidationFailed.of(errors)
    if subdomain is None:
        subdomain = await _free_subdomain(conn, _slug(name))
    elif (
        await conn.execute(sa.select(workspaces.c.id).where(workspaces.c.subdomain == subdomain))
    ).first():
        raise Conflict(f"The subdomain {subdomain!r} is taken")
    ws_uuid = uuid7()
    workspace_id = int(
        (
            await conn.execute(
                sa.insert(workspaces)
                .values(
                    uuid=ws_uuid,
                    name=name.strip(),
                    subdomain=subdomain,
                    metadata_version=1,
                    created_at=utcnow(),
                )
                .returning(workspaces.c.id)
            )
        ).scalar_one()
    )
    await seed_roles(conn, workspace_id)
    owner = await create_user(conn, workspace_id, email=owner_email, name=owner_name, role="owner")
    await seed_standard_objects(conn, workspace_id)
    owner_key = await create_api_key(
        conn,
        workspace_id,
        user_id=owner["id"],
        role="owner",
        scopes=[ALL_SCOPES],
        name="Owner key",
    )
    await append_event(
        conn, workspace_id, "workspace.created", actor=None, payload={"name": name.strip()}
    )
    workspace = Workspace(workspace_id, ws_uuid, name.strip(), subdomain)
    return {"workspace": workspace, "owner": owner, "api_key": owner_key["api_key"]}


async def find_workspace(conn: AsyncConnection, ref: str) -> Workspace:
    """A workspace by UUID or subdomain."""
    wanted = parse_uuid(ref)
    column = workspaces.c.uuid if wanted is not None else workspaces.c.subdomain
    row = (
        await conn.execute(
            sa.select(
                workspaces.c.id, workspaces.c.uuid, workspaces.c.name, workspaces.c.subdomain
            ).where(column == (wanted if wanted is not None else ref))
        )
    ).first()
    if row is None:
        raise NotFound(f"Workspace {ref!r} not found")
    return Workspace(row.id, row.uuid, row.name, row.subdomain)


async def owner_user_id(conn: AsyncConnection, workspace_id: int) -> int:
    """The first active owner of a workspace: the user keys made by the CLI act for by
    default."""
    found = (
        await conn.execute(
            sa.select(users.c.id)
            .join(roles, roles.c.id == users.c.role_id)
            .where(
                users.c.workspace_id == workspace_id,
                roles.c.key == "owner",
                users.c.active,
                users.c.deleted_at.is_(None),
            )
            .order_by(users.c.id)
            .limit(1)
        )
    ).scalar()
    if found is None:
        raise NotFound("The workspace has no owner")
    return int(found)


async def count_workspaces(conn: AsyncConnection) -> int:
    return int(
        (await conn.execute(sa.select(sa.func.count()).select_from(workspaces))).scalar_one()
    )
