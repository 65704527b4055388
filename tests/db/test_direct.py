"""Direct reads on PostgreSQL: a pool of their own that lets bounded statements keep a
generic plan, closed with the app or the engine."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from crm.api import app as app_module
from crm.api.app import create_app
from crm.db.direct import Direct, Prepared, param
from crm.db.engine import make_engine, transaction
from crm.db.schema import workspaces
from tests.conftest import Workspace, served, suite_settings

_MODE = Prepared(sa.select(sa.func.current_setting("plan_cache_mode").label("mode")))
_WORKSPACE = Prepared(
    sa.select(workspaces.c.id, workspaces.c.metadata_version).where(
        workspaces.c.id == param(workspaces.c.id)
    )
)
_prepared = sa.table(
    "pg_prepared_statements",
    sa.column("statement", sa.Text),
    sa.column("generic_plans", sa.BigInteger),
)
_PLANS = Prepared(
    sa.select(_prepared.c.generic_plans).where(
        _prepared.c.statement == sa.bindparam("sql", type_=sa.Text)
    )
)


@pytest.fixture(autouse=True)
def _postgresql_only(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("the pool of direct reads is PostgreSQL's")


async def test_direct_reads_keep_the_servers_plan_cache_mode(database_url: str) -> None:
    engine = make_engine(database_url)
    direct = Direct(engine)
    try:
        async with transaction(engine, write=False) as conn:
            forced = (await conn.execute(sa.text("SHOW plan_cache_mode"))).scalar_one()
        assert forced == "force_custom_plan"
        async with direct.reading() as read:
            assert (await read.first(_MODE)).mode == "auto"
    finally:
        await direct.close()
        await engine.dispose()


async def test_a_bounded_statement_run_again_runs_on_its_generic_plan(
    database_url: str, ws: Workspace
) -> None:
    engine = make_engine(database_url)
    direct = Direct(engine)
    sql = _WORKSPACE.compiled(engine.dialect).sql
    try:
        async with direct.reading(statements=7) as read:
            for _ in range(6):
                assert (await read.first(_WORKSPACE, id=ws.id)).id == ws.id
            assert (await read.first(_PLANS, sql=sql)).generic_plans > 0
    finally:
        await direct.close()
        await engine.dispose()


async def test_disposing_the_engine_closes_its_pool_of_direct_reads(database_url: str) -> None:
    engine = make_engine(database_url)
    direct = Direct(engine)
    async with direct.reading() as read:
        await read.first(_MODE)
    assert direct._own is not None
    pool = direct._own.pool
    assert pool is not None
    assert Direct(engine)._own is direct._own  # one pool per engine
    await engine.dispose()
    assert pool.is_closing()
    assert direct._own.pool is None


async def test_the_pool_of_direct_reads_closes_when_the_app_stops(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Direct] = []

    class Noted(Direct):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(app_module, "Direct", Noted)
    app = create_app(suite_settings(database_url, inline_worker=False))
    async with served(app):
        (direct,) = made
        async with direct.reading() as read:
            await read.first(_MODE)
        assert direct._own is not None
        pool = direct._own.pool
        assert pool is not None
        assert not pool.is_closing()
    assert pool.is_closing()
    assert direct._own.pool is None


async def test_an_engine_derived_with_options_shares_the_pool_its_disposal_closes(
    database_url: str,
) -> None:
    """A worker runs on ``engine.execution_options(...)``: its direct reads must use the
    engine's own pool, which closes with the engine, not one of their own that nothing
    closes."""
    engine = make_engine(database_url)
    derived = Direct(engine.execution_options(crm_offload=True))
    try:
        async with derived.reading() as read:
            await read.first(_MODE)
        assert derived._own is Direct(engine)._own
        assert derived._own is not None
        pool = derived._own.pool
        assert pool is not None
    finally:
        await engine.dispose()
    assert pool.is_closing()
