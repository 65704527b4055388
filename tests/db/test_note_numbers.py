"""Migration 0015 numbers the notes stored before it, per workspace in the order they were
made, and sets each workspace's counter past them; downgrade and upgrade again on either
database."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from crm.core.auth.service import principal_for_user
from crm.core.lists.service import create_list
from crm.core.notes.service import add_note, attach_notes, delete_note, get_note
from crm.core.records.service import create_record
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade
from crm.db.schema import notes


async def test_the_migration_numbers_stored_notes_per_workspace_in_the_order_they_were_made(
    spare_database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, spare_database_url)
    engine = make_engine(spare_database_url)
    try:
        async with transaction(engine, write=True) as conn:
            owners = []
            for name in ("Acme", "Globex", "Initech"):
                made = await create_workspace(conn, name=name)
                owners.append(await principal_for_user(conn, made["owner"]["id"]))
            acme, globex, initech = owners
            ada = await create_record(conn, acme, "contact", fields={"first_name": "Ada"})
            bob = await create_record(conn, acme, "contact", fields={"first_name": "Bob"})
            eve = await create_record(conn, globex, "contact", fields={"first_name": "Eve"})
            await add_note(conn, acme, "contact", ada.id, {"body": "a1"})
            await add_note(conn, globex, "contact", eve.id, {"body": "g1"})
            await attach_notes(conn, acme, [(bob, {"body": "a2"}), (ada, {"body": "a3"})])
            await add_note(conn, globex, "contact", eve.id, {"body": "g2"})
            gone = await add_note(conn, acme, "contact", bob.id, {"body": "a4"})
            await create_list(conn, acme, object="contact", name="VIP")
            # A deleted note keeps its number, as it keeps its id.
            await delete_note(conn, acme, "contact", bob.id, str(gone.uuid))
        await asyncio.to_thread(command.downgrade, alembic_config(spare_database_url), "0014")
        await asyncio.to_thread(upgrade, spare_database_url)
        async with transaction(engine, write=False) as conn:
            rows = await conn.execute(
                sa.select(notes.c.workspace_id, notes.c.body, notes.c.number).order_by(notes.c.id)
            )
            numbered = [(r.workspace_id, r.body, r.number) for r in rows]
            assert numbered == [
                (acme.workspace_id, "a1", 1),
                (globex.workspace_id, "g1", 1),
                (acme.workspace_id, "a2", 2),
                (acme.workspace_id, "a3", 3),
                (globex.workspace_id, "g2", 2),
                (acme.workspace_id, "a4", 4),
            ]
            assert (await get_note(conn, acme, 3)).body == "a3"
        async with transaction(engine, write=True) as conn:
            assert (await add_note(conn, acme, "contact", ada.id, {"body": "a5"})).number == 5
            assert (await add_note(conn, globex, "contact", eve.id, {"body": "g3"})).number == 3
            mine = await create_record(conn, initech, "contact", fields={"first_name": "Ina"})
            assert (await add_note(conn, initech, "contact", mine.id, {"body": "i1"})).number == 1
            # The lists went with the downgrade: numbering starts again.
            assert (await create_list(conn, acme, object="contact", name="VIP")).number == 1
    finally:
        await engine.dispose()
