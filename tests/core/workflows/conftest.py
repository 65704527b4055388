"""A workspace's owner and agents, and shortcuts to make workflows and records and to let
the worker run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.auth.principal import Principal
from crm.core.auth.service import create_user, principal_for_user
from crm.core.records import service as records
from crm.core.records.model import Record
from crm.core.workflows import service as workflows
from crm.core.workflows.model import Run, Workflow
from crm.db.engine import transaction
from crm.worker.loop import drain
from tests.conftest import Workspace


class Automation:
    """The owner's principal, agents, and what a test does with workflows."""

    def __init__(self, engine: AsyncEngine, owner: Principal, agents: list[Principal]) -> None:
        self.engine, self.owner, self.agents = engine, owner, agents

    async def workflow(self, **spec: Any) -> Workflow:
        spec = {"object": "lead", "name": "Onboarding", "published": True, **spec}
        async with transaction(self.engine, write=True) as conn:
            return await workflows.create_workflow(conn, self.owner, spec)

    async def lead(self, **fields: Any) -> Record:
        async with transaction(self.engine, write=True) as conn:
            return await records.create_record(
                conn, self.owner, "lead", fields={"first_name": "Ann", **fields}
            )

    async def update(self, record: Record, **fields: Any) -> Record:
        async with transaction(self.engine, write=True) as conn:
            return await records.update_record(conn, self.owner, "lead", record.id, fields=fields)

    async def read(self, record: Record) -> Record:
        async with transaction(self.engine, write=False) as conn:
            return await records.get_record(conn, self.owner, record.object.key, record.id)

    async def runs(self, wf: Workflow) -> list[Run]:
        async with transaction(self.engine, write=False) as conn:
            page = await workflows.runs_of(conn, self.owner, workflow=str(wf.uuid))
        return [await self.run(str(r.uuid)) for r in reversed(page.runs)]

    async def run(self, ref: Any) -> Run:
        async with transaction(self.engine, write=False) as conn:
            return await workflows.get_run(conn, self.owner, ref)

    async def work(self) -> int:
        return await drain(self.engine)

    async def act(self, do: Callable[[Any], Awaitable[Any]], *, write: bool = True) -> Any:
        async with transaction(self.engine, write=write) as conn:
            return await do(conn)


@pytest.fixture
async def auto(engine: AsyncEngine, ws: Workspace) -> Automation:
    async with transaction(engine, write=True) as conn:
        owner = await principal_for_user(conn, ws.owner_id)
        agents = []
        for name in ("Bea", "Cid", "Dan"):
            made = await create_user(
                conn, ws.id, email=f"{name.lower()}@example.com", name=name, role="agent"
            )
            agents.append(await principal_for_user(conn, made["id"]))
    await drain(engine)  # earlier tests' events are not this test's
    return Automation(engine, owner, agents)
