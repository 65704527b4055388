"""Static lists and notes in the core: per-workspace numbers, references by UUID or number,
and the checks every service makes of its caller."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import create_user, principal_for_user
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.lists import service as lists
from crm.core.notes import service as notes
from crm.core.records.model import Numbered, RecordQuery
from crm.core.records.sequences import take_numbers
from crm.core.records.service import create_record
from crm.core.workspaces.service import create_workspace
from crm.db.engine import transaction
from tests.conftest import Workspace


async def _owner(engine: AsyncEngine, ws: Workspace) -> Principal:
    async with transaction(engine, write=False) as conn:
        return await principal_for_user(conn, ws.owner_id)


async def _take(engine: AsyncEngine, workspace_id: int, name: str, count: int) -> int:
    async with transaction(engine, write=True) as conn:
        return await take_numbers(conn, workspace_id, name, count)


async def test_each_workspace_counts_each_name_from_one(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    assert await _take(engine, ws.id, "list", 1) == 1
    assert await _take(engine, ws.id, "list", 3) == 2
    assert await _take(engine, ws.id, "list", 1) == 5
    assert await _take(engine, ws.id, "note", 2) == 1
    assert await _take(engine, other_ws.id, "list", 1) == 1


async def test_numbers_of_a_rolled_back_write_are_never_given_to_two(
    engine: AsyncEngine, ws: Workspace, dialect: str
) -> None:
    """On SQLite they come back; on PostgreSQL, taken apart from the writer's transaction
    as from a sequence, they stay unused."""

    async def take_then_fail() -> None:
        async with transaction(engine, write=True) as conn:
            await take_numbers(conn, ws.id, "list", 2)
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await take_then_fail()
    assert await _take(engine, ws.id, "list", 1) == (1 if dialect == "sqlite" else 3)


async def test_a_workspace_made_in_the_same_transaction_numbers_its_lists_and_notes(
    engine: AsyncEngine,
) -> None:
    async with transaction(engine, write=True) as conn:
        made = await create_workspace(conn, name="Fresh")
        owner = await principal_for_user(conn, made["owner"]["id"])
        ada = await create_record(conn, owner, "contact", fields={"first_name": "Ada"})
        vip = lists.create_list(conn, owner, object="contact", name="VIP")
        note = notes.add_note(conn, owner, "contact", ada.id, {"body": "Hi"})
        assert (await asyncio.wait_for(vip, 10)).number == 1
        assert (await asyncio.wait_for(note, 10)).number == 1


async def test_lists_are_named_by_uuid_or_number_within_their_workspace(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    ours, theirs = await _owner(engine, ws), await _owner(engine, other_ws)
    async with transaction(engine, write=True) as conn:
        vip = await lists.create_list(conn, ours, object="contact", name="VIP")
        deals = await lists.create_list(conn, ours, object="deal", name="Big", description="x")
    async with transaction(engine, write=False) as conn:
        for ref in (vip.uuid.hex, str(vip.uuid), 1, "1", Numbered(1)):
            assert (await lists.get_list(conn, ours, ref)).id == vip.id
        assert await lists.get_list(conn, ours, 2) == deals
        for principal, ref in (
            (theirs, str(vip.uuid)),
            (theirs, 1),
            *((ours, odd) for odd in (3, 0, -1, True, None, "1.0", " 1", "x", "")),
        ):
            with pytest.raises(NotFound):
                await lists.get_list(conn, principal, ref)  # type: ignore[arg-type]
        page = await lists.find_lists(conn, ours, object="deal")
        assert page == lists.ListPage([deals], 1)


async def test_membership_names_a_record_by_its_number_within_the_lists_object(
    engine: AsyncEngine, ws: Workspace
) -> None:
    owner = await _owner(engine, ws)
    async with transaction(engine, write=True) as conn:
        await create_record(conn, owner, "deal", fields={"name": "Deal one"})
        ada = await create_record(conn, owner, "contact", fields={"first_name": "Ada"})
        bob = await create_record(conn, owner, "contact", fields={"first_name": "Bob"})
        vip = await lists.create_list(conn, owner, object="contact", name="VIP")
        await lists.add_member(conn, owner, vip.number, Numbered(2))
        await lists.add_member(conn, owner, str(vip.uuid), ada.id)
    assert (ada.number, bob.number) == (1, 2)
    async with transaction(engine, write=False) as conn:
        page = await lists.find_members(conn, owner, vip.number, RecordQuery(with_total=True))
        assert [r.id for r in page.records] == [bob.id, ada.id]
        assert page.total == 2
        [on_bob] = await lists.lists_of_record(conn, owner, bob)
        assert on_bob == dataclasses.replace(vip, member_count=2)
    async with transaction(engine, write=True) as conn:
        with pytest.raises(NotFound):
            await lists.add_member(conn, owner, vip.number, Numbered(3))


async def test_every_list_service_checks_the_keys_scope(engine: AsyncEngine, ws: Workspace) -> None:
    owner = await _owner(engine, ws)
    async with transaction(engine, write=True) as conn:
        vip = await lists.create_list(conn, owner, object="contact", name="VIP")
        ada = await create_record(conn, owner, "contact", fields={"first_name": "Ada"})
    bare = dataclasses.replace(owner, scopes=frozenset({"contact:*"}))
    async with transaction(engine, write=True) as conn:
        calls = [
            lists.create_list(conn, bare, object="contact", name="X"),
            lists.get_list(conn, bare, vip.number),
            lists.find_lists(conn, bare),
            lists.update_list(conn, bare, vip.number, name="Y"),
            lists.delete_list(conn, bare, vip.number),
            lists.add_member(conn, bare, vip.number, ada.id),
            lists.remove_member(conn, bare, vip.number, ada.id),
            lists.find_members(conn, bare, vip.number, RecordQuery()),
            lists.lists_of_record(conn, bare, ada),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied):
                await call


async def test_update_list_refuses_unknown_attributes(engine: AsyncEngine, ws: Workspace) -> None:
    owner = await _owner(engine, ws)
    async with transaction(engine, write=True) as conn:
        vip = await lists.create_list(conn, owner, object="contact", name="VIP")
        with pytest.raises(ValidationFailed) as refused:
            await lists.update_list(conn, owner, vip.number, object="deal", size=3)
    assert sorted(e.field for e in refused.value.field_errors) == ["object", "size"]


# --- notes ----------------------------------------------------------------------------------


async def test_a_note_is_found_by_uuid_or_number_on_a_record_the_caller_can_see(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    owner, theirs = await _owner(engine, ws), await _owner(engine, other_ws)
    async with transaction(engine, write=True) as conn:
        made = await create_user(conn, ws.id, email="al@acme.io", name="Al", role="agent")
        agent = await principal_for_user(conn, made["id"])
        ada = await create_record(conn, owner, "contact", fields={"first_name": "Ada"})
        first = await notes.add_note(conn, owner, "contact", ada.id, {"body": "One"})
        second = await notes.add_note(conn, owner, "contact", ada.id, {"body": "Two"})
    assert (first.number, second.number) == (1, 2)
    async with transaction(engine, write=False) as conn:
        for ref in (str(second.uuid), 2, "2", Numbered(2)):
            assert await notes.get_note(conn, owner, ref) == second
        for principal, ref in ((theirs, 2), (theirs, str(second.uuid)), (owner, 3), (agent, 2)):
            with pytest.raises(NotFound):
                await notes.get_note(conn, principal, ref)
        no_notes = dataclasses.replace(owner, scopes=frozenset({"contact:*"}))
        with pytest.raises(PermissionDenied):
            await notes.get_note(conn, no_notes, 2)
    async with transaction(engine, write=True) as conn:
        changed = await notes.update_note(conn, owner, "contact", ada.id, 1, {"body": "Uno"})
        assert (changed.id, changed.number, changed.body) == (first.id, 1, "Uno")
        await notes.delete_note(conn, owner, "contact", ada.id, Numbered(2))
    async with transaction(engine, write=False) as conn:
        assert (await notes.get_note(conn, owner, 1)).body == "Uno"
        with pytest.raises(NotFound):
            await notes.get_note(conn, owner, 2)
