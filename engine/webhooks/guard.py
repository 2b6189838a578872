"""Which addresses a webhook may call (server-side request forgery).

Anyone who can set a webhook URL chooses where the gateway connects. By
default a webhook may only reach public addresses: a host that resolves to a
loopback, private, link-local (cloud metadata) or otherwise non-global
address is refused for good. A development setup with local receivers turns
``private_networks`` on. The check resolves the name just before the call,
so a name that changes between the check and the connection (DNS rebinding)
is not covered; an egress firewall is the complete answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time

_RESOLVED_FOR = 60.0
"""Seconds a host's verdict is reused."""
_REMEMBERED = 10_000


class AddressGuard:
    def __init__(self, private_networks: bool) -> None:
        self.private_networks = private_networks
        self._verdicts: dict[str, tuple[float, str | None]] = {}

    async def refusal(self, host: str) -> str | None:
        """Why ``host`` may not be called, or None. Raises OSError when the
        name does not resolve now (worth retrying)."""
        if self.private_networks:
            return None
        now = time.monotonic()
        known = self._verdicts.get(host)
        if known is not None and known[0] > now:
            return known[1]
        verdict = await _verdict(host)
        if len(self._verdicts) >= _REMEMBERED:
            self._verdicts.clear()
        self._verdicts[host] = (now + _RESOLVED_FOR, verdict)
        return verdict


async def _verdict(host: str) -> str | None:
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    for address in addresses:
        if not address.is_global:
            return f"{host} is a non-public address ({address}); see webhooks.private_networks"
    return None
