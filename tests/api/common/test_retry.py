"""A request aborted by the database only because of others runs again; others do not; a
database too busy to take a write in time is a 503 to retry, not a 500."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from crm.api.common import http
from crm.api.common.retry import ATTEMPTS, REPLAYABLE_BYTES, RetryTransient
from crm.core.auth.service import authenticate
from tests.conftest import Workspace


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _abort(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE records ...", {}, _Orig(sqlstate))


class _Flaky:
    """An app that reads the whole body, fails ``failures`` times with ``error``, then
    answers the body it read; with ``answer_first`` it starts its answer before failing."""

    def __init__(self, failures: int, error: Exception, *, answer_first: bool = False) -> None:
        self.failures, self.error, self.answer_first = failures, error, answer_first
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        if self.answer_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        if len(self.bodies) <= self.failures:
            raise self.error
        if not self.answer_first:
            await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def _post(app: Any, body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=RetryTransient(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/x", content=body)


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
async def test_a_deadlock_victim_or_serialisation_failure_runs_again_with_the_same_body(
    sqlstate: str,
) -> None:
    app = _Flaky(ATTEMPTS - 1, _abort(sqlstate))
    answer = await _post(app, b'{"fields": {"city": "Paris"}}')
    assert (answer.status_code, answer.content) == (201, b'{"fields": {"city": "Paris"}}')
    assert app.bodies == [b'{"fields": {"city": "Paris"}}'] * ATTEMPTS


async def test_runs_stop_after_the_last_attempt() -> None:
    app = _Flaky(ATTEMPTS, _abort("40P01"))
    with pytest.raises(DBAPIError):
        await _post(app, b"{}")
    assert len(app.bodies) == ATTEMPTS


@pytest.mark.parametrize("error", [_abort("23505"), RuntimeError("bug")])
async def test_other_errors_run_once(error: Exception) -> None:
    app = _Flaky(1, error)
    with pytest.raises(type(error)):
        await _post(app, b"{}")
    assert len(app.bodies) == 1


async def test_nothing_runs_again_once_an_answer_has_started() -> None:
    app = _Flaky(1, _abort("40P01"), answer_first=True)
    with pytest.raises(DBAPIError):
        await _post(app, b"{}")
    assert len(app.bodies) == 1


async def test_a_body_too_large_to_keep_is_not_run_again() -> None:
    app = _Flaky(1, _abort("40P01"))
    with pytest.raises(DBAPIError):
        await _post(app, b"x" * (REPLAYABLE_BYTES + 1))
    assert len(app.bodies) == 1


@pytest.mark.parametrize(
    ("path", "body", "created"),
    [
        ("/api/v1/objects/contact/records", {"fields": {"first_name": "Ada"}}, 201),
        ("/leadflip/api/intake", {"entity": "lead", "email": "ada@example.com"}, 200),
        ("/flownally/v1/contacts", {"name": "Ada Lovelace"}, 201),
    ],
)
async def test_every_face_runs_a_request_again_after_a_deadlock(
    client: httpx.AsyncClient,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: dict[str, Any],
    created: int,
) -> None:
    calls = []

    async def first_aborted(conn: Any, key: str | None) -> Any:
        calls.append(key)
        if len(calls) == 1:
            raise _abort("40P01")
        return await authenticate(conn, key)

    monkeypatch.setattr(http, "authenticate", first_aborted)
    answer = await client.post(path, json=body, headers=ws.auth)
    assert answer.status_code == created, answer.text
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [
        ("/api/v1/objects/contact/records", {"fields": {"first_name": "Ada"}}, "native"),
        ("/leadflip/api/intake", {"entity": "lead", "email": "ada@example.com"}, "leadflip"),
        ("/flownally/v1/contacts", {"name": "Ada Lovelace"}, "flownally"),
    ],
)
async def test_a_database_too_busy_to_take_a_write_answers_503_with_retry_after(
    client: httpx.AsyncClient,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: dict[str, Any],
    shape: str,
) -> None:
    async def busy(conn: Any, key: str | None) -> Any:
        raise OperationalError(
            "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
        )

    monkeypatch.setattr(http, "authenticate", busy)
    answer = await client.post(path, json=body, headers=ws.auth)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    shown = {
        "native": lambda b: b["error"]["code"] == "unavailable",
        "leadflip": lambda b: b["status"] == "error" and "busy" in b["message"],
        "flownally": lambda b: b["error"]["status"] == "UNAVAILABLE",
    }
    assert shown[shape](answer.json()), answer.json()
