"""Case replies as the core serves them to faces: a case named by UUID, id, record number or
identifier, replies paged by cursor or offset, and a template named by its number."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import principal_for_user
from crm.core.cases.service import Identifier, add_reply, find_case_by_identifier, list_replies
from crm.core.cases.templates import create_template
from crm.core.errors import NotFound, ValidationFailed
from crm.core.records.model import Numbered, Record
from crm.core.records.service import create_record
from crm.db.engine import transaction
from tests.conftest import Workspace


async def _owner(engine: AsyncEngine, ws: Workspace) -> Principal:
    async with transaction(engine, write=False) as conn:
        return await principal_for_user(conn, ws.owner_id)


async def _record(engine: AsyncEngine, owner: Principal, object_key: str, **fields: str) -> Record:
    async with transaction(engine, write=True) as conn:
        return await create_record(conn, owner, object_key, fields=fields)


async def test_a_case_is_named_by_uuid_id_number_or_identifier(
    engine: AsyncEngine, ws: Workspace
) -> None:
    owner = await _owner(engine, ws)
    await _record(engine, owner, "case", title="First")
    case = await _record(engine, owner, "case", title="Second")
    assert (case.number, case.data["identifier"]) == (2, "REF-1002")
    refs = [str(case.uuid), case.id, str(case.id), Numbered(2), Identifier("REF-1002")]
    async with transaction(engine, write=True) as conn:
        for i, ref in enumerate(refs):
            made = await add_reply(conn, owner, ref, text=f"Reply {i}")
            assert made.case.id == case.id
        found = await find_case_by_identifier(conn, owner, " REF-1002 ")
        assert found.id == case.id
        page = await list_replies(conn, owner, Identifier("REF-1002"))
    assert [r.body for r in page.replies] == [f"Reply {i}" for i in range(len(refs))]
    assert page.next_cursor is None


@pytest.mark.parametrize("ref", [Identifier("REF-1001"), Numbered(1)])
async def test_another_workspaces_case_is_not_found_by_identifier_or_number(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace, ref: object
) -> None:
    theirs = await _owner(engine, other_ws)
    await _record(engine, theirs, "case", title="Theirs")
    owner = await _owner(engine, ws)
    async with transaction(engine, write=True) as conn:
        with pytest.raises(NotFound):
            await add_reply(conn, owner, ref, text="x")
        with pytest.raises(NotFound):
            await list_replies(conn, owner, ref)
        with pytest.raises(NotFound):
            await find_case_by_identifier(conn, owner, "REF-1001")


async def test_a_contacts_number_names_no_case(engine: AsyncEngine, ws: Workspace) -> None:
    owner = await _owner(engine, ws)
    ada = await _record(engine, owner, "contact", first_name="Ada")
    async with transaction(engine, write=True) as conn:
        for ref in (Numbered(1), ada.id, str(ada.uuid)):
            with pytest.raises(NotFound):
                await add_reply(conn, owner, ref, text="x")


async def test_replies_are_paged_by_offset_or_cursor(engine: AsyncEngine, ws: Workspace) -> None:
    owner = await _owner(engine, ws)
    case = await _record(engine, owner, "case", title="Paged")
    async with transaction(engine, write=True) as conn:
        for i in range(5):
            await add_reply(conn, owner, case.id, text=str(i))
    async with transaction(engine, write=False) as conn:
        second = await list_replies(conn, owner, case.id, limit=2, offset=2)
        assert [r.body for r in second.replies] == ["2", "3"]
        assert second.next_cursor == str(second.replies[-1].uuid)
        rest = await list_replies(conn, owner, case.id, limit=2, cursor=second.next_cursor)
        assert [r.body for r in rest.replies] == ["4"]
        assert rest.next_cursor is None
        past = await list_replies(conn, owner, case.id, offset=9)
        assert past.replies == []
        for bad in ({"offset": -1}, {"offset": 2**63}, {"offset": 1, "cursor": second.next_cursor}):
            with pytest.raises(ValidationFailed) as refused:
                await list_replies(conn, owner, case.id, **bad)
            assert [e.field for e in refused.value.field_errors] == ["offset"]


async def test_a_template_is_named_by_its_number(engine: AsyncEngine, ws: Workspace) -> None:
    owner = await _owner(engine, ws)
    case = await _record(engine, owner, "case", title="Numbered")
    async with transaction(engine, write=True) as conn:
        made = await create_template(conn, owner, name="Thanks", body="Thanks, {{user.name}}")
        reply = await add_reply(conn, owner, case.id, template=made.number)
    assert reply.body.startswith("Thanks, ")
    assert reply.template == made.uuid
    assert reply.author is not None
    assert reply.author.id == ws.owner_id
