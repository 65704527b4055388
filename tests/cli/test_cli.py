"""The ``crm`` command: workspaces, keys and users on a database, errors, and ``crm serve``.

Commands run in-process with Typer's runner against a temporary SQLite file and, when the
test database is PostgreSQL, against that database too. Keys the CLI prints are then used
over HTTP against an app built on the same database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from crm.api.app import create_app
from crm.cli.main import app
from crm.db.engine import make_engine
from crm.settings import Settings

STARTUP_SECONDS = 30
runner = CliRunner()


# --- helpers ------------------------------------------------------------------------------


#: The CLI runs on a fresh SQLite file always, and on the PostgreSQL test database when the
#: run uses one (``CRM_TEST_DATABASE_URL``).
CLI_DATABASES = ["sqlite"] + (
    ["postgresql"] if os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgresql") else []
)


@pytest.fixture(params=CLI_DATABASES)
def cli_url(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> str:
    """A database for the CLI: a fresh SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    assert database_url.startswith("postgresql")
    return database_url


def crm(url: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--database-url", url])


def crm_json(url: str, *args: str) -> dict[str, Any]:
    result = crm(url, *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def assert_fails(result: Result, *words: str) -> str:
    """Exit 1 with one ``error: ...`` line on stderr naming ``words``, nothing on stdout."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("error: "), message
    assert "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


def unique(prefix: str = "ws") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def new_workspace(url: str, **options: str) -> dict[str, Any]:
    args = ["workspace", "create", "--name", options.pop("name", "Acme")]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", value]
    return crm_json(url, *args)


def over_http(url: str, work: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
    """Run ``work`` with a client of an app serving ``url`` (its own engine and loop)."""

    async def main() -> Any:
        engine = make_engine(url)
        try:
            transport = httpx.ASGITransport(app=create_app(Settings(url), engine=engine))
            async with httpx.AsyncClient(transport=transport, base_url="http://cli") as client:
                return await work(client)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- workspace create ---------------------------------------------------------------------


def test_workspace_create_prints_the_workspace_owner_and_key(cli_url: str) -> None:
    sub = unique()
    made = new_workspace(cli_url, name="Acme Inc", subdomain=sub)
    assert set(made) == {"workspace", "owner", "api_key"}
    assert set(made["workspace"]) == {"id", "name", "subdomain"}
    assert (made["workspace"]["name"], made["workspace"]["subdomain"]) == ("Acme Inc", sub)
    assert uuid.UUID(made["workspace"]["id"])
    assert made["owner"]["email"] == "owner@example.com"
    assert uuid.UUID(made["owner"]["id"])
    assert re.fullmatch(r"ak_[A-Za-z0-9_-]{40}", made["api_key"])

    async def me(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/api/v1/me", headers=bearer(made["api_key"]))

    answer = over_http(cli_url, me)
    assert answer.status_code == 200
    assert answer.json()["workspace_id"] == made["workspace"]["id"]
    assert answer.json()["role"] == "owner"
    assert answer.json()["scopes"] == ["*"]
    assert answer.json()["user"]["id"] == made["owner"]["id"]


def test_workspace_create_derives_a_free_subdomain(cli_url: str) -> None:
    name = f"Globex {secrets.token_hex(3)} Corp"
    first = new_workspace(cli_url, name=name)
    second = new_workspace(cli_url, name=name)
    slug = name.lower().replace(" ", "-")
    assert first["workspace"]["subdomain"] == slug
    assert second["workspace"]["subdomain"] not in (slug, "")
    assert second["workspace"]["id"] != first["workspace"]["id"]
    assert second["api_key"] != first["api_key"]


def test_workspace_create_takes_the_owner_email(cli_url: str) -> None:
    made = new_workspace(cli_url, owner_email="Boss@Example.com")
    assert made["owner"]["email"] == "boss@example.com"


def test_workspace_create_without_json_prints_readable_lines(cli_url: str) -> None:
    result = crm(cli_url, "workspace", "create", "--name", "Plain", "--subdomain", unique())
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^api_key: ak_[A-Za-z0-9_-]{40}$", result.stdout, re.MULTILINE)
    assert not result.stdout.lstrip().startswith("{")


def test_duplicate_subdomain_exits_1(cli_url: str) -> None:
    sub = unique()
    new_workspace(cli_url, subdomain=sub)
    assert_fails(
        crm(cli_url, "workspace", "create", "--name", "Again", "--subdomain", sub, "--json"),
        sub,
        "taken",
    )


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--name", "X", "--subdomain", "Not_Valid"], ["subdomain"]),
        (["--name", "X", "--subdomain", "-leading"], ["subdomain"]),
        (["--name", "   "], ["name"]),
        (["--name", "x" * 201], ["name"]),
        (["--name", "X", "--owner-email", "not-an-email"], ["email"]),
    ],
)
def test_bad_workspace_exits_1(cli_url: str, options: list[str], words: list[str]) -> None:
    assert_fails(crm(cli_url, "workspace", "create", *options, "--json"), *words)


# --- apikey create ------------------------------------------------------------------------


def test_apikey_create_by_subdomain_and_by_id(cli_url: str) -> None:
    made = new_workspace(cli_url, subdomain=unique())
    ws = made["workspace"]
    by_sub = crm_json(cli_url, "apikey", "create", "--workspace", ws["subdomain"])
    assert set(by_sub) == {"api_key", "id", "scopes", "role"}
    assert (by_sub["scopes"], by_sub["role"]) == (["*"], "owner")
    assert by_sub["api_key"].startswith("ak_")
    assert uuid.UUID(by_sub["id"])
    by_id = crm_json(
        cli_url,
        "apikey",
        "create",
        "--workspace",
        ws["id"],
        "--role",
        "agent",
        "--scope",
        "read:crm",
        "--scope",
        "note:create",
        "--name",
        "Zapier",
    )
    assert (by_id["scopes"], by_id["role"]) == (["read:crm", "note:create"], "agent")
    assert len({made["api_key"], by_sub["api_key"], by_id["api_key"]}) == 3

    async def me(client: httpx.AsyncClient) -> list[dict[str, Any]]:
        return [
            (await client.get("/api/v1/me", headers=bearer(k))).json()
            for k in (by_sub["api_key"], by_id["api_key"])
        ]

    owner, agent = over_http(cli_url, me)
    assert (owner["workspace_id"], owner["role"], owner["scopes"]) == (ws["id"], "owner", ["*"])
    assert (agent["workspace_id"], agent["role"]) == (ws["id"], "agent")
    assert agent["scopes"] == ["note:create", "read:crm"]


def test_a_contact_read_key_works_over_http_with_that_scope_only(cli_url: str) -> None:
    made = new_workspace(cli_url, subdomain=unique())
    key = crm_json(
        cli_url,
        "apikey",
        "create",
        "--workspace",
        made["workspace"]["subdomain"],
        "--scope",
        "contact:read",
    )
    assert key["scopes"] == ["contact:read"]
    owner, scoped = bearer(made["api_key"]), bearer(key["api_key"])

    async def work(client: httpx.AsyncClient) -> dict[str, int]:
        base = "/api/v1/objects/contact/records"
        created = await client.post(base, json={"fields": {"first_name": "Ada"}}, headers=owner)
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        read = await client.get(f"{base}/{rid}", headers=scoped)
        assert read.json()["fields"]["first_name"] == "Ada"
        return {
            "read": read.status_code,
            "list": (await client.get(base, headers=scoped)).status_code,
            "create": (
                await client.post(base, json={"fields": {"first_name": "Eve"}}, headers=scoped)
            ).status_code,
            "update": (
                await client.patch(f"{base}/{rid}", json={"fields": {"city": "X"}}, headers=scoped)
            ).status_code,
            "delete": (await client.delete(f"{base}/{rid}", headers=scoped)).status_code,
            "deals": (await client.get("/api/v1/objects/deal/records", headers=scoped)).status_code,
            "objects": (await client.get("/api/v1/objects", headers=scoped)).status_code,
            "count": len((await client.get(base, headers=owner)).json()["data"]),
        }

    assert over_http(cli_url, work) == {
        "read": 200,
        "list": 403,
        "create": 403,
        "update": 403,
        "delete": 403,
        "deals": 403,
        "objects": 403,
        "count": 1,
    }


def test_apikey_for_an_unknown_workspace_exits_1(cli_url: str) -> None:
    assert_fails(
        crm(cli_url, "apikey", "create", "--workspace", "no-such-ws", "--json"),
        "no-such-ws",
        "not found",
    )
    missing = str(uuid.uuid4())
    assert_fails(crm(cli_url, "apikey", "create", "--workspace", missing, "--json"), missing)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--role", "emperor"], ["role", "emperor"]),
        (["--scope", "contact:fly"], ["scopes", "contact:fly"]),
        (["--scope", "read:crm", "--scope", "everything"], ["everything"]),
    ],
)
def test_bad_apikey_exits_1(cli_url: str, options: list[str], words: list[str]) -> None:
    sub = new_workspace(cli_url, subdomain=unique())["workspace"]["subdomain"]
    assert_fails(crm(cli_url, "apikey", "create", "--workspace", sub, *options, "--json"), *words)


# --- user create --------------------------------------------------------------------------


def test_user_create_prints_the_user(cli_url: str) -> None:
    made = new_workspace(cli_url, subdomain=unique())
    sub = made["workspace"]["subdomain"]
    agent = crm_json(
        cli_url, "user", "create", "--workspace", sub, "--email", "Ada@X.io", "--name", " Ada "
    )
    assert set(agent) == {"user"}
    assert set(agent["user"]) == {"id", "email", "role", "name"}
    assert (agent["user"]["email"], agent["user"]["role"], agent["user"]["name"]) == (
        "ada@x.io",
        "agent",
        "Ada",
    )
    admin = crm_json(
        cli_url,
        "user",
        "create",
        "--workspace",
        made["workspace"]["id"],
        "--email",
        "grace@x.io",
        "--name",
        "Grace",
        "--role",
        "admin",
        "--password",
        "correct horse battery staple",
    )
    assert admin["user"]["role"] == "admin"

    async def users(client: httpx.AsyncClient) -> list[tuple[str, str]]:
        answer = await client.get("/api/v1/users", headers=bearer(made["api_key"]))
        return [(u["id"], u["email"]) for u in answer.json()["data"]]

    assert over_http(cli_url, users) == [
        (made["owner"]["id"], "owner@example.com"),
        (agent["user"]["id"], "ada@x.io"),
        (admin["user"]["id"], "grace@x.io"),
    ]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--email", "owner@example.com", "--name", "Dup"], ["already exists"]),
        (["--email", "OWNER@example.com", "--name", "Dup"], ["already exists"]),
        (["--email", "a@x.io", "--name", "A", "--role", "emperor"], ["role", "emperor"]),
        (["--email", "not-an-email", "--name", "A"], ["email"]),
        (["--email", "a@x.io", "--name", "  "], ["name"]),
    ],
)
def test_bad_user_exits_1(cli_url: str, options: list[str], words: list[str]) -> None:
    sub = new_workspace(cli_url, subdomain=unique())["workspace"]["subdomain"]
    assert_fails(crm(cli_url, "user", "create", "--workspace", sub, *options, "--json"), *words)


def test_user_for_an_unknown_workspace_exits_1(cli_url: str) -> None:
    assert_fails(
        crm(
            cli_url,
            "user",
            "create",
            "--workspace",
            "no-such-ws",
            "--email",
            "a@x.io",
            "--name",
            "A",
        ),
        "no-such-ws",
        "not found",
    )


def test_missing_required_options_exit_with_usage(cli_url: str) -> None:
    for args in (["workspace", "create"], ["apikey", "create"], ["user", "create"]):
        result = crm(cli_url, *args)
        assert result.exit_code == 2, args
        assert "Missing option" in result.stderr


# --- migrate ------------------------------------------------------------------------------


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):
        result = crm(url, "migrate")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == "Database is up to date."
    assert (tmp_path / "fresh.db").exists()
    assert new_workspace(url)["workspace"]["subdomain"] == "acme"


def test_commands_migrate_an_empty_database_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert new_workspace(url, name="First")["workspace"]["subdomain"] == "first"


def test_an_unsupported_database_url_exits_1_with_a_message() -> None:
    assert_fails(runner.invoke(app, ["migrate", "--database-url", "mysql://db/crm"]), "mysql")


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_network_webhooks_may_call_that_is_none_exits_1_with_a_message(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8,intranet")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    options = ["--once"] if command == "worker" else []
    result = runner.invoke(app, [command, *options, "--database-url", url])
    assert_fails(result, "CRM_WEBHOOK_ALLOWED_NETWORKS", "'intranet'")
    assert not (tmp_path / "cli.db").exists()  # refused before the database is touched


# --- serve --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start ``crm serve`` and wait, bounded, until /healthz answers 200."""
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crm",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited {server.returncode}: {log.read_text()}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"status": "ok"}
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    _stop(server)
    raise AssertionError(f"server did not start: {log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def test_serve_prints_the_owner_key_once_and_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    port = _free_port()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    server = _serve(url, port, first_log)
    try:
        printed = first_log.read_text()
        found = re.search(
            r"Owner API key \(shown once, keep it safe\): (ak_[A-Za-z0-9_-]{40})", printed
        )
        assert found, printed
        key = found.group(1)
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers=bearer(key), timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["role"] == "owner"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=10).status_code == 401
        assert f"http://127.0.0.1:{port}" in printed
    finally:
        _stop(server)
    server = _serve(url, port, second_log)
    try:
        again = second_log.read_text()
        assert "ak_" not in again
        assert "Owner API key" not in again
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers=bearer(key), timeout=10)
        assert me.status_code == 200
    finally:
        _stop(server)


def test_apikey_for_another_user_acts_as_that_user(cli_url: str) -> None:
    made = new_workspace(cli_url, subdomain=unique())
    sub = made["workspace"]["subdomain"]
    crm_json(
        cli_url,
        "user",
        "create",
        "--workspace",
        sub,
        "--email",
        "rep@example.com",
        "--name",
        "Rep",
        "--role",
        "agent",
    )
    key = crm_json(
        cli_url,
        "apikey",
        "create",
        "--workspace",
        sub,
        "--role",
        "agent",
        "--user",
        "REP@example.com",
    )["api_key"]

    async def me(client: httpx.AsyncClient) -> dict[str, Any]:
        answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        return dict(answer.json())

    seen = over_http(cli_url, me)
    assert (seen["user"]["email"], seen["role"]) == ("rep@example.com", "agent")
    missing = crm(cli_url, "apikey", "create", "--workspace", sub, "--user", "nobody@example.com")
    assert missing.exit_code == 1
    assert "nobody@example.com" in missing.output
