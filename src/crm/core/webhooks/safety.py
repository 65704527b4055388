"""Which URLs a webhook may call: http or https, on a host whose every address is public
unless the operator allowed its network.

A URL is checked when a subscription is saved and again before each delivery, on the
addresses its host resolves to then; the caller connects to the address that was checked
(:class:`Target`), so that a name cannot resolve to one address for the check and to
another for the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from crm.settings import Network, Settings, networks

__all__ = ["Outbound", "Refused", "Target", "check", "check_url", "networks", "refusal"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL = 2048
SCHEMES = {"http": 80, "https": 443}
#: IPv6 prefixes that carry an IPv4 address the packets end up at (NAT64, RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Refused(Exception):
    """A URL or address a webhook may not call; the message says why."""


@dataclass(frozen=True)
class Outbound:
    """How webhooks call out: the networks allowed beside public addresses, and the
    seconds a connection and a whole request may take."""

    allowed: tuple[Network, ...] = ()
    connect_timeout: float = 3.0
    timeout: float = 10.0


def outbound(settings: Settings) -> Outbound:
    """How webhooks call out under the operator's settings."""
    return Outbound(
        networks(settings.webhook_allowed_networks),
        settings.webhook_connect_timeout,
        settings.webhook_timeout,
    )


class Target(NamedTuple):
    """A URL that passed the checks, and the address its host had then."""

    url: str
    scheme: str
    host: str
    port: int
    address: Address

    @property
    def host_header(self) -> str:
        """The ``Host`` header the URL asks for."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port == SCHEMES[self.scheme] else f"{shown}:{self.port}"


class Parts(NamedTuple):
    url: str
    scheme: str
    host: str
    port: int


def check_url(url: str) -> Parts:
    """The parts of a URL a webhook may be sent to; Refused saying what is wrong."""
    if not url or len(url) > MAX_URL:
        raise Refused(f"must be a URL of at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise Refused("must not hold spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refused("must be an http or https URL")
    if not parts.hostname:
        raise Refused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not hold a user name or password")
    if parts.fragment:
        raise Refused("must not have a fragment (#...)")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("must name a valid host") from None
    return Parts(url, scheme, host, port or SCHEMES[scheme])


def _embedded(address: Address) -> Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address: Address) -> str | None:
    """What makes ``address`` no public one, or None for a public address."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def refusal(address: Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why a webhook may not call ``address`` (None when it may): a non-public address is
    refused unless one of the ``allowed`` networks holds it. An IPv6 address that stands
    for an IPv4 one is judged by that one first."""
    if any(address in network for network in allowed):
        return None
    embedded = _embedded(address)
    for candidate in (embedded, address):
        kind = None if candidate is None else _kind(candidate)
        if kind is not None:
            shown = f"{address} (that is {embedded})" if candidate == embedded else str(address)
            article = "an" if kind[0] in "aeiou" else "a"
            return f"{shown} is {article} {kind} address, which webhooks may not call"
    return None


async def _resolve(host: str, port: int, within: float) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (TimeoutError, OSError):
        raise Refused(f"the host {host} does not resolve") from None
    addresses = {ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found}
    if not addresses:
        raise Refused(f"the host {host} does not resolve")
    return sorted(addresses, key=lambda a: (a.version, int(a)))


async def check(url: str, policy: Outbound) -> Target:
    """The URL checked, and the address to connect to: every address its host resolves
    to must be allowed. Refused saying why not."""
    parts = check_url(url)
    addresses = await _resolve(parts.host, parts.port, policy.connect_timeout)
    for address in addresses:
        reason = refusal(address, policy.allowed)
        if reason is not None:
            raise Refused(reason)
    return Target(parts.url, parts.scheme, parts.host, parts.port, addresses[0])
