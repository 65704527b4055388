"""How Flexie clients send their key: an ``apikey`` header, or ``?apikey=``; a client that
authorises as with OAuth sends it as ``Authorization: Bearer``."""

from __future__ import annotations

from starlette.requests import Request

from crm.api.common.http import bearer
from crm.api.common.transport import Transport


def apikey(request: Request) -> str | None:
    """The key of the ``apikey`` header, else of the ``apikey`` query parameter, else the
    bearer key."""
    return (
        (request.headers.get("apikey") or "").strip()
        or request.query_params.get("apikey")
        or bearer(request)
    )


APIKEY = Transport(key=apikey)
read = APIKEY.read
write = APIKEY.write
