"""Field categories in the core: every change moves the metadata version on, and the
services check what they are given whoever calls them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import principal_for_user
from crm.core.errors import ValidationFailed
from crm.core.metadata import categories
from crm.core.metadata.service import create_field, metadata_for, update_field
from crm.db.engine import transaction
from tests.conftest import Workspace


async def _owner(ws: Workspace) -> Principal:
    """The owner as a request made now would resolve it: at the current metadata version."""
    async with transaction(ws.engine, write=False) as conn:
        return await principal_for_user(conn, ws.owner_id)


async def _keys(ws: Workspace) -> list[str]:
    owner = await _owner(ws)
    async with transaction(ws.engine, write=False) as conn:
        meta = await metadata_for(conn, owner)
    return [c.key for c in meta.object("contact").categories]


async def test_every_category_change_moves_the_metadata_version_once(ws: Workspace) -> None:
    changes: list[tuple[str, Any]] = [
        (
            "create",
            lambda c, p: categories.create_category(
                c, p, "contact", {"key": "social", "label": "Social"}
            ),
        ),
        (
            "update",
            lambda c, p: categories.update_category(c, p, "contact", "social", {"position": 0}),
        ),
        (
            "field",
            lambda c, p: create_field(
                c, p, "contact", {"key": "site", "label": "Site", "type": "url", "group": "web"}
            ),
        ),
        ("regroup", lambda c, p: update_field(c, p, "contact", "site", {"group": "online"})),
        ("delete", lambda c, p: categories.delete_category(c, p, "contact", "social")),
    ]
    seen = []
    for _name, change in changes:
        before = await _owner(ws)
        async with transaction(ws.engine, write=True) as conn:
            await change(conn, before)
        assert (await _owner(ws)).metadata_version == before.metadata_version + 1
        seen.append(await _keys(ws))
    assert seen == [
        ["general", "contact", "address", "social"],
        ["social", "general", "contact", "address"],
        ["social", "general", "contact", "address", "web"],
        ["social", "general", "contact", "address", "web", "online"],
        ["general", "contact", "address", "web", "online"],
    ]


@pytest.mark.parametrize(
    ("change", "spec", "field", "code"),
    [
        ("create", ["social"], "category", "invalid"),
        ("create", {"key": "social", "label": "Social", "colour": "red"}, "colour", "unknown"),
        ("update", {"key": "postal"}, "key", "immutable"),
        ("update", {"position": False}, "position", "invalid"),
        ("update", {"label": 7}, "label", "invalid"),
    ],
)
async def test_the_services_check_their_input(
    engine: AsyncEngine, ws: Workspace, change: str, spec: Any, field: str, code: str
) -> None:
    owner = await _owner(ws)

    async def send(conn: AsyncConnection) -> object:
        if change == "create":
            return await categories.create_category(conn, owner, "contact", spec)
        return await categories.update_category(conn, owner, "contact", "address", spec)

    async with transaction(engine, write=True) as conn:
        with pytest.raises(ValidationFailed) as refused:
            await send(conn)
    assert [(e.field, e.code) for e in refused.value.field_errors] == [(field, code)]
    assert await _keys(ws) == ["general", "contact", "address"]
