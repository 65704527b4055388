"""Test harness: one real database per test run, migrated once, and fresh workspaces.

``CRM_TEST_DATABASE_URL`` picks the database: unset, a temporary SQLite file; a
``postgresql://`` URL names a server on which a throwaway database is created and dropped.
Tests isolate themselves by working in workspaces of their own, which is also what the
product promises: nothing of one workspace is visible from another.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api.app import create_app
from crm.core.auth.service import create_api_key, create_user
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import upgrade
from crm.settings import Settings

#: Request bodies above this get 413 in tests (small, so the limit is cheap to exercise).
TEST_BODY_LIMIT = 256 * 1024
#: Where Linux keeps a memory-backed file system (the suite makes a private directory in it).
SHARED_MEMORY = "/dev/shm"  # noqa: S108


def suite_settings(database_url: str, **changes: Any) -> Settings:
    """The suite's settings: a small body limit, and rate limits on but so high that no test
    meets them (every test calls from one address, and many answer 401)."""
    unmet = {"rate_limit": 1e9, "rate_burst": 10**9, "auth_failures": 10**9}
    return Settings(database_url, max_body_bytes=TEST_BODY_LIMIT, **{**unmet, **changes})


async def _pg_admin(url: str, sql: str) -> None:
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def _memory_backed_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory for the suite's SQLite database: in shared memory where there is some,
    so that each commit's fsync costs nothing, else under pytest's temporary directory."""
    if os.access(SHARED_MEMORY, os.W_OK):
        with tempfile.TemporaryDirectory(prefix="crm-test-", dir=SHARED_MEMORY) as path:
            yield Path(path)
    else:
        yield Path(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's database, migrated; one per process, so each ``pytest -n`` worker has
    its own.

    Its commits skip the wait for the disk (SQLite in shared memory, PostgreSQL with
    ``synchronous_commit`` off): what a test can see is the same; only a crash of the
    machine or of the database server could lose a commit. The durability tests make
    databases of their own."""
    base = os.environ.get("CRM_TEST_DATABASE_URL")
    if not base or base.startswith("sqlite"):
        with _memory_backed_dir(tmp_path_factory) as directory:
            url = f"sqlite:///{directory / 'test.db'}"
            upgrade(url)
            yield url
        return
    import asyncio

    name = f"crm_test_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(base, f'CREATE DATABASE "{name}"'))
    asyncio.run(_pg_admin(base, f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def spare_database_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the suite's kind, for a test that migrates it itself (up or
    down); dropped after the test."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'spare.db'}"
        return
    name = f"crm_test_{secrets.token_hex(4)}"
    await _pg_admin(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def dialect(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture(scope="session")
def app(engine: AsyncEngine, database_url: str) -> Any:
    return create_app(suite_settings(database_url), engine=engine)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class Workspace:
    """A fresh workspace as a test sees it: ids and an owner key, plus helpers for more keys."""

    id: int
    uuid: uuid.UUID
    subdomain: str
    key: str
    owner_id: int
    engine: AsyncEngine

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def add_key(
        self, *, role: str = "owner", scopes: list[str] | None = None, email: str | None = None
    ) -> str:
        """A new key; with ``email``, for a new user of that role, else for the owner."""
        async with transaction(self.engine, write=True) as conn:
            user_id = self.owner_id
            if email is not None:
                user = await create_user(
                    conn, self.id, email=email, name=email.split("@")[0], role=role
                )
                user_id = user["id"]
            made = await create_api_key(
                conn, self.id, user_id=user_id, role=role, scopes=scopes or ["*"]
            )
        return str(made["api_key"])


async def new_workspace(engine: AsyncEngine, name: str = "Test") -> Workspace:
    async with transaction(engine, write=True) as conn:
        made = await create_workspace(conn, name=name)
    ws = made["workspace"]
    return Workspace(ws.id, ws.uuid, ws.subdomain, made["api_key"], made["owner"]["id"], engine)


@pytest.fixture
async def ws(engine: AsyncEngine) -> Workspace:
    """A fresh workspace with an owner key."""
    return await new_workspace(engine, "Acme")


@pytest.fixture
async def other_ws(engine: AsyncEngine) -> Workspace:
    """A second, unrelated workspace: nothing of it may be visible from ``ws``."""
    return await new_workspace(engine, "Globex")


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An error answer in the native shape, with this status and code; its ``error`` object."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return dict(error)


def detail_fields(answer: httpx.Response) -> list[str]:
    """The ``field`` of each detail of an error answer."""
    return [d["field"] for d in answer.json()["error"]["details"]]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[None]:
    """``app`` started and stopped through its ASGI lifespan, as a server does."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(outbox.get(), 30))["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await asyncio.wait_for(outbox.get(), 30))["type"] == "lifespan.shutdown.complete"
        await asyncio.wait_for(lifespan, 30)
