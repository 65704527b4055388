"""Migration 0017 on the suite's kind of database: users and roles stored before it are
numbered in the order they were made, users get unique usernames from their emails, and
marking a user deleted, even in SQL, refuses its keys at once."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command

from crm.core.auth import users
from crm.core.auth.service import (
    authenticate,
    create_api_key,
    create_role,
    create_user,
    principal_for_user,
)
from crm.core.errors import Unauthenticated
from crm.core.ids import uuid7
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade


async def test_stored_users_and_roles_are_numbered_and_named_by_the_migration(
    spare_database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, spare_database_url)
    engine = make_engine(spare_database_url)
    try:
        async with transaction(engine, write=True) as conn:
            acme = await create_workspace(conn, name="Acme")
            globex = await create_workspace(conn, name="Globex")
            acme_id = acme["workspace"].id
            for email in ("ann@x.io", "Ann@Y.io", "bob@x.io"):
                await create_user(conn, acme_id, email=email, name="U")
            await create_user(conn, globex["workspace"].id, email="ann@x.io", name="U")
            await create_role(conn, acme_id, key="seller", name="Seller", permissions=[])
        await asyncio.to_thread(command.downgrade, alembic_config(spare_database_url), "0016")
        async with transaction(engine, write=True) as conn:
            # A user stored before the migration, whose local part another user has.
            insert = sa.text(
                "INSERT INTO users (workspace_id, uuid, email, name, role_id, active, "
                "created_at) SELECT workspace_id, :uuid, 'ann@z.io', 'Z', role_id, "
                "active, created_at FROM users WHERE email = 'bob@x.io'"
            ).bindparams(sa.bindparam("uuid", type_=sa.Uuid))
            await conn.execute(insert, {"uuid": uuid7()})
        await asyncio.to_thread(upgrade, spare_database_url)
        async with transaction(engine, write=True) as conn:
            owner = await principal_for_user(conn, acme["owner"]["id"])
            page = await users.list_users(conn, owner)
            assert [(u.number, u.username, u.email) for u in page.users] == [
                (1, "owner", "owner@example.com"),
                (2, "ann", "ann@x.io"),
                (3, "ann-2", "ann@y.io"),
                (4, "bob", "bob@x.io"),
                (5, "ann-3", "ann@z.io"),
            ]
            other = await principal_for_user(conn, globex["owner"]["id"])
            assert [
                (u.number, u.username) for u in (await users.list_users(conn, other)).users
            ] == [
                (1, "owner"),
                (2, "ann"),
            ]
            numbered = await conn.execute(
                sa.text("SELECT key, number FROM roles WHERE workspace_id = :w ORDER BY id"),
                {"w": acme_id},
            )
            assert numbered.all() == [("owner", 1), ("admin", 2), ("agent", 3), ("seller", 4)]
            made = await create_user(conn, acme_id, email="ann@w.io", name="W")
            assert (made["number"], made["username"]) == (6, "ann-4")
            bob = await users.get_user(conn, owner, "bob@x.io")
            key = await create_api_key(conn, acme_id, user_id=bob.id, role="agent", scopes=["*"])
        async with transaction(engine, write=False) as conn:
            assert (await authenticate(conn, key["api_key"])).principal.user_id == bob.id
        async with transaction(engine, write=True) as conn:
            await conn.execute(
                sa.text("UPDATE users SET deleted_at = created_at WHERE id = :id"), {"id": bob.id}
            )
        async with transaction(engine, write=False) as conn:
            with pytest.raises(Unauthenticated):
                await authenticate(conn, key["api_key"])
    finally:
        await engine.dispose()
