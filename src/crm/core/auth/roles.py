"""The roles every workspace starts with."""

from __future__ import annotations

SYSTEM_ROLES: dict[str, dict[str, object]] = {
    "owner": {"name": "Owner", "permissions": ["*:*:full", "admin:*:manage"]},
    "admin": {
        "name": "Administrator",
        "permissions": ["*:*:full", "admin:objects:manage", "admin:users:manage",
                        "admin:apikeys:manage", "admin:events:manage"],
    },
    "agent": {
        "name": "Agent",
        "permissions": ["*:*:viewown", "*:*:create", "*:*:editown", "*:*:deleteown"],
    },
}
