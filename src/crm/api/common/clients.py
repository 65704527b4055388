"""Who is on the other end: the client's address and the API key a request presents."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import parse_qsl

from crm.settings import Network


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    if not trusted:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def client_address(scope: dict[str, Any], trusted: tuple[Network, ...]) -> str:
    """The address of the client, as the connection shows it or, when the connection comes
    from a trusted proxy, as ``X-Forwarded-For`` does.

    The header is read from the right: each trusted proxy appends the address it was
    called from, so the rightmost address that is not a trusted proxy is the client's, and
    whatever a client wrote into the header itself stays to its left, unheeded.
    """
    peer = scope["client"][0] if scope.get("client") else "unknown"
    forwarded = _header(scope, b"x-forwarded-for") if _trusted(peer, trusted) else None
    if not forwarded:
        return str(peer)
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else str(peer)


def bearer_token(header: str) -> str | None:
    """The key in an ``Authorization`` header's value ``Bearer ak_...``."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def presented_key(scope: dict[str, Any]) -> str | None:
    """The API key a request carries, in any face's transport: ``Authorization: Bearer``,
    an ``apikey`` header or an ``apikey`` query parameter."""
    token = bearer_token(_header(scope, b"authorization") or "")
    if token is not None:
        return token
    header = _header(scope, b"apikey")
    if header:
        return header.strip()
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
        if name == "apikey" and value:
            return str(value)
    return None
