"""The event log is read in an order that never changes: every event once, none appearing
behind a reader that has moved on, even when transactions commit out of order."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.events.service import append_event
from crm.core.events.stream import START, Position, head, read_after, settle
from crm.db.engine import transaction
from tests.conftest import Workspace


async def _append(engine: AsyncEngine, workspace_id: int, *types: str) -> None:
    async with transaction(engine, write=True) as conn:
        for type_ in types:
            await append_event(conn, workspace_id, type_, actor=None)


async def _read(
    engine: AsyncEngine, after: Position, workspace_id: int | None = None, *, wait: bool = True
) -> list[tuple[int, str]]:
    """The events after ``after``, once the log has settled (with ``wait``): on PostgreSQL a
    transaction still running anywhere on the server (another test's) holds readers back."""
    if wait:
        assert await settle(engine)
    async with transaction(engine, write=False) as conn:
        found = await read_after(conn, after, limit=100, workspace_id=workspace_id)
    return [(s.workspace_id, s.event.type) for s in found]


async def _head(engine: AsyncEngine, workspace_id: int | None = None) -> Position:
    """The head once the log has settled (the workspace's own first events included)."""
    assert await settle(engine)
    async with transaction(engine, write=False) as conn:
        return await head(conn, workspace_id)


async def test_events_are_read_in_order_from_a_position(
    engine: AsyncEngine, ws: Workspace, other_ws: Workspace
) -> None:
    start = await _head(engine)
    await _append(engine, ws.id, "a.one", "a.two")
    await _append(engine, other_ws.id, "b.one")
    await _append(engine, ws.id, "a.three")
    assert await _read(engine, start) == [
        (ws.id, "a.one"),
        (ws.id, "a.two"),
        (other_ws.id, "b.one"),
        (ws.id, "a.three"),
    ]
    assert await _read(engine, start, ws.id) == [
        (ws.id, "a.one"),
        (ws.id, "a.two"),
        (ws.id, "a.three"),
    ]
    async with transaction(engine, write=False) as conn:
        first_two = await read_after(conn, start, limit=2, workspace_id=ws.id)
        rest = await read_after(conn, first_two[-1].position, limit=10, workspace_id=ws.id)
    assert [s.event.type for s in rest] == ["a.three"]
    assert await _head(engine, ws.id) == rest[-1].position


async def test_a_workspace_without_events_starts_at_the_beginning(
    engine: AsyncEngine, ws: Workspace
) -> None:
    async with transaction(engine, write=False) as conn:
        assert await head(conn, -1) == START


@pytest.mark.parametrize("text", ["", "1", "1.", ".2", "a.b", "-1.2", "1.2.3"])
def test_a_position_reads_only_what_it_wrote(text: str) -> None:
    with pytest.raises(ValueError, match="not a position"):
        Position.parse(text)


def test_positions_order_by_transaction_then_event() -> None:
    assert Position.parse(Position(7, 12).text()) == Position(7, 12)
    assert Position(1, 900) < Position(2, 5) < Position(2, 6)


async def test_an_event_committed_late_is_never_behind_a_reader(
    engine: AsyncEngine, ws: Workspace
) -> None:
    """PostgreSQL takes ids before commit: the first transaction here holds its id open
    while a later one writes a smaller id and commits first."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time, in the order of ids")
    start = await _head(engine, ws.id)
    async with engine.connect() as early, engine.connect() as late:
        await early.begin()
        await late.begin()
        await append_event(early, ws.id, "early.first", actor=None)  # the older transaction
        await append_event(late, ws.id, "late", actor=None)
        await append_event(early, ws.id, "early.second", actor=None)  # a larger id
        await late.commit()
        assert await _read(engine, start, ws.id, wait=False) == []  # the early one runs
        await early.commit()
    assert await _read(engine, start, ws.id) == [
        (ws.id, "early.first"),
        (ws.id, "early.second"),
        (ws.id, "late"),
    ]
