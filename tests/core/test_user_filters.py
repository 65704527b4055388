"""Filtering and sorting the lists of users and roles in the core: each operator on each
kind of column, and checked input naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth import roles, users
from crm.core.auth.conditions import Condition
from crm.core.auth.service import create_user, principal_for_user
from crm.core.errors import ValidationFailed
from crm.db.engine import transaction
from tests.conftest import Workspace

#: Users 2 to 4 beside the owner (1): email, first name, position, role, active.
STAFF = [
    ("ann@acme.com", "Ann", "Sales Manager", "agent", True),
    ("bob@globex.com", "Bob", None, "admin", True),
    ("cid@acme.com.au", "cid", "Support", "agent", False),
]


@pytest.fixture
async def staffed(engine: AsyncEngine, ws: Workspace) -> Workspace:
    async with transaction(engine, write=True) as conn:
        for email, first, position, role, active in STAFF:
            await create_user(
                conn,
                ws.id,
                email=email,
                first_name=first,
                position=position,
                role=role,
                active=active,
            )
    return ws


async def _emails(engine: AsyncEngine, ws: Workspace, **query: Any) -> list[str]:
    async with transaction(engine, write=False) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        page = await users.list_users(conn, owner, **query)
    assert page.total == len(page.users) or "limit" in query
    return [u.email.split("@")[0] for u in page.users]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([Condition("email", "contains", "ACME.COM")], ["ann", "cid"]),
        ([Condition("email", "ends", ".au")], ["cid"]),
        ([Condition("first_name", "starts", "c")], ["cid"]),
        ([Condition("first_name", "eq", "ann")], ["ann"]),
        ([Condition("position", "neq", "support")], ["owner", "ann", "bob"]),
        ([Condition("position", "empty")], ["owner", "bob"]),
        ([Condition("position", "not_empty")], ["ann", "cid"]),
        ([Condition("role", "in", ["admin", "owner"])], ["owner", "bob"]),
        ([Condition("role_number", "eq", 3)], ["ann", "cid"]),
        ([Condition("active", "eq", False)], ["cid"]),
        ([Condition("number", "gte", 2), Condition("number", "lt", 4)], ["ann", "bob"]),
        ([Condition("created_at", "gt", "2000-01-01T00:00:00Z")], ["owner", "ann", "bob", "cid"]),
        ([Condition("email", "contains", "%")], []),
    ],
)
async def test_conditions(
    engine: AsyncEngine, staffed: Workspace, conditions: list[Condition], expected: list[str]
) -> None:
    assert await _emails(engine, staffed, conditions=conditions) == expected


async def test_sorting_and_paging(engine: AsyncEngine, staffed: Workspace) -> None:
    by_email = await _emails(engine, staffed, sort="email", direction="desc")
    assert by_email == ["owner", "cid", "bob", "ann"]
    by_position = await _emails(engine, staffed, sort="position")
    assert by_position == ["owner", "bob", "ann", "cid"]
    assert await _emails(engine, staffed, sort="number", limit=2, offset=1) == ["ann", "bob"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"conditions": [Condition("nickname", "eq", "x")]}, "conditions[0].field"),
        ({"conditions": [Condition("active", "contains", "x")]}, "conditions[0].op"),
        ({"conditions": [Condition("number", "gt", "2")]}, "conditions[0].value"),
        ({"conditions": [Condition("number", "gt", True)]}, "conditions[0].value"),
        ({"conditions": [Condition("created_at", "lt", "yesterday")]}, "conditions[0].value"),
        ({"conditions": [Condition("email", "in", [])]}, "conditions[0].value"),
        ({"conditions": [Condition("email", "eq", "a\x00b")]}, "conditions[0].value"),
        ({"conditions": [Condition("email", "starts", "")]}, "conditions[0].value"),
        ({"conditions": [Condition("email", "eq", "x")] * 51}, "conditions"),
        ({"conditions": ["email"]}, "conditions[0]"),
        ({"sort": "password_hash"}, "sort"),
        ({"direction": "up"}, "direction"),
        ({"offset": -1}, "offset"),
        ({"q": 5}, "q"),
    ],
)
async def test_unfit_input_names_the_field(
    engine: AsyncEngine, staffed: Workspace, query: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await _emails(engine, staffed, **query)
    assert field in [d["field"] for d in refused.value.details]


async def test_roles_by_search_condition_and_sort(engine: AsyncEngine, ws: Workspace) -> None:
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        await roles.create_role(conn, owner, key="support", name="Support desk", permissions=[])
        found = await roles.list_roles(conn, owner, q="ADMIN")
        assert ([r.key for r in found.roles], found.total) == (["admin"], 1)
        named = await roles.list_roles(conn, owner, conditions=[Condition("name", "ends", "desk")])
        assert [r.key for r in named.roles] == ["support"]
        page = await roles.list_roles(conn, owner, sort="key", direction="desc", limit=2)
        assert ([r.key for r in page.roles], page.total) == (["support", "owner"], 4)
        with pytest.raises(ValidationFailed):
            await roles.list_roles(conn, owner, conditions=[Condition("permissions", "eq", "x")])
