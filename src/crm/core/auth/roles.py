"""The roles every workspace starts with."""

from __future__ import annotations

from typing import NamedTuple


class RoleSpec(NamedTuple):
    name: str
    permissions: tuple[str, ...]


SYSTEM_ROLES: dict[str, RoleSpec] = {
    "owner": RoleSpec("Owner", ("*:*:full", "admin:*:manage")),
    "admin": RoleSpec(
        "Administrator",
        (
            "*:*:full",
            "admin:objects:manage",
            "admin:fields:manage",
            "admin:users:manage",
            "admin:apikeys:manage",
            "admin:events:manage",
        ),
    ),
    "agent": RoleSpec(
        "Agent",
        ("*:*:viewown", "*:*:create", "*:*:editown", "*:*:deleteown", "admin:fields:manage"),
    ),
}
