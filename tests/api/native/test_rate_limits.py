"""The native API refuses past its rate limits with 429 ``rate_limited`` and Retry-After."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.common.limits_support import refusals
from tests.conftest import Workspace, assert_error


@pytest.mark.parametrize("store", ["memory", "database"])
async def test_429_in_the_native_shape(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    answers = await refusals(engine, database_url, ws.key, "/api/v1/objects", store)
    by_key, by_address = (assert_error(a, 429, "rate_limited") for a in answers)
    assert by_key["message"] == "Too many requests with this API key; retry after 100 s"
    assert by_address["message"].startswith("Too many failed authentications from your address")
    assert by_key["details"] == by_address["details"] == []
