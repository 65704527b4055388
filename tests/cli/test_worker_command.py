"""``crm worker`` and the worker ``crm serve`` runs in-process: they do the imports waiting,
``--once`` says how many, SIGTERM hands the import at hand back at a checkpoint, and a server
with ``CRM_INLINE_WORKER=0`` leaves the work to separate workers.

The ``crm worker`` tests run a worker process against the test database (SQLite or
PostgreSQL); the server tests use a fresh SQLite file, as an operator's first run does:
``crm serve`` as a process, and the app ``crm serve`` runs, started in-process through its
lifespan, to turn the inline worker on and off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from crm.api.app import create_app, create_from_env
from crm.cli.main import app
from crm.core.imports.process import BATCH
from crm.db.engine import make_engine
from crm.settings import Settings
from crm.worker.loop import drain
from tests.conftest import Workspace, served
from tests.worker.support import (
    assert_shown_completed,
    chunk_count,
    contact_emails,
    contacts_csv,
    emails,
    import_row,
    interrupt_worker,
    upload,
    upload_alone,
)

STARTUP_SECONDS = 60
#: How long an import of a few thousand rows may take a server's inline worker.
INLINE_SECONDS = 15
DONE = re.compile(r"Done (\d+) jobs?\.")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _crm(*args: str) -> str:
    """Run a ``crm`` command in-process; what it printed."""
    ran = CliRunner().invoke(app, list(args))
    assert ran.exit_code == 0, ran.output
    return ran.stdout


def _status(url: str, key: str, ref: str) -> dict[str, Any]:
    """An import's status, from an app of its own on ``url``."""

    async def follow() -> dict[str, Any]:
        engine = make_engine(url)
        try:
            transport = httpx.ASGITransport(app=create_app(Settings(url), engine=engine))
            async with httpx.AsyncClient(transport=transport, base_url="http://cli") as client:
                answer = await client.get(f"/api/v1/imports/{ref}", headers=bearer(key))
                assert answer.status_code == 200, answer.text
                return dict(answer.json())
        finally:
            await engine.dispose()

    return asyncio.run(follow())


# --- crm worker ----------------------------------------------------------------------------


async def test_worker_once_does_the_waiting_imports_and_says_how_many(
    engine: AsyncEngine, client: httpx.AsyncClient, ws: Workspace, database_url: str
) -> None:
    await drain(engine)
    tags = [secrets.token_hex(4) for _ in range(2)]
    refs = [await upload(client, ws, contacts_csv(300, tag)) for tag in tags]
    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "crm", "worker", "--once", "--database-url", database_url],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr.decode()
    assert ran.stdout.decode().strip() == "Done 2 jobs."
    for ref in refs:
        row = await import_row(engine, ref)
        assert row.status == "completed", row.failure
        assert (row.rows_done, row.created_count, row.lease_owner) == (300, 300, None)
        assert await chunk_count(engine, row.id) == 0
    assert await contact_emails(engine, ws.id) == sorted(e for t in tags for e in emails(300, t))
    assert await drain(engine) == 0


async def test_sigterm_makes_the_worker_hand_its_import_back_and_exit(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    ws: Workspace,
    database_url: str,
    tmp_path: Path,
) -> None:
    rows = 8 * BATCH
    ref, tag = await upload_alone(engine, client, ws, rows)
    log = tmp_path / "worker.log"
    worker = await interrupt_worker(engine, ref, database_url, log, signal.SIGTERM, exit_within=60)
    printed = log.read_text()
    assert worker.returncode == 0, printed
    assert "Working; stop with Ctrl-C." in printed
    assert "Traceback" not in printed

    handed = await import_row(engine, ref)
    assert (handed.status, handed.lease_owner, handed.lease_until) == ("pending", None, None)
    assert 0 < handed.rows_done < rows, "the worker did not stop mid-way"
    assert handed.rows_done % BATCH == 0
    written = await contact_emails(engine, ws.id)
    assert len(written) == handed.created_count == handed.rows_done

    assert await drain(engine) == 1  # taken at once, no lease to wait out
    done = await import_row(engine, ref)
    assert done.status == "completed", done.failure
    assert (done.rows_done, done.created_count) == (rows, rows)
    assert await contact_emails(engine, ws.id) == emails(rows, tag)


# --- crm serve and its inline worker -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int, log: Path, *, inline: bool) -> subprocess.Popen[bytes]:
    """Start ``crm serve`` (with or without its inline worker) and wait, bounded, until
    /healthz answers."""
    env = {**os.environ, "CRM_INLINE_WORKER": "1" if inline else "0"}
    env.pop("CRM_DATABASE_URL", None)
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "crm", "serve", "--port", str(port), "--database-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited {server.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    _stop(server)
    raise AssertionError(f"server did not start: {log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _owner_key(log: Path) -> str:
    printed = log.read_text()
    found = re.search(
        r"Owner API key \(shown once, keep it safe\): (ak_[A-Za-z0-9_-]{40})", printed
    )
    assert found, printed
    return found.group(1)


def _follow(port: int, key: str, ref: str) -> dict[str, Any]:
    answer = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/imports/{ref}",
        headers=bearer(key),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_serve_does_imports_with_its_inline_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inline.db'}"
    port, log = _free_port(), tmp_path / "serve.log"
    rows = 2500
    server = _serve(url, port, log, inline=True)
    try:
        key = _owner_key(log)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/objects/contact/imports",
            files={"file": ("contacts.csv", contacts_csv(rows, "inline"), "text/csv")},
            headers=bearer(key),
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        ref = answer.json()["id"]
        deadline = time.monotonic() + INLINE_SECONDS
        shown = _follow(port, key, ref)
        while shown["status"] in ("pending", "processing") and time.monotonic() < deadline:
            time.sleep(0.2)
            shown = _follow(port, key, ref)
        assert_shown_completed(shown, rows)
        assert shown["filename"] == "contacts.csv"
    finally:
        _stop(server)
    assert server.returncode in (0, -signal.SIGTERM), log.read_text()  # uvicorn re-raises it
    assert "Traceback" not in log.read_text()


@contextlib.asynccontextmanager
async def _started(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` started as a server starts it, through its ASGI lifespan (which starts the
    inline worker), and a client of it; stopped after."""
    async with served(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            yield client


@pytest.mark.parametrize("inline", ["1", "0"])
def test_crm_inline_worker_turns_the_servers_worker_on_and_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: str
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    made = _crm("workspace", "create", "--name", "Acme", "--json", "--database-url", url)
    key = json.loads(made)["api_key"]
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    monkeypatch.setenv("CRM_INLINE_WORKER", inline)

    async def serve() -> dict[str, Any]:
        async with _started(create_from_env()) as client:
            answer = await client.post(
                "/api/v1/objects/contact/imports",
                content=contacts_csv(200, "later"),
                headers={**bearer(key), "Content-Type": "text/csv"},
            )
            assert answer.status_code == 202, answer.text
            ref = answer.json()["id"]
            deadline = time.monotonic() + (INLINE_SECONDS if inline == "1" else 2.5)
            while time.monotonic() < deadline:  # an inline worker looks every second
                shown = (await client.get(f"/api/v1/imports/{ref}", headers=bearer(key))).json()
                if shown["status"] not in ("pending", "processing"):
                    break
                await asyncio.sleep(0.1)
            return dict(shown)

    shown = asyncio.run(serve())
    if inline == "1":
        assert (shown["status"], shown["processed_rows"], shown["created"]) == (
            "completed",
            200,
            200,
        )
        return
    assert (shown["status"], shown["processed_rows"], shown["started_at"]) == ("pending", 0, None)

    # A separate worker does it.
    printed = _crm("worker", "--once", "--database-url", url)
    said = DONE.fullmatch(printed.strip())
    assert said, printed
    assert said.group(1) == "1"
    done = _status(url, key, shown["id"])
    assert (done["status"], done["processed_rows"], done["created"]) == ("completed", 200, 200)
