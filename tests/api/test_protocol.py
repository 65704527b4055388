"""Slow clients against a real ``crm serve`` process: a connection whose headers do not
arrive within the header timeout is closed; clients that send theirs are served."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from tests.api.served_support import HEALTH, health_answer, served

#: The server's header timeout in these tests, in seconds.
BOUND = 1.0


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A ``crm serve`` process on its own SQLite file, with a header timeout of ``BOUND``."""
    url = f"sqlite:///{tmp_path_factory.mktemp('served') / 'crm.db'}"
    with served([], {"CRM_HEADER_TIMEOUT": str(BOUND)}, url) as chosen:
        yield chosen


def _closed_after(conn: socket.socket) -> float:
    """Seconds until the server closes ``conn`` (reading nothing), at most 10."""
    start = time.monotonic()
    conn.settimeout(10)
    with contextlib.suppress(ConnectionResetError):
        assert conn.recv(1024) == b""
    return time.monotonic() - start


@pytest.mark.parametrize("sent", [b"", b"GET /heal", b"GET /healthz HTTP/1.1\r\nHost: te"])
def test_a_request_that_stops_short_is_closed_within_the_bound(port: int, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(sent)
        assert BOUND * 0.5 < _closed_after(conn) < BOUND + 2


def test_a_trickle_does_not_extend_the_bound(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        start = time.monotonic()
        conn.settimeout(0.3)
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 40:
            try:
                conn.sendall(bytes([byte]))
                closed = conn.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
            if closed:
                break
        assert closed
        assert time.monotonic() - start < BOUND + 2


def test_the_next_request_on_a_kept_connection_has_its_own_bound(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(HEALTH)
        assert health_answer(conn).startswith(b"HTTP/1.1 200")
        conn.sendall(b"GET /heal")
        assert _closed_after(conn) < BOUND + 2


def test_clients_that_send_their_headers_in_time_are_served(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(HEALTH[:10])
        time.sleep(BOUND / 2)
        conn.sendall(HEALTH[10:])
        assert health_answer(conn).startswith(b"HTTP/1.1 200")
        time.sleep(BOUND * 1.5)  # idle between requests is the keep-alive timeout's business
        conn.sendall(HEALTH)
        assert health_answer(conn).startswith(b"HTTP/1.1 200")
