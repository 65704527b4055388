"""SQL for metadata: loading a workspace's picture and bumping its version."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.metadata.model import (
    CategoryMeta,
    DuplicateRule,
    FieldMeta,
    ObjectMeta,
    PipelineMeta,
    StageMeta,
    UserMeta,
    WorkspaceMeta,
)
from crm.db.engine import database_key
from crm.db.locks import hold_metadata, pin_metadata
from crm.db.schema import (
    field_categories,
    fields,
    object_types,
    pipelines,
    stages,
    users,
    workspaces,
)

#: Per process; keyed by database and workspace, so one process may serve several databases.
_cache: dict[tuple[str, int], WorkspaceMeta] = {}
#: Where a connection notes the transaction whose metadata it pinned, and at which version.
_PIN = "crm_metadata_pin"


async def bump_version(conn: AsyncConnection, workspace_id: int) -> None:
    """Mark the workspace's metadata changed, so every process reloads it."""
    await conn.execute(
        sa.update(workspaces)
        .where(workspaces.c.id == workspace_id)
        .values(metadata_version=workspaces.c.metadata_version + 1)
    )


def _transaction(conn: AsyncConnection) -> object:
    return conn.sync_connection.get_transaction() if conn.sync_connection else None


async def pinned_version(conn: AsyncConnection, workspace_id: int, version: int) -> int:
    """The metadata version a writing transaction works at, pinned until it ends.

    On PostgreSQL a writer takes the workspace's metadata lock shared and reads the version
    under it, once per transaction: a change of fields or pipelines (which takes it
    exclusively, :func:`hold_for_change`) either committed before, and the writer sees its
    version, or waits until the writer commits. SQLite serialises writers, and readers need
    no pin: there ``version`` (what the caller authenticated with) stands.
    """
    writing = conn.sync_connection and conn.sync_connection.get_execution_options().get("crm_write")
    if conn.dialect.name != "postgresql" or not writing:
        return version
    pin = conn.info.get(_PIN)
    if pin is not None and pin[0] is _transaction(conn):
        return version if pin[1] is None else int(pin[1])
    current = await pin_metadata(conn, workspace_id)
    conn.info[_PIN] = (_transaction(conn), current)
    return current


async def hold_for_change(conn: AsyncConnection, workspace_id: int) -> None:
    """Take the workspace's metadata lock exclusively for a change of its metadata (on
    PostgreSQL), before reading what the change depends on; writers wait until it commits."""
    if conn.dialect.name != "postgresql":
        return
    await hold_metadata(conn, workspace_id)
    conn.info[_PIN] = (_transaction(conn), None)


async def load(conn: AsyncConnection, workspace_id: int) -> WorkspaceMeta:
    """Read the whole metadata of a workspace as this transaction sees it."""
    version = (
        await conn.execute(
            sa.select(workspaces.c.metadata_version).where(workspaces.c.id == workspace_id)
        )
    ).scalar_one()
    field_rows = (
        await conn.execute(sa.select(fields).where(fields.c.workspace_id == workspace_id))
    ).mappings()
    by_object: dict[int, dict[str, FieldMeta]] = defaultdict(dict)
    for r in field_rows:
        by_object[r["object_type_id"]][r["key"]] = FieldMeta(
            id=r["id"],
            uuid=r["uuid"],
            object_type_id=r["object_type_id"],
            key=r["key"],
            label=r["label"],
            type=r["type"],
            group=r["group"],
            required=r["required"],
            unique=r["unique"],
            searchable=r["searchable"],
            indexed=r["indexed"],
            is_standard=r["is_standard"],
            default=r["default"],
            options=r["options"] or {},
            position=r["position"],
            created_at=r["created_at"],
            created_by=r["created_by"],
        )
    categories: dict[int, list[CategoryMeta]] = defaultdict(list)
    for r in (
        await conn.execute(
            sa.select(field_categories)
            .where(field_categories.c.workspace_id == workspace_id)
            .order_by(field_categories.c.position, field_categories.c.id)
        )
    ).mappings():
        categories[r["object_type_id"]].append(
            CategoryMeta(
                id=r["id"], uuid=r["uuid"], key=r["key"], label=r["label"], position=r["position"]
            )
        )
    objects = {
        r["key"]: ObjectMeta(
            id=r["id"],
            uuid=r["uuid"],
            key=r["key"],
            label=r["label"],
            plural_label=r["plural_label"],
            is_standard=r["is_standard"],
            display_fields=tuple(r["display_fields"]),
            fields=by_object.get(r["id"], {}),
            duplicates=(
                DuplicateRule(r["duplicates"]["policy"], tuple(r["duplicates"]["match"]))
                if r["duplicates"]
                else None
            ),
            categories=tuple(categories.get(r["id"], ())),
        )
        for r in (
            await conn.execute(
                sa.select(object_types).where(object_types.c.workspace_id == workspace_id)
            )
        ).mappings()
    }
    stage_rows: dict[int, list[StageMeta]] = defaultdict(list)
    for r in (
        await conn.execute(
            sa.select(stages)
            .where(stages.c.workspace_id == workspace_id)
            .order_by(stages.c.position, stages.c.id)
        )
    ).mappings():
        stage_rows[r["pipeline_id"]].append(
            StageMeta(
                id=r["id"],
                uuid=r["uuid"],
                name=r["name"],
                kind=r["kind"],
                probability=r["probability"],
                color=r["color"],
                system_key=r["system_key"],
                position=r["position"],
            )
        )
    pipeline_map = {
        r["id"]: PipelineMeta(
            id=r["id"],
            uuid=r["uuid"],
            object_type_id=r["object_type_id"],
            key=r["key"],
            label=r["label"],
            stages=tuple(stage_rows.get(r["id"], [])),
        )
        for r in (
            await conn.execute(sa.select(pipelines).where(pipelines.c.workspace_id == workspace_id))
        ).mappings()
    }
    user_map = {
        r["id"]: UserMeta(
            id=r["id"],
            uuid=r["uuid"],
            email=r["email"],
            name=r["name"],
            role_id=r["role_id"],
            active=r["active"],
            number=r["number"],
        )
        for r in (
            await conn.execute(
                sa.select(
                    users.c.id,
                    users.c.uuid,
                    users.c.email,
                    users.c.name,
                    users.c.role_id,
                    users.c.active,
                    users.c.number,
                ).where(users.c.workspace_id == workspace_id)
            )
        ).mappings()
    }
    return WorkspaceMeta(workspace_id, version, objects, pipeline_map, user_map)


async def cached(conn: AsyncConnection, workspace_id: int, version: int) -> WorkspaceMeta:
    """The workspace's metadata at ``version``, from this process's cache when it has it.

    Only a load whose version matches the committed one the caller authenticated with is
    cached, so an uncommitted change never lands in the cache.
    """
    slot = (database_key(conn.engine), workspace_id)
    hit = _cache.get(slot)
    if hit is not None and hit.version == version:
        return hit
    meta = await load(conn, workspace_id)
    if meta.version == version:
        _cache[slot] = meta
    return meta


def latest(database: str, workspace_id: int) -> WorkspaceMeta | None:
    """The newest metadata of a workspace this process has cached, if any (its version may
    have been superseded since: a caller compares it with the committed one)."""
    return _cache.get((database, workspace_id))
