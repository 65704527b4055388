"""What webhooks may call: http and https URLs whose host has only public addresses,
unless the operator allowed the network."""

from __future__ import annotations

import ipaddress

import pytest

from crm.core.webhooks.safety import Outbound, Refused, check, check_url, refusal
from crm.settings import networks


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_addresses_that_are_not_public_are_refused_saying_what_they_are(
    address: str, kind: str
) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert f" {kind} address" in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"])
def test_public_addresses_may_be_called(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_operator_allows_networks() -> None:
    allowed = networks(["127.0.0.0/8", " ::1 ", "10.0.0.0/8"])
    assert refusal(ipaddress.ip_address("127.3.2.1"), allowed) is None
    assert refusal(ipaddress.ip_address("::1"), allowed) is None
    assert refusal(ipaddress.ip_address("192.168.0.1"), allowed) is not None
    with pytest.raises(ValueError, match="not an address or network: 'nope'"):
        networks(["nope"])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/", "http or https"),
        ("example.com/hook", "http or https"),
        ("http:///hook", "must name a host"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com:99999/", "is not a URL"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/" + "a" * 2048, "at most 2048"),
        ("", "at most 2048"),
    ],
)
def test_urls_a_webhook_cannot_be_sent_to_are_refused(url: str, says: str) -> None:
    with pytest.raises(Refused, match=says):
        check_url(url)


def test_a_url_keeps_its_port_and_names_its_host_for_the_host_header() -> None:
    assert check_url("HTTPS://Example.COM/a?b=1").host == "example.com"
    assert check_url("http://example.com/").port == 80
    assert check_url("https://example.com:8443/").port == 8443


async def test_every_address_of_the_host_is_checked_and_the_first_is_pinned() -> None:
    with pytest.raises(Refused, match="loopback"):
        await check("http://localhost:9/hook", Outbound())
    target = await check("http://localhost:9/hook", Outbound(networks(["127.0.0.0/8", "::1"])))
    assert target.address.is_loopback
    assert target.host_header == "localhost:9"
    literal = await check("https://[::1]/x", Outbound(networks(["::1"])))
    assert (literal.host_header, literal.port) == ("[::1]", 443)
    with pytest.raises(Refused, match="does not resolve"):
        await check("http://nothing.invalid/", Outbound())
