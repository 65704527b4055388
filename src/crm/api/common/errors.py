"""The HTTP status of each core error, shared by every face (each shapes its own body)."""

from __future__ import annotations

from crm.api.common.http import MalformedBody, UnsupportedMedia
from crm.core import errors as e

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
