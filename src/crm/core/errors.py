"""Typed errors of the core. Each face maps them to its own status codes and bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CRMError",
    "Conflict",
    "FieldError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "Unauthenticated",
    "ValidationFailed",
]


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class CRMError(Exception):
    """Base of every error the core raises; ``code`` is stable and documented."""

    message: str
    details: list[dict[str, Any]] = field(default_factory=list)
    code: str = "error"

    def __str__(self) -> str:
        return self.message


@dataclass
class NotFound(CRMError):
    code: str = "not_found"


@dataclass
class Conflict(CRMError):
    code: str = "conflict"


@dataclass
class PermissionDenied(CRMError):
    code: str = "permission_denied"


@dataclass
class Unauthenticated(CRMError):
    code: str = "unauthenticated"


@dataclass
class RateLimited(CRMError):
    code: str = "rate_limited"


@dataclass
class PayloadTooLarge(CRMError):
    code: str = "payload_too_large"


@dataclass
class ValidationFailed(CRMError):
    code: str = "validation_failed"

    @classmethod
    def of(cls, errors: list[FieldError], message: str = "Validation failed") -> ValidationFailed:
        """Build from per-field errors; each becomes one detail."""
        return cls(message, [e.as_dict() for e in errors])

    @property
    def field_errors(self) -> list[FieldError]:
        return [
            FieldError(d["field"], d["message"], d.get("code", "invalid")) for d in self.details
        ]
