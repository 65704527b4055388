"""Server settings, from CLI options or ``CRM_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_FILE = "crm.db"


def default_database_url() -> str:
    """``CRM_DATABASE_URL``, else an SQLite file in the current directory."""
    return os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    #: Largest request body accepted, in bytes (``CRM_MAX_BODY_BYTES``); larger gets 413.
    max_body_bytes: int = 10 * 1024 * 1024
    #: Connections each server process keeps to PostgreSQL (``CRM_DB_POOL_SIZE``).
    db_pool_size: int = 10
    #: Largest CSV file an import accepts, in bytes (``CRM_MAX_IMPORT_BYTES``); larger gets 413.
    max_import_bytes: int = 1024 * 1024 * 1024
    #: Whether the server process also runs a worker (``CRM_INLINE_WORKER``, default on); turn
    #: it off when separate ``crm worker`` processes do the background work.
    inline_worker: bool = True

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url or default_database_url(),
            max_body_bytes=int(os.environ.get("CRM_MAX_BODY_BYTES", 10 * 1024 * 1024)),
            db_pool_size=int(os.environ.get("CRM_DB_POOL_SIZE", 10)),
            max_import_bytes=int(os.environ.get("CRM_MAX_IMPORT_BYTES", 1024 * 1024 * 1024)),
            inline_worker=os.environ.get("CRM_INLINE_WORKER", "1").lower()
            not in ("0", "false", "no", "off"),
        )
