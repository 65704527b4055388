"""Record identity: time-ordered UUIDv7s and their Crockford base32 rendering.

A record has one integer id and one UUID; faces render whichever their clients expect.
The prefixed base32 form (``con_01HV8Y...``) is a pure function of the UUID's 128 bits.
"""

from __future__ import annotations

import os
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = (
    {c: i for i, c in enumerate(_CROCKFORD)}
    | {c.lower(): i for i, c in enumerate(_CROCKFORD)}
    | {"O": 0, "o": 0, "I": 1, "i": 1, "L": 1, "l": 1}
)


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def to_base32(value: uuid.UUID) -> str:
    """Encode 128 bits as 26 Crockford base32 characters (the ULID alphabet)."""
    n = value.int
    return "".join(_CROCKFORD[(n >> shift) & 31] for shift in range(125, -5, -5))


def from_base32(text: str) -> uuid.UUID:
    """Decode 26 Crockford base32 characters; raises ValueError on anything else."""
    if len(text) != 26:
        raise ValueError("expected 26 characters")
    n = 0
    for char in text:
        digit = _DECODE.get(char)
        if digit is None:
            raise ValueError(f"not a base32 character: {char!r}")
        n = (n << 5) | digit
    if n >> 128:
        raise ValueError("value exceeds 128 bits")
    return uuid.UUID(int=n)


def parse_uuid(text: str) -> uuid.UUID | None:
    """A UUID from its canonical text, or None when ``text`` is not one."""
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None


def parse_integer(ref: object) -> int | None:
    """An integer reference: an int, or ASCII digits within 64 bits; None for anything else."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and len(ref) < 19:
        return int(ref)
    return None
