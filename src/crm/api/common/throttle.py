"""Rate limits, before any face sees a request (ADR 0006).

Two limits apply to every face alike. Each API key draws on a token bucket of its own, so
one integration cannot take the server from the others. Each client address draws on a
bucket for failed authentications: a request answered 401 takes a token, and an address
whose bucket is empty gets 429 for every request, whatever key it sends, until a token
returns, so keys cannot be guessed at speed. Requests with a valid key take nothing from
that bucket. A refused request answers 429 with ``Retry-After`` in its face's error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.api.common.clients import client_address, presented_key
from crm.api.common.http import send_early
from crm.core.auth.credentials import key_digest
from crm.core.ratelimits import Buckets, DatabaseBuckets, MemoryBuckets, Rate
from crm.core.ratelimits.buckets import retry_after
from crm.settings import Settings, networks

#: Paths that are never limited: a load balancer's health check must not be refused.
UNLIMITED = frozenset({"/healthz"})


class Throttle:
    """ASGI middleware applying the per-key and per-address limits of ``settings``.

    ``buckets`` is where they count; the server sets it once its engine exists when the
    limits are shared through the database.
    """

    def __init__(
        self, app: Any, settings: Settings, render: Callable[[str, int, str], bytes]
    ) -> None:
        self.app, self.render = app, render
        self.per_key = Rate(settings.rate_limit, settings.rate_burst)
        failures = settings.auth_failures
        self.per_address = Rate(
            failures / settings.auth_failure_window if failures else 0.0, failures
        )
        self.trusted = networks(settings.trusted_proxies)
        self.shared = settings.rate_limit_store == "database"
        self.buckets: Buckets = MemoryBuckets()

    def share(self, engine: Any) -> None:
        """Count in the database of ``engine`` when the settings say the limits are shared."""
        if self.shared:
            self.buckets = DatabaseBuckets(engine)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED:
            await self.app(scope, receive, send)
            return
        address = client_address(scope, self.trusted)
        if self.per_address.on:
            wait = await self.buckets.wait(f"auth:{address}", self.per_address)
            if wait:
                message = "Too many failed authentications from your address"
                await self._refuse(scope, send, wait, message)
                return
        key = presented_key(scope)
        if key is not None and self.per_key.on:
            wait = await self.buckets.take(f"key:{key_digest(key).hex()}", self.per_key)
            if wait:
                await self._refuse(scope, send, wait, "Too many requests with this API key")
                return
        status = 0

        async def watched(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watched)
        if status == 401 and self.per_address.on:
            await self.buckets.take(f"auth:{address}", self.per_address)

    async def _refuse(self, scope: Any, send: Any, wait: float, message: str) -> None:
        seconds = retry_after(wait)
        body = self.render(scope["path"], 429, f"{message}; retry after {seconds} s")
        await send_early(send, 429, body, ((b"retry-after", str(seconds).encode()),))
