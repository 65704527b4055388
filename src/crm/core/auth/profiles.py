"""What a user's profile may hold: checked values of the fields a client sends."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any

from crm.core.errors import FieldError, ValidationFailed
from crm.core.metadata.fieldtypes import Email, FieldContext, FieldValueError
from crm.core.metadata.validation import check_label

#: Any characters but spaces and control characters; stored lower-cased.
USERNAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,100}$")
#: A language, and optionally a country: ``en``, ``en_US``, ``pt_BR``.
LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
MIN_PASSWORD, MAX_PASSWORD = 8, 200
#: The longest text of each optional profile field (an empty one clears it).
OPTIONAL_TEXT = {"first_name": 100, "last_name": 100, "position": 200}

#: Every field a client may set on a user, beside ``role`` and ``active``.
PROFILE_FIELDS = (
    "username",
    "email",
    "name",
    "first_name",
    "last_name",
    "position",
    "timezone",
    "locale",
    "password",
)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check(key: str, value: Any) -> tuple[Any, str | None]:
    """The stored value of one profile field, or the message saying why it cannot be."""
    if key == "email":
        try:
            return Email().parse(value, FieldContext("email", {})), None
        except FieldValueError as exc:
            return None, str(exc)
    if key == "username":
        ok = isinstance(value, str) and USERNAME.match(value) is not None
        message = "must be 1 to 100 characters without spaces"
        return (value.lower(), None) if ok else (None, message)
    if key == "name":
        unfit = check_label(value, "name")
        return (None, unfit[0].message) if unfit else (value.strip(), None)
    if key == "password":
        ok = isinstance(value, str) and MIN_PASSWORD <= len(value) <= MAX_PASSWORD
        return (
            (value, None) if ok else (None, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        )
    if value is None or value == "":
        return None, None
    if key in OPTIONAL_TEXT:
        most = OPTIONAL_TEXT[key]
        if isinstance(value, str) and len(value.strip()) <= most:
            return value.strip() or None, None
        return None, f"must be text of at most {most} characters"
    if key == "timezone":
        ok = isinstance(value, str) and value in _zones()
        return (value, None) if ok else (None, "must be an IANA time zone, such as Europe/Warsaw")
    assert key == "locale"
    ok = isinstance(value, str) and LOCALE.match(value) is not None
    return (value, None) if ok else (None, "must be a locale such as en or en_US")


def check_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """The stored values of the profile fields in ``spec`` (those of ``PROFILE_FIELDS``
    only); ValidationFailed naming every one that is unfit."""
    out: dict[str, Any] = {}
    errors = []
    for key, value in spec.items():
        stored, message = _check(key, value)
        if message is None:
            out[key] = stored
        else:
            errors.append(FieldError(key, message))
    if errors:
        raise ValidationFailed.of(errors)
    return out


def full_name(first_name: str | None, last_name: str | None) -> str | None:
    """``first last``, or whichever is given; None for neither."""
    return " ".join(n for n in (first_name, last_name) if n) or None


def default_username(email: str) -> str:
    """What a user is called when no username is given: the email's local part, at most 90
    characters, so that ``-2``, ``-3``, ... can make it unique."""
    local = re.sub(r"[\s\x00-\x1f\x7f]", "", email.rpartition("@")[0])
    return local[:90] or "user"


def free_username(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``, ... whichever ``taken`` lacks first."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
