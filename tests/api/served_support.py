"""``crm serve`` in a process of its own, for tests that need real sockets."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HEALTH = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health_answer(conn: socket.socket) -> bytes:
    """One whole answer to ``HEALTH``, which may come in several segments."""
    answer = b""
    while not answer.endswith(b'{"status":"ok"}'):
        chunk = conn.recv(1024)
        if not chunk:
            raise ConnectionError(f"closed after {answer!r}")
        answer += chunk
    return answer


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(HEALTH)
            return health_answer(conn).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def crm_command() -> str:
    return shutil.which("crm", path=str(Path(sys.executable).parent)) or "crm"


@contextmanager
def served(options: list[str], env: dict[str, str], url: str) -> Iterator[int]:
    """``crm serve`` with ``options`` and ``env`` on ``url``, without an inline worker,
    until the block ends; its port."""
    port = free_port()
    server = subprocess.Popen(
        [crm_command(), "serve", "--port", str(port), "--database-url", url, *options],
        env={**os.environ, "CRM_INLINE_WORKER": "0", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
