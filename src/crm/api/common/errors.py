"""The HTTP status of each core error, shared by every face (each shapes its own body)."""

from __future__ import annotations

from crm.api.common.http import MalformedBody, UnsupportedMedia
from crm.core import errors as e
from crm.db.locks import is_busy

#: Seconds a client is asked to wait when the database was too busy to take its write.
BUSY_RETRY_AFTER = 1

STATUS: dict[type[e.CRMError], int] = {
    MalformedBody: 400,
    e.Unauthenticated: 401,
    e.PermissionDenied: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.PayloadTooLarge: 413,
    UnsupportedMedia: 415,
    e.ValidationFailed: 422,
    e.RateLimited: 429,
}


def status_of(exc: e.CRMError) -> int:
    """The status a core error answers with, by its nearest class in :data:`STATUS`."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def server_trouble(exc: Exception) -> tuple[int, dict[str, str], str]:
    """The status, headers and message of an unexpected error: 503 with ``Retry-After``
    when the database was too busy to take a write in time (SQLite's one write lock held
    past its wait), else 500."""
    if is_busy(exc):
        return (
            503,
            {"Retry-After": str(BUSY_RETRY_AFTER)},
            "The database is busy with other writes; try again shortly",
        )
    return 500, {}, "Something went wrong on our side"
