"""An acknowledged write survives the server being killed outright (SQLite, WAL, FULL sync)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(
            [sys.executable, "-m", "crm", "serve", "--port", str(port), "--database-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")


def test_write_survives_kill_9(tmp_path: Path, dialect: str) -> None:
    if dialect != "sqlite":
        pytest.skip("durability of the embedded database; PostgreSQL's is its own")
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "crm",
            "workspace",
            "create",
            "--name",
            "Crash",
            "--json",
            "--database-url",
            url,
        ],
        check=True,
        capture_output=True,
    )
    key = json.loads(made.stdout)["api_key"]
    headers = {"Authorization": f"Bearer {key}"}
    port = _free_port()
    server = _start(url, port, tmp_path / "serve.log")
    try:
        created = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/objects/contact/records",
            json={"fields": {"first_name": "Durable", "email": "d@example.com"}},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    server = _start(url, port, tmp_path / "serve.log")
    try:
        again = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/objects/contact/records/{created.json()['id']}",
            headers=headers,
            timeout=10,
        )
        assert again.status_code == 200
        assert again.json()["fields"]["email"] == "d@example.com"
    finally:
        server.terminate()
        server.wait(timeout=10)
