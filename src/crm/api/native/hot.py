"""The native API's hot routes (see :mod:`crm.api.common.hot`)."""

from __future__ import annotations

from crm.api.common.hot import Answer, Hit, HotRoute, bearer_key
from crm.api.common.http import json_bytes
from crm.api.native import render
from crm.api.native.records import DEFAULT_LIMIT, page
from crm.core.records import point


async def get_record(hit: Hit) -> Answer | None:
    """``GET /api/v1/objects/{object}/records/{record}``, as ``records.get_record``."""
    found: point.Point[None] | None = await point.read_record(
        hit.direct, bearer_key(hit), hit.params["object"], hit.params["record"]
    )
    if found is None:
        return None
    return Answer(200, json_bytes(render.record(found.meta, found.record)))


async def list_records(hit: Hit) -> Answer | None:
    """``GET /api/v1/objects/{object}/records`` with no parameter but ``limit``: the first
    page in the default order, as ``records.list_records``."""
    name, _, value = hit.query.partition(b"=")
    if hit.query and (name != b"limit" or not value.isdigit() or len(value) > 3):
        return None
    limit = int(value) if hit.query else DEFAULT_LIMIT
    found = await point.first_page(hit.direct, bearer_key(hit), hit.params["object"], limit)
    if found is None:
        return None
    return Answer(200, json_bytes(page(found.meta, found.page)))


ROUTES = (
    HotRoute("GET", "/api/v1/objects/{object}/records/{record}", get_record),
    HotRoute("GET", "/api/v1/objects/{object}/records", list_records),
)
