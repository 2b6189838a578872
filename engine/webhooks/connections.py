"""Keep-alive HTTP/1.1 connections to webhook receivers, pooled per origin.

A webhook costs what its client costs: a general HTTP client spends about
1.4 ms of CPU per call (streams, pools with their own locks, header objects),
where a receipt needs a few writes and one status. Here a call is one
``transport.write`` of bytes built beforehand and a response parser
(`engine.webhooks.http1`) fed from ``data_received``, on a connection taken
from an idle list per ``(scheme, host, port)``.

Connections are opened only through the `AddressGuard`: to one of the very
addresses it checked (the name is not resolved again by the socket), with
TLS verified against the host name for https. A connection the receiver
closed while idle leaves the pool by itself; a request that finds its
reused connection dead before any byte of answer is sent again once on a
fresh connection (the receiver cannot have handled it: it had closed).
Unused connections are closed after ``idle_timeout`` seconds. Redirects are
not followed: a 3xx is an answer like any other.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import cast

from engine.webhooks.guard import AddressGuard
from engine.webhooks.http1 import RemoteProtocolError, ResponseParser

Origin = tuple[str, str, int]
"""Scheme ("http" or "https"), host name (lower case, no brackets), port."""


class TransportError(Exception):
    """The call did not get an answer: worth trying again later."""


class ConnectError(TransportError):
    """No connection could be opened (refused, unreachable, TLS handshake failed)."""


class ReadError(TransportError):
    """The connection ended before the answer did."""


class CannotResolve(TransportError):
    """The host name does not resolve now."""


class HostRefused(Exception):
    """The guard refuses the host (a non-public address): not worth trying again."""


class AnswerTimeout(TransportError):
    """No status came in time."""


class _Connection(asyncio.Protocol):
    """One connection: at most one request in flight, its answer parsed as it comes."""

    def __init__(self, pool: ConnectionPool, origin: Origin) -> None:
        self._pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser: ResponseParser | None = None
        self.waiter: asyncio.Future[ResponseParser] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = self.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: bytes, deadline: float) -> asyncio.Future[ResponseParser]:
        """Write a request; the future is its parsed answer, or an error by ``deadline``."""
        assert self.transport is not None
        loop = self._pool.loop
        self.parser = ResponseParser()
        self.waiter = waiter = loop.create_future()
        self._deadline = loop.call_at(deadline, self._timed_out)
        self.transport.write(data)
        return waiter

    def data_received(self, data: bytes) -> None:
        parser, waiter = self.parser, self.waiter
        if parser is None or waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the connection cannot be trusted
            return
        try:
            complete = parser.feed(data)
        except RemoteProtocolError as exc:
            self._answer(exc)
            self.close()
            return
        if complete:
            self._answer(parser)

    def eof_received(self) -> bool:
        parser = self.parser
        if parser is not None and parser.end_of_stream():
            self._answer(parser)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        parser = self.parser
        if parser is not None and parser.end_of_stream():
            self._answer(parser)
        elif parser is not None and parser.status is not None:
            parser.reusable = False
            self._answer(parser)  # the status came: it counts even if the body did not
        else:
            reason = f": {exc}" if exc else ""
            self._answer(ReadError(f"connection closed before the answer{reason}"))

    def _timed_out(self) -> None:
        parser = self.parser
        if parser is not None and parser.status is not None:
            parser.reusable = False
            self._answer(parser)
        else:
            self._answer(AnswerTimeout("no answer in time"))
        self.close()

    def _answer(self, outcome: ResponseParser | Exception) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if isinstance(outcome, Exception):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._pool.forget(self)
            if self.transport is not None:
                self.transport.close()


class ConnectionPool:
    def __init__(
        self,
        guard: AddressGuard,
        tls: ssl.SSLContext | None = None,
        idle_timeout: float = 15.0,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self._guard = guard
        self._tls = tls or ssl.create_default_context()
        self._idle_timeout = idle_timeout
        self._idle: dict[Origin, list[_Connection]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False
        self.opened = 0
        """Connections opened since start (reuse shows as calls > opened)."""

    async def request(self, origin: Origin, data: bytes, timeout: float) -> ResponseParser:
        """Send ``data`` (a whole request) to ``origin``; the parsed answer.

        Raises `HostRefused`, or a `TransportError` (`AnswerTimeout` past
        ``timeout`` seconds). A status that came in time is an answer even if
        its body did not: the connection is then closed.
        """
        deadline = self.loop.time() + timeout
        connection = self._take(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, data, deadline)
            except ReadError:
                pass  # closed by the receiver while idle: it never saw the request
        connection = await self._open(origin, deadline)
        return await self._exchange(connection, data, deadline)

    def forget(self, connection: _Connection) -> None:
        """Take a closed connection out of the idle list, if it is there."""
        idle = self._idle.get(connection.origin)
        if idle is not None and connection in idle:
            idle.remove(connection)
            if not idle:
                del self._idle[connection.origin]

    def close(self) -> None:
        """Close every idle connection (those in use close when their call ends)."""
        self._closed = True
        for idle in list(self._idle.values()):
            for connection in list(idle):
                connection.close()
        self._idle.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                if not idle:
                    del self._idle[origin]
                return connection
        self._idle.pop(origin, None)
        return None

    async def _exchange(
        self, connection: _Connection, data: bytes, deadline: float
    ) -> ResponseParser:
        answered = False
        try:
            parser = await connection.send(data, deadline)
            answered = True
        finally:
            if not answered:
                connection.close()
        if parser.reusable and not connection.closed and not self._closed:
            connection.idle_since = self.loop.time()
            self._idle.setdefault(connection.origin, []).append(connection)
            if self._sweeper is None:
                self._sweeper = self.loop.call_later(self._idle_timeout, self._sweep)
        else:
            connection.close()
        return parser

    async def _open(self, origin: Origin, deadline: float) -> _Connection:
        host = origin[1]
        try:
            async with asyncio.timeout_at(deadline):
                refusal, addresses = await self._guard.resolve(host)
                if refusal is not None:
                    raise HostRefused(refusal)
                return await self._connect(origin, addresses or (host,))
        except TimeoutError:
            raise AnswerTimeout("no connection in time") from None
        except OSError as exc:  # the name does not resolve
            raise CannotResolve(f"cannot resolve {host}: {exc}") from None

    async def _connect(self, origin: Origin, addresses: tuple[str, ...]) -> _Connection:
        scheme, host, port = origin
        tls = self._tls if scheme == "https" else None
        failure: Exception | None = None
        for address in addresses:
            try:
                _, connection = await self.loop.create_connection(
                    lambda: _Connection(self, origin),
                    address,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
            except (OSError, ssl.CertificateError) as exc:
                failure = exc
                continue
            self.opened += 1
            return connection
        raise ConnectError(str(failure) or type(failure).__name__)

    def _sweep(self) -> None:
        """Close connections unused for ``idle_timeout``; come back while any are left."""
        self._sweeper = None
        oldest = self.loop.time() - self._idle_timeout
        for idle in list(self._idle.values()):
            for connection in [c for c in idle if c.idle_since <= oldest]:
                connection.close()
        if self._idle:
            self._sweeper = self.loop.call_later(self._idle_timeout / 2, self._sweep)
