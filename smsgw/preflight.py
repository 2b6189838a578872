"""Before `smsgw serve` starts anything: can it listen where the config says?

A port another process holds is found here, while nothing runs yet, so the
shard never half-starts (an SMPP listener answering binds while the HTTP
front could not start). Every listener is bound and listening at once, then
all are released, so two of our own listeners on one port are found too. The
real listeners bind moments later; a port lost in between is still reported
in one line (`listen_error`) and what had started is closed.
"""

from __future__ import annotations

import errno
import socket
import ssl
from contextlib import ExitStack
from dataclasses import dataclass

from engine.config import GatewayConfig


class StartupError(Exception):
    """One line for the operator: what failed and how to fix it."""


@dataclass(frozen=True)
class Endpoint:
    """Where one listener of the shard listens, and which setting says so."""

    what: str
    setting: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port} ({self.what}, {self.setting})"


_FIXES = {
    errno.EADDRINUSE: "address already in use — stop the other process or change the port",
    errno.EACCES: "permission denied — use a port above 1023 or grant CAP_NET_BIND_SERVICE",
    errno.EADDRNOTAVAIL: "no such address on this host — change the host",
}


def endpoints(config: GatewayConfig) -> list[Endpoint]:
    """Every listener the config asks for (port 0, an ephemeral SMPP port, cannot clash)."""
    found = [
        Endpoint("SMPP", f"listeners[{i}].port", listener.host, listener.port)
        for i, listener in enumerate(config.listeners)
        if listener.port
    ]
    if config.api.port:
        found.append(Endpoint("HTTP", "[api] port", config.api.host, config.api.port))
    if config.metrics_port:
        found.append(Endpoint("metrics", "metrics_port", config.metrics_host, config.metrics_port))
    return found


def listen_error(endpoint: Endpoint | str, exc: OSError) -> StartupError:
    if isinstance(exc, socket.gaierror):
        why = f"unknown host ({exc.strerror}) — change the host"
    else:
        why = _FIXES.get(exc.errno or 0, f"{exc.strerror or exc} — change the host or port")
    return StartupError(f"cannot listen on {endpoint}: {why}")


def check_listeners(config: GatewayConfig) -> None:
    """Raises `StartupError` for the first listener that cannot listen, or
    for an SMPP listener's TLS certificate that cannot be loaded."""
    for i, listener in enumerate(config.listeners):
        if listener.tls_cert:
            try:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(listener.tls_cert, listener.tls_key or None)
            except (OSError, ssl.SSLError) as exc:
                raise StartupError(
                    f"cannot load the TLS certificate of listeners[{i}]: {exc} — "
                    "fix tls_cert and tls_key"
                ) from None
    with ExitStack() as held:
        for endpoint in endpoints(config):
            try:
                for probe in _bind(endpoint.host, endpoint.port):
                    held.enter_context(probe)
            except OSError as exc:
                raise listen_error(endpoint, exc) from None


def _bind(host: str, port: int) -> list[socket.socket]:
    """Sockets listening on every address of ``host``, as asyncio's
    ``create_server`` would bind them (SO_REUSEADDR: a port in TIME_WAIT is free)."""
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            probe = socket.socket(family, kind, proto)
            bound.append(probe)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(address)
            probe.listen(1)
    except OSError:
        for probe in bound:
            probe.close()
        raise
    return bound
