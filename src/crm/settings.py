"""Server settings, from CLI options or ``CRM_*`` environment variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_FILE = "crm.db"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Rate limit stores: ``memory`` for one server process, ``database`` for several.
RATE_LIMIT_STORES = ("memory", "database")


def networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """Networks written ``10.0.0.0/8`` or an address alone (blanks skipped); ValueError
    naming a bad one."""
    out = []
    for text in texts:
        if not text.strip():
            continue
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {text!r}") from None
    return tuple(out)


def default_database_url() -> str:
    """``CRM_DATABASE_URL``, else an SQLite file in the current directory."""
    return os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).lower() not in ("0", "false", "no", "off")


def _words(name: str) -> tuple[str, ...]:
    return tuple(w for w in os.environ.get(name, "").replace(",", " ").split() if w)


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
    #: Answer the most frequent reads in front of the framework (``CRM_HOT_PATHS``, on by
    #: default); off, every request takes the full path, with the same answers.
    hot_paths: bool = True
    #: Requests per second each API key may sustain (``CRM_RATE_LIMIT``); 0 turns it off.
    rate_limit: float = 100.0
    #: Requests a key may send at once above that rate (``CRM_RATE_BURST``).
    rate_burst: int = 1000
    #: Failed authentications one client address may make in a row (``CRM_AUTH_FAILURES``)
    #: before it is refused with 429; 0 turns it off.
    auth_failures: int = 10
    #: Seconds in which an address regains all of them (``CRM_AUTH_FAILURE_WINDOW``).
    auth_failure_window: float = 60.0
    #: Where the limits count (``CRM_RATE_LIMIT_STORE``): ``memory`` for one process,
    #: ``database`` when several share them (``crm serve --workers N`` picks it for N > 1).
    rate_limit_store: str = "memory"
    #: Addresses or networks of reverse proxies whose ``X-Forwarded-For`` names the client
    #: (``CRM_TRUSTED_PROXIES``); none by default, so the header is never believed.
    trusted_proxies: tuple[str, ...] = ()
    #: Seconds a connection has to send a request's headers (``CRM_HEADER_TIMEOUT``).
    header_timeout: float = 10.0
    #: Networks webhooks may call beside public addresses (``CRM_WEBHOOK_ALLOWED_NETWORKS``,
    #: such as ``127.0.0.0/8,::1/128``); none by default.
    webhook_allowed_networks: tuple[str, ...] = ()
    #: Seconds a webhook may take to connect (``CRM_WEBHOOK_CONNECT_TIMEOUT``) and to be
    #: answered in all (``CRM_WEBHOOK_TIMEOUT``).
    webhook_connect_timeout: float = 3.0
    webhook_timeout: float = 10.0
    #: Subscriptions each worker delivers to at once (``CRM_WEBHOOK_CONCURRENCY``).
    webhook_concurrency: int = 8

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ.get
        store = env("CRM_RATE_LIMIT_STORE", "memory").lower()
        if store not in RATE_LIMIT_STORES:
            raise ValueError(f"CRM_RATE_LIMIT_STORE must be one of {', '.join(RATE_LIMIT_STORES)}")
        allowed = _words("CRM_WEBHOOK_ALLOWED_NETWORKS")
        try:
            networks(allowed)
        except ValueError as exc:
            raise ValueError(f"CRM_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
        return cls(
            database_url=database_url or default_database_url(),
            max_body_bytes=int(env("CRM_MAX_BODY_BYTES", 10 * 1024 * 1024)),
            db_pool_size=int(env("CRM_DB_POOL_SIZE", 10)),
            max_import_bytes=int(env("CRM_MAX_IMPORT_BYTES", 1024 * 1024 * 1024)),
            inline_worker=_flag("CRM_INLINE_WORKER", "1"),
            hot_paths=_flag("CRM_HOT_PATHS", "1"),
            rate_limit=float(env("CRM_RATE_LIMIT", cls.rate_limit)),
            rate_burst=int(env("CRM_RATE_BURST", cls.rate_burst)),
            auth_failures=int(env("CRM_AUTH_FAILURES", cls.auth_failures)),
            auth_failure_window=float(env("CRM_AUTH_FAILURE_WINDOW", cls.auth_failure_window)),
            rate_limit_store=store,
            trusted_proxies=_words("CRM_TRUSTED_PROXIES"),
            header_timeout=float(env("CRM_HEADER_TIMEOUT", cls.header_timeout)),
            webhook_allowed_networks=allowed,
            webhook_connect_timeout=float(
                env("CRM_WEBHOOK_CONNECT_TIMEOUT", cls.webhook_connect_timeout)
            ),
            webhook_timeout=float(env("CRM_WEBHOOK_TIMEOUT", cls.webhook_timeout)),
            webhook_concurrency=max(1, int(env("CRM_WEBHOOK_CONCURRENCY", 8))),
        )
