"""Leadflip refuses past the rate limits with 429 in its own shape, and Retry-After."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.common.limits_support import refusals
from tests.api.leadflip.conftest import LF, lf_error
from tests.conftest import Workspace


@pytest.mark.parametrize("store", ["memory", "database"])
async def test_429_in_the_leadflip_shape(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    by_key, by_address = await refusals(engine, database_url, ws.key, f"{LF}/entities", store)
    lf_error(by_key, 429, "Too many requests with this API key; retry after 100 s")
    assert lf_error(by_address, 429)["message"].startswith("Too many failed authentications")
