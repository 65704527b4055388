"""API key material and password hashing.

Keys are 240 random bits, so a fast SHA-256 digest is as safe to store as a slow hash and
keeps per-request authentication to one indexed lookup. Passwords are low-entropy and get
argon2id.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

KEY_PREFIX = "ak_"
_hasher = PasswordHasher()


def new_api_key() -> str:
    """A fresh key: ``ak_`` then 40 URL-safe characters."""
    return KEY_PREFIX + secrets.token_urlsafe(30)


def key_digest(key: str) -> bytes:
    """What is stored and looked up for a key."""
    return hashlib.sha256(key.encode()).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except VerificationError:
        return False
