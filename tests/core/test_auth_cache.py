"""Keys resolved once per process: one statement per request while nothing changed, and
every change of who may do what, made any way, counted at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.cache import KnownKey, KnownKeys
from crm.core.auth.credentials import key_digest
from crm.core.auth.service import Authentication, authenticate, create_role, create_user
from crm.core.clock import utcnow
from crm.core.errors import Unauthenticated
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import upgrade
from crm.db.schema import api_keys, roles, users, workspaces
from tests.conftest import Workspace


async def _authenticate(engine: AsyncEngine, key: str) -> Authentication:
    async with transaction(engine, write=False) as conn:
        return await authenticate(conn, key)


async def _statements(engine: AsyncEngine, key: str) -> list[str]:
    """The statements one authentication of ``key`` runs, in a read transaction of its own."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    async with transaction(engine, write=False) as conn:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", note)
        try:
            await authenticate(conn, key)
        finally:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", note)
    return seen


async def _run(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with transaction(engine, write=True) as conn:
        await conn.execute(sa.text(sql), params)


async def _auth_version(ws: Workspace) -> int:
    async with transaction(ws.engine, write=False) as conn:
        found = await conn.execute(
            sa.select(workspaces.c.auth_version).where(workspaces.c.id == ws.id)
        )
        return int(found.scalar_one())


async def test_a_known_key_costs_one_primary_key_read(engine: AsyncEngine, ws: Workspace) -> None:
    first = await _statements(engine, ws.key)
    assert len(first) == 1
    assert "api_keys" in first[0]
    again = await _statements(engine, ws.key)
    assert len(again) == 1
    assert "api_keys" not in again[0]
    assert "auth_version" in again[0]
    # Both give the same caller.
    assert (await _authenticate(engine, ws.key)).principal.workspace_uuid == ws.uuid


async def test_the_metadata_version_is_read_fresh(engine: AsyncEngine, ws: Workspace) -> None:
    before = (await _authenticate(engine, ws.key)).principal.metadata_version
    await _run(
        engine,
        "UPDATE workspaces SET metadata_version = metadata_version + 1 WHERE id = :w",
        w=ws.id,
    )
    assert (await _authenticate(engine, ws.key)).principal.metadata_version == before + 1


async def test_a_change_resolves_the_key_again(engine: AsyncEngine, ws: Workspace) -> None:
    await _authenticate(engine, ws.key)
    await _run(
        engine,
        "UPDATE api_keys SET scopes = :s WHERE key_hash = :h",
        s='["read:crm"]',
        h=key_digest(ws.key),
    )
    ran = await _statements(engine, ws.key)
    assert len(ran) == 2
    assert "api_keys" in ran[1]
    assert (await _authenticate(engine, ws.key)).principal.scopes == {"read:crm"}
    assert len(await _statements(engine, ws.key)) == 1


#: Changes made in SQL, outside the core, and what the key's next request finds.
KEY_CHANGES: dict[str, tuple[str, Callable[[Authentication | None], bool]]] = {
    "revoked": (
        "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE key_hash = :h",
        lambda found: found is None,
    ),
    "deleted": ("DELETE FROM api_keys WHERE key_hash = :h", lambda found: found is None),
    "user deactivated": (
        "UPDATE users SET active = false "
        "WHERE id = (SELECT user_id FROM api_keys WHERE key_hash = :h)",
        lambda found: found is None,
    ),
    "role's permissions changed": (
        "UPDATE roles SET permissions = :p "
        "WHERE id = (SELECT role_id FROM api_keys WHERE key_hash = :h)",
        lambda found: found is not None and found.principal.permissions == {"*:*:viewown"},
    ),
    "role's key changed": (
        "UPDATE roles SET key = 'boss' "
        "WHERE id = (SELECT role_id FROM api_keys WHERE key_hash = :h)",
        lambda found: found is not None and found.principal.role_key == "boss",
    ),
    "given another role": (
        "UPDATE api_keys SET role_id = (SELECT id FROM roles WHERE key = 'agent' AND "
        "workspace_id = api_keys.workspace_id) WHERE key_hash = :h",
        lambda found: found is not None and found.principal.role_key == "agent",
    ),
    "scopes changed": (
        "UPDATE api_keys SET scopes = :s WHERE key_hash = :h",
        lambda found: found is not None and found.principal.scopes == {"read:crm"},
    ),
}


@pytest.mark.parametrize("change", list(KEY_CHANGES))
async def test_a_change_made_in_sql_counts_at_once(
    engine: AsyncEngine, ws: Workspace, change: str
) -> None:
    key = await ws.add_key(role="admin", email="admin@x.io")
    assert (await _authenticate(engine, key)).principal.role_key == "admin"
    sql, expected = KEY_CHANGES[change]
    params = {"h": key_digest(key), "p": '["*:*:viewown"]', "s": '["read:crm"]'}
    await _run(engine, sql, **{k: v for k, v in params.items() if f":{k}" in sql})
    try:
        found: Authentication | None = await _authenticate(engine, key)
    except Unauthenticated:
        found = None
    assert expected(found)
    # The owner's key, in the same workspace, still works.
    assert (await _authenticate(engine, ws.key)).principal.role_key == "owner"


async def test_what_changes_no_ones_access_leaves_the_version(ws: Workspace) -> None:
    version = await _auth_version(ws)
    await _run(
        ws.engine,
        "UPDATE api_keys SET last_used_at = :t, name = 'renamed' WHERE workspace_id = :w",
        t=utcnow() - timedelta(hours=1),
        w=ws.id,
    )
    await _run(ws.engine, "UPDATE users SET name = 'Renamed' WHERE workspace_id = :w", w=ws.id)
    await _run(ws.engine, "UPDATE roles SET name = 'Renamed' WHERE workspace_id = :w", w=ws.id)
    await _run(ws.engine, "UPDATE users SET active = active WHERE workspace_id = :w", w=ws.id)
    assert await _auth_version(ws) == version


async def test_deleting_a_role_or_a_user_moves_the_version(ws: Workspace) -> None:
    async with transaction(ws.engine, write=True) as conn:
        await create_role(conn, ws.id, key="temp", name="Temp", permissions=["*:*:viewown"])
        await create_user(conn, ws.id, email="temp@x.io", name="Temp")
    version = await _auth_version(ws)
    async with transaction(ws.engine, write=True) as conn:
        await conn.execute(
            sa.delete(roles).where(roles.c.workspace_id == ws.id, roles.c.key == "temp")
        )
    assert await _auth_version(ws) == version + 1
    async with transaction(ws.engine, write=True) as conn:
        await conn.execute(
            sa.delete(users).where(users.c.workspace_id == ws.id, users.c.email == "temp@x.io")
        )
    assert await _auth_version(ws) == version + 2


async def test_another_workspaces_change_leaves_the_key_alone(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    await _authenticate(engine, ws.key)
    await _run(
        engine,
        "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE key_hash = :h",
        h=key_digest(other_ws.key),
    )
    assert len(await _statements(engine, ws.key)) == 1


@pytest.fixture
async def second_engine(spare_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A second database of the suite's kind, migrated, in this same process."""
    await asyncio.to_thread(upgrade, spare_database_url)
    engine = make_engine(spare_database_url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_key_is_never_answered_from_another_database(
    engine: AsyncEngine, ws: Workspace, second_engine: AsyncEngine
) -> None:
    await _authenticate(engine, ws.key)
    # The second database has a workspace of the same id at the same versions, and no key.
    async with transaction(second_engine, write=True) as conn:
        await conn.execute(
            sa.insert(workspaces).values(
                id=ws.id,
                uuid=ws.uuid,
                name="Twin",
                subdomain="twin",
                created_at=utcnow(),
                auth_version=await _auth_version(ws),
            )
        )
    with pytest.raises(Unauthenticated):
        await _authenticate(second_engine, ws.key)
    # The same key held by a workspace of the second database is that workspace's.
    async with transaction(second_engine, write=True) as conn:
        made = await create_workspace(conn, name="Other")
        await conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.key_hash == key_digest(made["api_key"]))
            .values(key_hash=key_digest(ws.key))
        )
    assert (await _authenticate(second_engine, ws.key)).principal.workspace_uuid == made[
        "workspace"
    ].uuid
    assert (await _authenticate(engine, ws.key)).principal.workspace_uuid == ws.uuid


def test_the_cache_keeps_the_most_recently_used_keys() -> None:
    cache = KnownKeys(2)
    keys = {
        n: KnownKey(n, uuid.UUID(int=n), n, "owner", frozenset(), frozenset(), n, None, 1)
        for n in (1, 2, 3)
    }
    for n in (1, 2):
        cache.put(("db", bytes([n])), keys[n])
    assert cache.get(("db", bytes([1]))) is keys[1]
    cache.put(("db", bytes([3])), keys[3])
    assert cache.get(("db", bytes([2]))) is None
    assert cache.get(("db", bytes([1]))) is keys[1]
    assert cache.get(("db", bytes([3]))) is keys[3]
