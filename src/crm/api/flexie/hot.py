"""The Flexie face's hot routes (see :mod:`crm.api.common.hot`): a record by its id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from crm.api.common.hot import Answer, Hit, HotRoute, bearer_key
from crm.api.common.http import json_bytes
from crm.api.flexie.entities import STANDARD, Kind
from crm.api.flexie.records import number
from crm.api.flexie.render import records, relation_values
from crm.core.errors import CRMError
from crm.core.records import point


def _key(hit: Hit) -> str | None:
    """The ``apikey`` header, else the bearer key; a key in the query string takes the full
    path."""
    return hit.headers.get(b"apikey", b"").decode("latin-1").strip() or bearer_key(hit)


def _get(kind: Kind) -> Callable[[Hit], Awaitable[Answer | None]]:
    assert kind.object is not None
    object_key = kind.object

    async def get(hit: Hit) -> Answer | None:
        """``GET /flexie/api/<records>/{id}`` as the records router answers it, for a record
        that names no other record (those take the full path, which numbers them)."""
        try:
            ref = number(hit.params["id"])
        except CRMError:
            return None
        found: point.Point[None] | None = await point.read_numbered(
            hit.direct, _key(hit), object_key, int(ref)
        )
        if found is None or relation_values([found.record]):
            return None
        (shown,) = records(found.meta, [found.record], {})
        return Answer(200, json_bytes({kind.one: shown}))

    return get


ROUTES = tuple(
    HotRoute("GET", f"/flexie/api/{path}/{{id}}", _get(kind)) for path, kind in STANDARD.items()
)
