"""``crm``: serve, migrate, and create workspaces, users and API keys.

Every command takes ``--database-url`` (or ``CRM_DATABASE_URL``; default: ``crm.db`` in the
current directory) and applies pending migrations first.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
import typer
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import ALL_SCOPES
from crm.core.auth.service import create_api_key, create_user, user_id_by_email
from crm.core.errors import CRMError
from crm.core.workspaces.service import (
    count_workspaces,
    create_workspace,
    find_workspace,
    owner_user_id,
)
from crm.db.engine import BULK, async_url, make_engine, transaction
from crm.db.migrate import upgrade
from crm.settings import Settings, default_database_url

app = typer.Typer(
    help="A self-hostable, API-first CRM server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
workspace_app = typer.Typer(help="Workspaces.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CRM_DATABASE_URL",
        help="sqlite:///path/file.db or postgresql://user@host:port/db",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
T = TypeVar("T")


def _migrated(url: str | None) -> str:
    """The database URL to use, migrated to the latest schema; exit 1 if it is not usable."""
    database = url or default_database_url()
    try:
        async_url(database)
    except (ValueError, ArgumentError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    upgrade(database)
    return database


def _run(url: str | None, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` in one committed transaction; errors exit 1 with a message."""
    database = _migrated(url)

    async def main() -> T:
        engine = make_engine(database)
        try:
            async with transaction(engine, write=True) as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except CRMError as exc:
        details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in exc.details)
        typer.echo(f"error: {exc.message}" + (f" ({details})" if details else ""), err=True)
        raise typer.Exit(1) from None


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(data, default=str).decode() + "\n")
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes.")] = 1,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            envvar="CRM_RATE_LIMIT", help="Requests per second each API key may sustain; 0: off."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve HTTP. On an empty database, first create a workspace and print its owner key.

    With several processes the rate limits count in the database, so that they hold for
    the server as a whole (``CRM_RATE_LIMIT_STORE`` says otherwise).
    """
    import uvicorn

    from crm.api.protocol import HeaderDeadlineProtocol

    if rate_limit is not None:
        os.environ["CRM_RATE_LIMIT"] = str(rate_limit)
    if workers > 1:
        os.environ.setdefault("CRM_RATE_LIMIT_STORE", "database")
    try:
        Settings.from_env()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    database = _migrated(database_url)

    async def first_workspace(conn: AsyncConnection) -> dict[str, Any] | None:
        if await count_workspaces(conn):
            return None
        return await create_workspace(conn, name="My workspace")

    created = _run(database, first_workspace)
    if created is not None:
        typer.echo(
            f"Created workspace {created['workspace'].name!r} "
            f"({created['workspace'].uuid}).\n"
            f"Owner API key (shown once, keep it safe): {created['api_key']}\n"
            f"Try: curl -H 'Authorization: Bearer {created['api_key']}' "
            f"http://{host}:{port}/api/v1/objects"
        )
    typer.echo(f"Serving on http://{host}:{port} (docs at http://{host}:{port}/docs)")
    os.environ["CRM_DATABASE_URL"] = database
    uvicorn.run(
        "crm.api.app:create_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        http=HeaderDeadlineProtocol,
        # The client's address comes from the connection, or from X-Forwarded-For only when
        # CRM_TRUSTED_PROXIES names the proxy (crm.api.common.clients); never from uvicorn.
        proxy_headers=False,
    )


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Do the work waiting now, then exit.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Do background work (CSV imports, task reminders, webhooks) until stopped; run as many as
    you like."""
    import signal

    from crm.worker.loop import drain, run

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    database = _migrated(database_url)

    async def main() -> None:
        engine = make_engine(database, pool_size=4, caches=BULK)
        try:
            if once:
                typer.echo(f"Done {await drain(engine, settings=settings)} jobs.")
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            typer.echo("Working; stop with Ctrl-C.")
            await run(engine, stop, settings=settings)
        finally:
            await engine.dispose()

    asyncio.run(main())


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Apply pending database migrations."""
    _migrated(database_url)
    typer.echo("Database is up to date.")


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Option(help="The workspace's name.")],
    subdomain: Annotated[str | None, typer.Option(help="Unique subdomain.")] = None,
    owner_email: Annotated[str, typer.Option(help="The owner user's email.")] = "owner@example.com",
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a workspace with an owner and an owner API key (every scope)."""

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        made = await create_workspace(conn, name=name, subdomain=subdomain, owner_email=owner_email)
        ws = made["workspace"]
        return {
            "workspace": {"id": str(ws.uuid), "name": ws.name, "subdomain": ws.subdomain},
            "owner": {"id": str(made["owner"]["uuid"]), "email": made["owner"]["email"]},
            "api_key": made["api_key"],
        }

    _print(_run(database_url, work), as_json)


@apikey_app.command("create")
def apikey_create(
    workspace: Annotated[str, typer.Option(help="Workspace id or subdomain.")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope; repeat for more.")] = None,
    role: Annotated[str, typer.Option(help="owner, admin, agent or a custom role.")] = "owner",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "API key",
    user: Annotated[
        str | None, typer.Option(help="Email of the user the key acts for (default: the owner).")
    ] = None,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue an API key (every scope by default) acting for a user, by default the owner."""

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        ws = await find_workspace(conn, workspace)
        acting = (
            await user_id_by_email(conn, ws.id, user) if user else await owner_user_id(conn, ws.id)
        )
        key = await create_api_key(
            conn,
            ws.id,
            user_id=acting,
            role=role,
            scopes=scope or [ALL_SCOPES],
            name=name,
        )
        return {
            "api_key": key["api_key"],
            "id": str(key["id"]),
            "scopes": key["scopes"],
            "role": key["role"],
        }

    _print(_run(database_url, work), as_json)


@user_app.command("create")
def user_create(
    workspace: Annotated[str, typer.Option(help="Workspace id or subdomain.")],
    email: Annotated[str, typer.Option(help="The user's email.")],
    name: Annotated[str, typer.Option(help="The user's name.")],
    role: Annotated[str, typer.Option(help="owner, admin, agent or a custom role.")] = "agent",
    password: Annotated[str | None, typer.Option(help="Optional password.")] = None,
    as_json: Json = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user to a workspace."""

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        ws = await find_workspace(conn, workspace)
        user = await create_user(conn, ws.id, email=email, name=name, role=role, password=password)
        return {
            "user": {
                "id": str(user["uuid"]),
                "email": user["email"],
                "role": user["role"],
                "name": user["name"],
            }
        }

    _print(_run(database_url, work), as_json)
