"""Migration 0016 gives the objects of a database made before it one field category per
group their fields use, labelled from its key and in the order of each group's first field,
and ``general`` for every object; downgrade drops them and upgrade makes them again."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from crm.core.auth.service import principal_for_user
from crm.core.metadata.service import create_field, create_object, fresh_metadata
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import alembic_config, upgrade


def _field(key: str, group: str | None = None, position: int | None = None) -> dict[str, object]:
    spec: dict[str, object] = {"key": key, "label": key.title(), "type": "text"}
    if group is not None:
        spec["group"] = group
    if position is not None:
        spec["position"] = position
    return spec


async def test_the_migration_makes_categories_of_the_groups_fields_use(
    spare_database_url: str,
) -> None:
    url = spare_database_url
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url, pool_size=1)
    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Acme")
            owner = await principal_for_user(conn, made["owner"]["id"])
            # No field in general; groups named as clients always could.
            await create_object(
                conn,
                owner,
                {
                    "key": "property",
                    "label": "Property",
                    "fields": [
                        _field("handle", "social_links", 2),
                        _field("rooms", "Floor Plan", 1),
                    ],
                },
            )
            # General used, but after another group.
            fields = [_field("budget", "money", 1), _field("name", position=2)]
            await create_object(
                conn, owner, {"key": "project", "label": "Project", "fields": fields}
            )
            await create_field(conn, owner, "task", _field("ticket", "tracking"))
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0015")
        async with transaction(engine, write=False) as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert "field_categories" not in tables
        await asyncio.to_thread(upgrade, url)
        async with transaction(engine, write=False) as conn:
            meta = await fresh_metadata(conn, owner.workspace_id)
        found = {
            key: [(c.key, c.label, c.position) for c in obj.categories]
            for key, obj in meta.objects.items()
        }
        general = ("general", "General", 1)
        person = [general, ("contact", "Contact", 2), ("address", "Address", 3)]
        assert found == {
            "contact": person,
            "company": [general, ("financial", "Financial", 2), ("billing", "Billing", 3)],
            "lead": [*person, ("pipeline", "Pipeline", 4)],
            "deal": [general, ("pipeline", "Pipeline", 2)],
            "case": [general],
            "task": [general, ("tracking", "Tracking", 2)],
            "property": [
                general,
                ("Floor Plan", "Floor Plan", 2),
                ("social_links", "Social links", 3),
            ],
            "project": [("money", "Money", 1), ("general", "General", 2)],
        }
        # The categories are the service's again: a new group is added after the others.
        async with transaction(engine, write=True) as conn:
            await create_field(conn, owner, "project", _field("owner_team", "team"))
            project = (await fresh_metadata(conn, owner.workspace_id)).object("project")
        assert [(c.key, c.position) for c in project.categories][-1] == ("team", 3)
    finally:
        await engine.dispose()
