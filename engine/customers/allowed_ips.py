"""Which addresses may log in as an account: its IP allow-list.

An account's ``allowed_ips`` lists addresses and CIDR networks; empty allows
any. The SMPP bind and the HTTP API (bearer key, Jasmin's username and
password) both ask `ip_allowed` once the credentials were right, so a stolen
password or key is of no use from elsewhere (docs/customers.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ENTRIES = 256
"""More than this is a mistake: a list that long belongs in a firewall."""


def check_allowed_ips(entries: Iterable[str]) -> tuple[str, ...]:
    """The entries in their canonical form ("10.0.0.0/8", "2001:db8::1/128"
    for a lone address); ValueError naming the first bad one. Host bits set
    under a prefix ("10.0.0.1/8") are refused: they are a typo, not a network."""
    checked: list[str] = []
    for entry in entries:
        text = entry.strip()
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not an IP address or CIDR network: {exc}") from None
        checked.append(str(network))
    if len(checked) > MAX_ENTRIES:
        raise ValueError(f"at most {MAX_ENTRIES} entries")
    return tuple(dict.fromkeys(checked))


@lru_cache(maxsize=1024)
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    """Parsed once per distinct list: an account's list is checked per request."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowed)


def ip_allowed(allowed: tuple[str, ...], address: str) -> bool:
    """Whether ``address`` (as the socket gave it) may log in under ``allowed``;
    an empty list allows any, an unparsable address none. An IPv4 client on a
    dual-stack socket ("::ffff:192.0.2.1") is tested as the IPv4 address."""
    if not allowed:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(allowed))
