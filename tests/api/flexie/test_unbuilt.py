"""Groups this server does not serve through Flexie yet answer Flexie's 404."""

from __future__ import annotations

import httpx
import pytest

from tests.api.flexie.conftest import FX, fx_error, key, new
from tests.conftest import Workspace


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/emails"),
        ("POST", "/emails/1/send"),
        ("GET", "/forms"),
        ("GET", "/pages/1"),
        ("POST", "/reports"),
    ],
)
async def test_not_served_yet(
    client: httpx.AsyncClient, ws: Workspace, method: str, path: str
) -> None:
    await new(client, ws, "contacts", {"first_name": "A"})
    fx_error(await client.request(method, FX + path, headers=key(ws)), 404)
