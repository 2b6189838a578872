"""Which addresses a webhook may call (server-side request forgery).

Anyone who can set a webhook URL chooses where the gateway connects. By
default a webhook may only reach public addresses: a host that resolves to a
loopback, private, link-local (cloud metadata, 169.254.169.254) or otherwise
non-global address is refused for good. Networks an operator names in
``allowed_networks`` are let through; a development setup with local
receivers turns ``private_networks`` on.

One check serves two places: the API edge (`AddressGuard.check_url`, when a
URL is set or a message names one) and the moment a connection is opened
(`AddressGuard.resolve`): the connection goes to one of the very addresses
that were checked, never to a name resolved again, so a name that changes
between the check and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from engine.webhooks.requests import check_webhook_url

_RESOLVED_FOR = 60.0
"""Seconds a host's verdict is reused."""
_REMEMBERED = 10_000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(texts: Sequence[str]) -> tuple[Network, ...]:
    """``["10.20.0.0/16", "fd00::/8", "192.0.2.7"]`` as networks; ValueError names a bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP network (like 10.20.0.0/16)") from None
    return tuple(networks)


class AddressGuard:
    def __init__(
        self,
        private_networks: bool,
        allowed_networks: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.private_networks = private_networks
        self.allowed = parse_networks(allowed_networks)
        self._clock = clock
        self._verdicts: dict[str, tuple[float, str | None, tuple[str, ...]]] = {}

    async def check_url(self, url: str) -> str:
        """The URL if a webhook may be sent to it, else ValueError saying why:
        its shape, then the addresses its host resolves to. A name that does
        not resolve now passes (DNS may be down a moment; the send-time check
        decides, and retries), so a message is not refused for it."""
        checked = check_webhook_url(url)
        try:
            refusal = await self.refusal(urlsplit(checked).hostname or "")
        except OSError:
            return checked
        if refusal is not None:
            raise ValueError(refusal)
        return checked

    async def refusal(self, host: str) -> str | None:
        """Why ``host`` may not be called, or None. Raises OSError when the
        name does not resolve now (worth retrying)."""
        return (await self.resolve(host))[0]

    async def resolve(self, host: str) -> tuple[str | None, tuple[str, ...]]:
        """Why ``host`` may not be called (or None), and the checked addresses
        to connect to; none when any address may be called (``private_networks``),
        so the name is resolved by the connection. Raises OSError when the name
        does not resolve now (worth retrying)."""
        if self.private_networks:
            return None, ()
        now = self._clock()
        known = self._verdicts.get(host)
        if known is not None and known[0] > now:
            return known[1], known[2]
        verdict, addresses = await self._verdict(host)
        if len(self._verdicts) >= _REMEMBERED:
            self._verdicts.clear()
        self._verdicts[host] = (now + _RESOLVED_FOR, verdict, addresses)
        return verdict, addresses

    async def _verdict(self, host: str) -> tuple[str | None, tuple[str, ...]]:
        try:
            addresses = await _addresses(host)
        except UnicodeError:  # an empty or over-long label: no DNS name at all
            return f"{host!r} is not a valid host name", ()
        for address in addresses:
            if not self._allowed(address):
                return (
                    f"{host} is a non-public address ({address}); "
                    "see webhooks.allowed_networks and webhooks.private_networks"
                ), ()
        return None, tuple(dict.fromkeys(str(address) for address in addresses))

    def _allowed(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast


async def _addresses(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
