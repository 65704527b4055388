"""The one source of 'now' for the core, so tests and events agree on UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current time, timezone-aware UTC, at microsecond precision."""
    return datetime.now(UTC)
