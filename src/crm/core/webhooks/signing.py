"""Secrets and signatures as Standard Webhooks 1.0 specifies them.

A secret is ``whsec_`` and the base64 of random bytes. A message is signed with
HMAC-SHA256 keyed by the decoded secret over ``"<webhook-id>.<webhook-timestamp>.<body>"``;
``webhook-signature`` holds ``v1,<base64 of the digest>``, one per secret in force,
separated by spaces, so that a receiver holding either of two secrets verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

__all__ = ["PREFIX", "SECRET_BYTES", "headers", "new_secret", "signature"]

PREFIX = "whsec_"
#: Random bytes of a secret (the specification asks for 24 to 64).
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of one message with one secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_force: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of a signed message: its id, its time (unix seconds) and a
    signature by each secret in force."""
    signed = " ".join(signature(s, message_id, timestamp, body) for s in secrets_in_force)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signed,
    }
