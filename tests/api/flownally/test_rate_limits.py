"""Flownally refuses past the rate limits with 429 ``RESOURCE_EXHAUSTED`` and Retry-After."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.common.limits_support import refusals
from tests.api.flownally.conftest import FN, fl_error
from tests.conftest import Workspace


@pytest.mark.parametrize("store", ["memory", "database"])
async def test_429_in_the_flownally_shape(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    by_key, by_address = await refusals(engine, database_url, ws.key, f"{FN}/tags", store)
    fl_error(by_key, 429, "Too many requests with this API key; retry after 100 s")
    assert fl_error(by_address, 429)["message"].startswith("Too many failed authentications")
