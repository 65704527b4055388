"""Alembic environment: runs migrations through the async drivers of both databases."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from crm.db.engine import make_engine
from crm.db.schema import metadata
from crm.settings import default_database_url

#: Indexes the core creates at run time for fields (``rx_*``), the PostgreSQL-only trigram
#: and event stream indexes and SQLite's FTS5 trigram tables with their shadow tables,
#: which the shared metadata cannot describe; autogenerate leaves them alone.
_DIALECT_INDEXES = ("ix_records_search", "ix_records_values")


def _include_object(obj: object, name: str | None, type_: str, *_args: object) -> bool:
    if not name:
        return True
    if type_ == "table":
        return not name.startswith(("records_fts", "records_values_fts"))
    return not (
        type_ == "index"
        and (name.startswith(("rx_", "ix_events_stream")) or name in _DIALECT_INDEXES)
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or default_database_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


asyncio.run(_main())
