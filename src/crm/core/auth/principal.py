"""Who is asking, and what they may do: resolved once per request, checked in the core.

Two independent gates apply to every call. **Scopes** limit what an API key may be used
for (``contact:read``, ``custom_field:create``, or the coarse ``read:crm``/``write:crm``).
**Role permissions** of the form ``bundle:entity:action`` limit what the acting user may
do to records (``lead:leads:viewown``, ``deal:deals:full``) and to the workspace
(``admin:objects:manage``). ``*`` is a wildcard in either.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from crm.core.errors import PermissionDenied

READ_ACTIONS = frozenset({"list", "read"})
WRITE_ACTIONS = frozenset({"create", "update", "delete"})
ALL_SCOPES = "*"

RECORD_ACTIONS = (
    "viewown",
    "viewother",
    "create",
    "editown",
    "editother",
    "deleteown",
    "deleteother",
    "full",
)
PERMISSION = re.compile(
    r"^([a-z*][a-z0-9_]*|\*):([a-z*][a-z0-9_]*|\*):(" + "|".join(RECORD_ACTIONS) + r"|manage)$"
)
SCOPE = re.compile(r"^(\*|read:crm|write:crm|[a-z][a-z0-9_]*:(\*|list|read|create|update|delete))$")


def granted(permissions: Iterable[str], bundle: str, entity: str | None, action: str) -> bool:
    """Whether a role holding ``permissions`` may ``action`` on ``bundle:entity`` (any
    entity of the bundle when ``entity`` is None); ``full`` covers every record action."""
    for perm in permissions:
        p_bundle, p_entity, p_action = perm.split(":")
        if p_bundle not in ("*", bundle):
            continue
        if entity is not None and p_entity not in ("*", entity):
            continue
        if p_action == action or (p_action == "full" and action != "manage"):
            return True
    return False


def covers(permissions: Iterable[str], permission: str) -> bool:
    """Whether a role holding ``permissions`` holds the well-formed ``permission``."""
    bundle, entity, action = permission.split(":")
    return granted(permissions, bundle, entity, action)


class Reach(StrEnum):
    """How far a record permission reaches."""

    NONE = "none"
    OWN = "own"
    ALL = "all"


@dataclass(frozen=True)
class Via:
    """A workflow run acting as its principal, ``depth`` runs deep: a run its own change
    triggered is one deeper, and runs too deep are cut."""

    run: uuid.UUID
    depth: int


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a user acting directly or through one of its API keys,
    or a workflow run acting for the user who made the workflow (``via``)."""

    workspace_id: int
    workspace_uuid: uuid.UUID
    metadata_version: int
    user_id: int
    role_key: str
    permissions: frozenset[str]
    scopes: frozenset[str]
    key_id: int | None = None
    via: Via | None = None

    def has_scope(self, resource: str, action: str) -> bool:
        s = self.scopes
        if ALL_SCOPES in s or f"{resource}:{action}" in s or f"{resource}:*" in s:
            return True
        if action in READ_ACTIONS and ("read:crm" in s or "write:crm" in s):
            return True
        return action in WRITE_ACTIONS and "write:crm" in s

    def require_scope(self, resource: str, action: str) -> None:
        """Raise PermissionDenied unless the key was granted this scope."""
        if not self.has_scope(resource, action):
            raise PermissionDenied(f"This key lacks the scope {resource}:{action}")

    def _granted(self, bundle: str, entity: str | None, action: str) -> bool:
        return granted(self.permissions, bundle, entity, action)

    def reach(self, object_key: str, verb: str) -> Reach:
        """How far the role lets this caller ``view``, ``edit`` or ``delete`` records."""
        if self._granted(object_key, None, f"{verb}other"):
            return Reach.ALL
        if self._granted(object_key, None, f"{verb}own"):
            return Reach.OWN
        return Reach.NONE

    def may_edit_all(self, owned: Iterable[tuple[str, int | None]]) -> bool:
        """Whether the role may edit every record of these ``(object key, owner id)``."""
        for object_key, owner_id in owned:
            reach = self.reach(object_key, "edit")
            if reach == Reach.NONE or (reach == Reach.OWN and owner_id != self.user_id):
                return False
        return True

    def may_create(self, object_key: str) -> bool:
        return self._granted(object_key, None, "create")

    def holds_scope(self, scope: str) -> bool:
        """Whether this key's scopes cover ``scope``, so that it may grant it to another key."""
        if ALL_SCOPES in self.scopes or scope in self.scopes:
            return True
        if scope == "read:crm":
            return "write:crm" in self.scopes
        resource, _, action = scope.partition(":")
        if action == "*":
            return f"{resource}:*" in self.scopes
        return action in READ_ACTIONS | WRITE_ACTIONS and self.has_scope(resource, action)

    def holds_permission(self, permission: str) -> bool:
        """Whether this caller's role covers ``permission``, so that it may grant it."""
        return covers(self.permissions, permission)

    def manages(self, entity: str) -> bool:
        """Whether the role may manage ``entity`` (objects, users, apikeys, events, ...)."""
        return self._granted("admin", entity, "manage")

    def require_admin(self, entity: str) -> None:
        """Raise PermissionDenied unless the role may manage ``entity``."""
        if not self.manages(entity):
            raise PermissionDenied(f"Your role may not manage {entity}")
