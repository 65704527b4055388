"""Many clients at once against one thing: the end state must be exactly what the answers say.

The requests run concurrently through the app, each in its own transaction on its own
pooled connection, so on PostgreSQL they really overlap (SQLite serialises writers).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace

API = "/api/v1"
#: How many clients each test sends at once.
CLIENTS = 50


async def at_once(
    count: int, send: Callable[[int], Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """``count`` requests sent concurrently; ``send(i)`` makes the i-th."""
    return list(await asyncio.gather(*(send(i) for i in range(count))))


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


@pytest.fixture
async def auth(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """The owner key, used once already so that recording its use orders nothing."""
    assert (await client.get(f"{API}/me", headers=ws.auth)).status_code == 200
    return ws.auth


async def feed(client: httpx.AsyncClient, auth: dict[str, str], kind: str) -> list[dict[str, Any]]:
    """Every event of ``kind`` in the workspace's feed."""
    found: list[dict[str, Any]] = []
    after: Any = None
    while True:
        params = {"limit": 1000} | ({"after": after} if after is not None else {})
        answer = await client.get(f"{API}/events", params=params, headers=auth)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += [e for e in page["data"] if e["type"] == kind]
        if not page["data"]:
            return found
        after = page["next_after"]


def assert_one_after_another(events: list[dict[str, Any]], field: str) -> None:
    """Each change of ``field`` in ``events`` (feed order) starts from where the previous
    one left it: no writer changed the record from a state another writer had replaced."""
    chain = [e["changes"][field] for e in events if field in (e["changes"] or {})]
    assert chain, f"no change of {field}"
    for (_, left), (found, _) in itertools.pairwise(chain):
        assert found == left, chain
