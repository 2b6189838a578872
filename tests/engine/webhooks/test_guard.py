"""Which webhook URLs and hosts are refused: one check for the API edge and
for the moment of sending."""

from __future__ import annotations

import pytest

from engine.webhooks import WebhookLimits
from engine.webhooks.guard import AddressGuard, parse_networks

REFUSED_HOSTS = [
    "127.0.0.1",
    "10.1.2.3",
    "192.168.0.1",
    "169.254.169.254",  # cloud metadata (link-local)
    "0.0.0.0",
    "::1",
    "fe80::1%eth0",
    "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
    "::ffff:127.0.0.1",
    "2130706433",  # 127.0.0.1 written as one number, as resolvers accept it
    "0x7f.1",
    "224.0.0.1",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
async def test_non_public_hosts_are_refused(host: str) -> None:
    refusal = await AddressGuard(private_networks=False).refusal(host)
    assert refusal is not None and "non-public" in refusal


async def test_public_and_allowed_hosts_pass() -> None:
    guard = AddressGuard(private_networks=False, allowed_networks=("10.20.0.0/16", "::1"))
    assert await guard.refusal("93.184.215.14") is None
    assert await guard.refusal("10.20.3.4") is None
    assert await guard.refusal("::1") is None
    assert await guard.refusal("10.21.0.1") is not None


async def test_a_host_that_is_no_dns_name_is_refused() -> None:
    assert await AddressGuard(private_networks=False).refusal("a..b") is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a b",
        "http://example.com/\r\nHost: evil",
        "http://example.com/\t",
        "gopher://example.com/",
        "http:///nohost",
        "http://127.0.0.1/",
        "https://[::1]:8443/",
    ],
)
async def test_bad_urls_are_refused_at_the_edge(url: str) -> None:
    with pytest.raises(ValueError):
        await AddressGuard(private_networks=False).check_url(url)


async def test_a_name_that_does_not_resolve_now_passes_the_edge() -> None:
    """DNS may be down a moment; the send-time check decides (and retries)."""
    url = "https://hooks.example.invalid/x"
    assert await AddressGuard(private_networks=False).check_url(url) == url


async def test_development_lets_everything_through() -> None:
    url = "http://127.0.0.1:8080/hook"
    assert await AddressGuard(private_networks=True).check_url(url) == url


def test_allowed_networks_are_checked_at_load() -> None:
    assert [str(n) for n in parse_networks(["10.0.0.0/8", "192.0.2.7"])] == [
        "10.0.0.0/8",
        "192.0.2.7/32",
    ]
    with pytest.raises(ValueError, match="not an IP network"):
        WebhookLimits(allowed_networks=("10.0.0.0/33",))
