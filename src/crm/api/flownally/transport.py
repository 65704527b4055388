"""How Flownally clients talk: bearer keys and JSON object bodies."""

from __future__ import annotations

from crm.api.common.transport import Transport, json_object

BEARER = Transport()
read = BEARER.read
write = BEARER.write
object_body = json_object

__all__ = ["object_body", "read", "write"]
