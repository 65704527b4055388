"""The API keys this process has resolved, each trusted only at the auth version it was read at.

A workspace's ``auth_version`` is bumped by database triggers whenever one of its keys,
roles or users changes what a request may do (revoked, re-roled, re-scoped, deactivated,
deleted), however the change is made. A cached key is used while its workspace's version
is the one it was read at, so a change counts at once in every process.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from crm.core.auth.principal import Principal

#: A cached key's place: the database's identity and the key's digest.
Slot = tuple[str, bytes]


@dataclass
class KnownKey:
    """What resolving a key read, and the workspace's auth version it was read at."""

    workspace_id: int
    workspace_uuid: uuid.UUID
    user_id: int
    role_key: str
    permissions: frozenset[str]
    scopes: frozenset[str]
    key_id: int
    last_used_at: datetime | None
    auth_version: int

    def principal(self, metadata_version: int) -> Principal:
        return Principal(
            workspace_id=self.workspace_id,
            workspace_uuid=self.workspace_uuid,
            metadata_version=metadata_version,
            user_id=self.user_id,
            role_key=self.role_key,
            permissions=self.permissions,
            scopes=self.scopes,
            key_id=self.key_id,
        )


class KnownKeys:
    """At most ``size`` keys; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[Slot, KnownKey] = OrderedDict()

    def get(self, slot: Slot) -> KnownKey | None:
        known = self._keys.get(slot)
        if known is not None:
            self._keys.move_to_end(slot)
        return known

    def put(self, slot: Slot, known: KnownKey) -> None:
        self._keys[slot] = known
        self._keys.move_to_end(slot)
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)

    def drop(self, slot: Slot) -> None:
        self._keys.pop(slot, None)
