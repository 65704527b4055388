"""Rate limits per API key and per client address, the same on every face, in memory and
shared through the database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.common.limits_support import (
    assert_throttled,
    calling,
    limited_app,
    some_address,
)
from tests.conftest import Workspace, assert_error, bearer

RECORDS = "/api/v1/objects/contact/records"
STORES = ["memory", "database"]
WRONG = bearer("ak_not_a_key_at_all_but_long_enough_to_look_like_one")


@pytest.mark.parametrize("store", STORES)
async def test_a_key_past_its_burst_waits_for_its_rate(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    app = limited_app(engine, database_url, rate_limit=0.5, rate_burst=3, rate_limit_store=store)
    async with calling(app) as client:
        answers = [await client.get(RECORDS, headers=ws.auth) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert assert_throttled(answers[3]) == 2  # one token at 0.5 per second
    assert_error(answers[3], 429, "rate_limited")


@pytest.mark.parametrize("store", STORES)
async def test_one_keys_limit_leaves_other_keys_alone(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    other = await ws.add_key()
    app = limited_app(engine, database_url, rate_limit=0.01, rate_burst=2, rate_limit_store=store)
    async with calling(app) as client:
        mine = [(await client.get(RECORDS, headers=ws.auth)).status_code for _ in range(3)]
        theirs = [(await client.get(RECORDS, headers=bearer(other))).status_code for _ in range(2)]
    assert mine == [200, 200, 429]
    assert theirs == [200, 200]


@pytest.mark.parametrize("store", STORES)
async def test_failed_authentications_slow_down_their_address_only(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    app = limited_app(
        engine, database_url, auth_failures=3, auth_failure_window=600, rate_limit_store=store
    )
    guesser, neighbour = some_address(), some_address()
    async with calling(app, guesser) as client:
        ok_before = await client.get(RECORDS, headers=ws.auth)
        guesses = [await client.get(RECORDS, headers=WRONG) for _ in range(3)]
        refused_guess = await client.get(RECORDS, headers=WRONG)
        refused_even_valid = await client.get(RECORDS, headers=ws.auth)
    async with calling(app, neighbour) as client:
        elsewhere = await client.get(RECORDS, headers=ws.auth)
        its_own_failure = await client.get(RECORDS)
    assert ok_before.status_code == 200
    assert [g.status_code for g in guesses] == [401, 401, 401]
    assert assert_throttled(refused_guess) == 200  # a failure back every 200 s
    assert "failed authentications" in refused_guess.json()["error"]["message"]
    assert_throttled(refused_even_valid)
    assert elsewhere.status_code == 200
    assert its_own_failure.status_code == 401


@pytest.mark.parametrize("store", STORES)
async def test_valid_requests_do_not_count_as_failures(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    app = limited_app(
        engine, database_url, auth_failures=2, auth_failure_window=600, rate_limit_store=store
    )
    async with calling(app, some_address()) as client:
        answers = [await client.get(RECORDS, headers=ws.auth) for _ in range(10)]
        answers += [await client.get(RECORDS, headers=WRONG)]
        answers += [await client.get(RECORDS, headers=ws.auth)]
    assert [a.status_code for a in answers] == [200] * 10 + [401, 200]


async def test_limits_are_shared_by_servers_on_one_database(
    engine: AsyncEngine, database_url: str, ws: Workspace
) -> None:
    shared = {
        "rate_limit": 0.01,
        "rate_burst": 4,
        "auth_failures": 2,
        "rate_limit_store": "database",
    }
    one, two = (limited_app(engine, database_url, **shared) for _ in range(2))
    guesser = some_address()
    async with calling(one, guesser) as a, calling(two, guesser) as b:
        calls = [await c.get(RECORDS, headers=ws.auth) for c in (a, b, a, b, a, b)]
        guesses = [await c.get(RECORDS, headers=WRONG) for c in (a, b, a)]
    assert [c.status_code for c in calls] == [200, 200, 200, 200, 429, 429]
    assert [g.status_code for g in guesses] == [401, 401, 429]


async def test_servers_counting_in_memory_count_apart(
    engine: AsyncEngine, database_url: str, ws: Workspace
) -> None:
    alone = {"rate_limit": 0.01, "rate_burst": 2, "rate_limit_store": "memory"}
    one, two = (limited_app(engine, database_url, **alone) for _ in range(2))
    async with calling(one) as a, calling(two) as b:
        calls = [await c.get(RECORDS, headers=ws.auth) for c in (a, a, b, b, a)]
    assert [c.status_code for c in calls] == [200, 200, 200, 200, 429]


async def test_parallel_requests_take_exactly_the_burst(
    engine: AsyncEngine, database_url: str, ws: Workspace
) -> None:
    app = limited_app(
        engine, database_url, rate_limit=0.001, rate_burst=7, rate_limit_store="database"
    )
    async with calling(app) as client:
        answers = await asyncio.gather(*(client.get(RECORDS, headers=ws.auth) for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [429] * 13


@pytest.mark.parametrize("store", STORES)
async def test_limits_turned_off_never_refuse(
    engine: AsyncEngine, database_url: str, ws: Workspace, store: str
) -> None:
    app = limited_app(engine, database_url, rate_limit=0, auth_failures=0, rate_limit_store=store)
    async with calling(app, some_address()) as client:
        valid = [(await client.get(RECORDS, headers=ws.auth)).status_code for _ in range(30)]
        wrong = [(await client.get(RECORDS, headers=WRONG)).status_code for _ in range(30)]
    assert set(valid) == {200}
    assert set(wrong) == {401}


async def test_health_checks_are_never_limited(engine: AsyncEngine, database_url: str) -> None:
    app = limited_app(engine, database_url, auth_failures=1, auth_failure_window=600)
    async with calling(app, some_address()) as client:
        assert (await client.get(RECORDS)).status_code == 401
        assert_throttled(await client.get(RECORDS))
        assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("transport", "where"),
    [({"apikey": "ak_wrong"}, "header"), ({}, "query")],
)
async def test_every_key_transport_counts_per_key(
    engine: AsyncEngine, database_url: str, transport: dict[str, str], where: str
) -> None:
    app = limited_app(engine, database_url, rate_limit=0.01, rate_burst=1)
    url = RECORDS + ("?apikey=ak_wrong" if where == "query" else "")
    async with calling(app, some_address()) as client:
        first = await client.get(url, headers=transport)
        second = await client.get(url, headers=transport)
    assert first.status_code == 401
    assert_throttled(second)


async def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(
    engine: AsyncEngine, database_url: str
) -> None:
    # Outside 10.0.0.0/8, where some_address() may fall.
    limits = {"auth_failures": 1, "auth_failure_window": 600, "trusted_proxies": ("172.16.0.0/16",)}
    app = limited_app(engine, database_url, **limits)
    spoofer = some_address()
    async with calling(app, spoofer) as client:  # not a proxy: its header is not believed
        for fake in ("192.0.2.1", "192.0.2.2"):
            answer = await client.get(RECORDS, headers={"X-Forwarded-For": fake})
        assert_throttled(answer)
    async with calling(app, "172.16.0.7") as proxy:
        first = await proxy.get(RECORDS, headers={"X-Forwarded-For": "192.0.2.1, 172.16.0.8"})
        again = await proxy.get(RECORDS, headers={"X-Forwarded-For": "192.0.2.1"})
        other = await proxy.get(RECORDS, headers={"X-Forwarded-For": "6.6.6.6, 192.0.2.3"})
    assert first.status_code == 401
    assert_throttled(again)
    assert other.status_code == 401  # the client wrote 6.6.6.6; the proxy saw 192.0.2.3
