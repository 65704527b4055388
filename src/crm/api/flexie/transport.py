"""How Flexie clients send their key (an ``apikey`` header, or ``?apikey=``; a client that
authorises as with OAuth sends it as ``Authorization: Bearer``) and their bodies."""

from __future__ import annotations

from pydantic import ConfigDict
from starlette.requests import Request

from crm.api.common.bodies import FaceBody
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


class FlexieBody(FaceBody):
    """A Flexie body of fixed attributes: each value of the JSON type its attribute says (a
    number is no text, ``"1"`` no number)."""

    model_config = ConfigDict(strict=True)
