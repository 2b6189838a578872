"""asyncio adapter: one `SmppConnection` protocol object per TCP connection.

This is the only module of `smpp/` that touches asyncio. It feeds bytes to the
sans-IO `Session`, answers what the protocol answers by itself (enquire_link,
unbind, malformed PDUs), hands every other request to a `SessionHandler`, and
resolves the future of each request we sent when its response arrives. A
silent peer is probed with enquire_link and dropped if the probe goes
unanswered; `SmppConnection.close_reason` says why a connection ended. Writes
issued during one loop iteration leave joined in one ``write`` call; a peer that
stops reading our responses stops being read (write-buffer back-pressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from enum import StrEnum
from typing import Protocol

import msgspec

from smpp import pdu as p
from smpp.constants import RESPONSE_BIT, status_name
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.errors import FrameError, RemoteProtocolError, SmppError
from smpp.session import Session
from smpp.state import Role, SessionState


class SessionLimits(msgspec.Struct, frozen=True):
    """Timers and bounds of one session; every one is configurable."""

    enquire_link_interval: float = 30.0
    """Seconds of silence from the peer before we probe it."""
    inactivity_timeout: float = 120.0
    """Seconds of silence from the peer before we close."""
    response_timeout: float = 10.0
    """Seconds to wait for the response to one of our requests; an
    enquire_link unanswered this long closes the session."""
    max_pdu_size: int = 70_000
    max_malformed: int = 5
    """Malformed PDUs in a row after which we close: the peer is not speaking SMPP."""
    write_buffer_high: int = 256 * 1024
    """Queued output octets above which we stop reading the peer."""
    tick: float = 1.0
    """Timer resolution in seconds."""


class CloseReason(StrEnum):
    """Why a connection ended, for its owner's log line."""

    LOST = "connection lost"
    """The peer or the network closed it."""
    ENQUIRE_LINK_UNANSWERED = "enquire_link unanswered"
    """Our probe got no response within ``response_timeout`` (§4.11)."""
    INACTIVITY = "inactivity"
    """Nothing received for ``inactivity_timeout``."""
    PROTOCOL_ERROR = "protocol error"
    """Bad framing, or ``max_malformed`` malformed PDUs in a row."""
    UNBOUND_BY_PEER = "unbound by peer"
    CLOSED_HERE = "closed here"
    """Our owner closed it (its unbind, or its own reasons)."""


class ResponseTimeout(SmppError):
    """The peer did not answer one of our requests in time."""


class SessionClosed(SmppError):
    """The connection closed before the request was answered."""


class CommandFailed(SmppError):
    """The peer answered one of our requests with a non-zero command_status."""

    def __init__(self, response: p.Pdu) -> None:
        status = response.command_status
        super().__init__(f"{type(response).__name__} {status_name(status)}")
        self.response = response
        self.status = status


class SessionHandler(Protocol):
    """What the owner of a connection (the engine) reacts to."""

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        """A request the adapter does not answer itself; answer it with
        ``connection.respond`` now or later (no task per PDU needed)."""

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        """The connection is gone; ``lost`` are our unanswered sequence numbers."""


class SmppConnection(asyncio.Protocol):
    """One SMPP session over one transport, for either role."""

    def __init__(
        self, role: Role, handler: SessionHandler, limits: SessionLimits | None = None
    ) -> None:
        self.limits = limits or SessionLimits()
        self.session = Session(role, max_pdu_size=self.limits.max_pdu_size)
        self.handler = handler
        self.peer: tuple[str, int] | None = None
        self.system_id = ""
        self.closed: asyncio.Future[None] | None = None
        self.close_reason: CloseReason | None = None
        """Set once, by whoever ends the connection first."""
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[int, tuple[asyncio.Future[p.Pdu], float]] = {}
        self._response_timeout = self.limits.response_timeout
        self._outgoing: list[bytes] = []
        self._flush_scheduled = False
        self._read_holds: set[str] = set()
        """Why the transport is not read now; it is read again once none is left."""
        self._malformed = 0
        self._last_received = 0.0
        self._probing = False
        self._ticker: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()
        self.closed = self._loop.create_future()
        self.peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._transport.set_write_buffer_limits(high=self.limits.write_buffer_high)
        self._last_received = time.monotonic()
        self._ticker = self._loop.call_later(self.limits.tick, self._tick)

    def data_received(self, data: bytes) -> None:
        self._last_received = time.monotonic()
        session = self.session
        session.receive_data(data)
        while True:
            try:
                received = session.next_event()
            except FrameError as exc:
                self._answer_error(exc)
                self.close(CloseReason.PROTOCOL_ERROR)
                return
            except RemoteProtocolError as exc:
                if exc.command_id & RESPONSE_BIT:
                    continue  # a late answer to a request we gave up on: nothing to do
                self._answer_error(exc)
                self._malformed += 1
                if self._malformed >= self.limits.max_malformed:
                    self.close(CloseReason.PROTOCOL_ERROR)
                    return
                continue
            if received is None:
                return
            self._malformed = 0
            self._dispatch(received)

    def pause_writing(self) -> None:
        self._hold_reading("writing")

    def resume_writing(self) -> None:
        self._read_when("writing")

    def pause_reading(self) -> None:
        """Read nothing more from the peer until `resume_reading`: what it
        sends waits in TCP buffers (back-pressure for a customer that floods)."""
        self._hold_reading("owner")

    def resume_reading(self) -> None:
        self._read_when("owner")

    def _hold_reading(self, reason: str) -> None:
        """Stop reading for ``reason`` (our answers back up, or the owner's say)
        until each reason given has been lifted: one lifting must not undo the other."""
        if self._transport is not None and not self._transport.is_closing():
            if not self._read_holds:
                self._transport.pause_reading()
            self._read_holds.add(reason)

    def _read_when(self, reason: str) -> None:
        if reason not in self._read_holds:
            return
        self._read_holds.discard(reason)
        transport = self._transport
        if not self._read_holds and transport is not None and not transport.is_closing():
            transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self.close_reason is None:
            self.close_reason = CloseReason.LOST
        lost = self.session.connection_lost()
        waiting, self._waiting = self._waiting, {}
        for future, _ in waiting.values():
            if not future.done():
                future.set_exception(SessionClosed("connection closed"))
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)
        self.handler.connection_closed(self, lost)

    # -- sending ----------------------------------------------------------

    async def wait_closed(self) -> None:
        """Wait until the connection is gone; cancelling the waiter leaves it alone."""
        if self.closed is not None:
            await asyncio.shield(self.closed)

    @property
    def state(self) -> SessionState:
        return self.session.state

    @property
    def in_flight(self) -> int:
        """Our requests awaiting a response: what a window limit counts."""
        return len(self._waiting)

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def request(self, outgoing: p.Pdu) -> asyncio.Future[p.Pdu]:
        """Send a request; the future resolves with its response (any status)
        or fails with `ResponseTimeout` / `SessionClosed`."""
        assert self._loop is not None
        sequence, wire = self.session.send_request(outgoing)
        future: asyncio.Future[p.Pdu] = self._loop.create_future()
        if outgoing.command_id in _UNANSWERED:
            future.set_result(outgoing)
        else:
            self._waiting[sequence] = (future, time.monotonic() + self._response_timeout)
        self._write(wire)
        return future

    async def call(self, outgoing: p.Pdu) -> p.Pdu:
        """Send a request and return its response; a non-zero command_status
        raises `CommandFailed`."""
        response = await self.request(outgoing)
        if response.command_status != S.ESME_ROK:
            raise CommandFailed(response)
        return response

    def respond(self, response: p.Pdu) -> None:
        self._write(self.session.send_response(response))

    async def unbind(self) -> None:
        """Unbind politely, then close whatever the peer answers (§4.2)."""
        if self.session.state in (SessionState.OPEN, SessionState.CLOSED):
            self.close()
            return
        # No answer in time ends it as well: this wait or the request's own
        # timeout (`ResponseTimeout`), whichever fires first.
        with contextlib.suppress(SmppError, TimeoutError):
            await asyncio.wait_for(self.request(p.Unbind()), self.limits.response_timeout)
        self.close()

    def close(self, reason: CloseReason = CloseReason.CLOSED_HERE) -> None:
        if self._transport is not None and not self._transport.is_closing():
            if self.close_reason is None:
                self.close_reason = reason
            self._flush()
            self._transport.close()

    # -- internals --------------------------------------------------------

    def _write(self, wire: bytes) -> None:
        self._outgoing.append(wire)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """One write of everything queued, joined: uvloop's ``writelines`` keeps
        each PDU as a buffer of its own, which cost a third more at 50 PDUs."""
        self._flush_scheduled = False
        if self._outgoing and self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(self._outgoing))
        self._outgoing = []

    def _answer_error(self, error: RemoteProtocolError) -> None:
        answer = self.session.error_response(error)
        if answer is not None:
            self._write(answer)

    def _dispatch(self, received: p.Pdu) -> None:
        command_id = received.command_id
        if command_id & RESPONSE_BIT:
            waiting = self._waiting.pop(received.sequence_number, None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(received)
        elif command_id not in _ANSWERED_HERE:
            self.handler.request_received(self, received)
        elif command_id == C.ENQUIRE_LINK:
            self.respond(p.EnquireLinkResp(sequence_number=received.sequence_number))
        else:
            self.respond(p.UnbindResp(sequence_number=received.sequence_number))
            self.close(CloseReason.UNBOUND_BY_PEER)

    def _tick(self) -> None:
        assert self._loop is not None
        now = time.monotonic()
        expired = [seq for seq, (_, deadline) in self._waiting.items() if deadline <= now]
        for sequence in expired:
            future, _ = self._waiting.pop(sequence)
            self.session.abandon(sequence)
            if not future.done():
                future.set_exception(ResponseTimeout(f"no response to sequence {sequence}"))
        silence = now - self._last_received
        if silence >= self.limits.inactivity_timeout:
            self.close(CloseReason.INACTIVITY)
            return
        if (
            silence >= self.limits.enquire_link_interval
            and not self._probing
            and self.session.state not in (SessionState.UNBINDING, SessionState.CLOSED)
        ):
            self._probing = True
            self.request(p.EnquireLink()).add_done_callback(self._probe_ended)
        self._ticker = self._loop.call_later(self.limits.tick, self._tick)

    def _probe_ended(self, probe: asyncio.Future[p.Pdu]) -> None:
        """Any answer (even a generic_nack) shows the peer alive; none within
        ``response_timeout`` closes at once, long before ``inactivity_timeout``,
        so an operator link that went dark is rebound in seconds (§4.11)."""
        self._probing = False
        if not probe.cancelled() and isinstance(probe.exception(), ResponseTimeout):
            self.close(CloseReason.ENQUIRE_LINK_UNANSWERED)


_ANSWERED_HERE = frozenset({C.ENQUIRE_LINK, C.UNBIND})
"""Requests the adapter answers itself; the handler sees every other one."""
_UNANSWERED = frozenset({C.OUTBIND, C.ALERT_NOTIFICATION})
"""Requests without a response PDU (§4.1.7, §4.12): their future resolves at once."""


async def open_session(
    host: str,
    port: int,
    bind: p.Pdu,
    handler: SessionHandler,
    limits: SessionLimits | None = None,
    **connect_options: object,
) -> SmppConnection:
    """Connect as an ESME and bind; raises `CommandFailed` if the bind is refused."""
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_connection(
        lambda: SmppConnection(Role.ESME, handler, limits),
        host,
        port,
        **connect_options,  # type: ignore[arg-type]
    )
    try:
        response = await connection.call(bind)
    except BaseException:
        connection.close()
        raise
    connection.system_id = getattr(response, "system_id", "")
    return connection


async def start_server(
    host: str,
    port: int,
    handler: SessionHandler,
    limits: SessionLimits | None = None,
    **server_options: object,
) -> asyncio.Server:
    """Listen as an SMSC; every connection reports to ``handler``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SmppConnection(Role.SMSC, handler, limits),
        host,
        port,
        **server_options,  # type: ignore[arg-type]
    )
