"""The asyncio adapter over real loopback sockets."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import msgspec
import pytest

from smpp import codec
from smpp import pdu as p
from smpp.aio import (
    CloseReason,
    CommandFailed,
    ResponseTimeout,
    SessionLimits,
    SmppConnection,
    open_session,
    start_server,
)
from smpp.constants import CommandStatus as S
from smpp.state import SessionState


class EchoSmsc:
    """Accepts password 'secret', answers submit_sm with an id, can stay silent."""

    def __init__(self) -> None:
        self.silent = False
        self.connections: set[SmppConnection] = set()

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        self.connections.add(connection)
        if self.silent:
            return
        if isinstance(request, p.BindTransceiver):
            status = S.ESME_ROK if request.password == "secret" else S.ESME_RBINDFAIL
            connection.respond(p.response_to(request, status, system_id="smsgw"))
        elif isinstance(request, p.SubmitSm):
            connection.respond(p.response_to(request, message_id=f"id-{request.sequence_number}"))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        self.connections.discard(connection)


class Client:
    def __init__(self) -> None:
        self.requests: list[p.Pdu] = []
        self.lost: list[int] | None = None

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        self.requests.append(request)

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        self.lost = lost


@pytest.fixture
async def smsc():
    handler = EchoSmsc()
    server = await start_server("127.0.0.1", 0, handler, SessionLimits(tick=0.05))
    handler.port = server.sockets[0].getsockname()[1]
    yield handler
    server.close()
    for connection in list(handler.connections):
        connection.close()
    await server.wait_closed()


async def test_bind_submit_unbind(smsc: EchoSmsc) -> None:
    bind = p.BindTransceiver(system_id="acme", password="secret")
    connection = await open_session("127.0.0.1", smsc.port, bind, Client())
    assert connection.state == SessionState.BOUND_TRX and connection.system_id == "smsgw"
    responses = await asyncio.gather(
        *(connection.call(p.SubmitSm(destination_addr="4477")) for _ in range(50))
    )
    assert len({r.message_id for r in responses}) == 50
    await connection.unbind()
    await connection.closed
    assert connection.state == SessionState.CLOSED


async def test_refused_bind_raises_with_status(smsc: EchoSmsc) -> None:
    bind = p.BindTransceiver(system_id="acme", password="nope")
    with pytest.raises(CommandFailed) as caught:
        await open_session("127.0.0.1", smsc.port, bind, Client())
    assert caught.value.status == S.ESME_RBINDFAIL


async def test_unanswered_request_times_out_then_reports_lost(smsc: EchoSmsc) -> None:
    bind = p.BindTransceiver(system_id="acme", password="secret")
    limits = SessionLimits(response_timeout=0.1, tick=0.05)
    client = Client()
    connection = await open_session("127.0.0.1", smsc.port, bind, client, limits)
    smsc.silent = True
    with pytest.raises(ResponseTimeout):
        await connection.call(p.SubmitSm())
    pending = connection.request(p.SubmitSm())
    connection.close()
    await connection.closed
    assert client.lost == [3]
    with pytest.raises(Exception, match="closed"):
        await pending


async def test_enquire_link_is_answered_by_the_adapter(smsc: EchoSmsc) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
    writer.write(codec.encode(p.EnquireLink(sequence_number=4)))
    answer = await reader.readexactly(16)
    assert codec.decode(answer) == p.EnquireLinkResp(sequence_number=4)
    writer.close()
    await writer.wait_closed()


async def test_garbage_is_nacked_then_the_connection_closed(smsc: EchoSmsc) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
    for sequence in range(1, 6):
        writer.write(struct.pack(">IIII", 16, 0x77, 0, sequence))
    answers = [codec.decode(await reader.readexactly(16)) for _ in range(5)]
    assert [a.command_status for a in answers] == [S.ESME_RINVCMDID] * 5
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


async def test_bad_length_is_nacked_and_closed(smsc: EchoSmsc) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
    writer.write(struct.pack(">IIII", 0x7FFFFFFF, 4, 0, 9))
    nack = codec.decode(await reader.readexactly(16))
    assert nack == p.GenericNack(sequence_number=9, command_status=S.ESME_RINVCMDLEN)
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


async def test_silent_peer_is_probed_then_dropped() -> None:
    limits = SessionLimits(enquire_link_interval=0.1, inactivity_timeout=0.4, tick=0.05)
    server = await start_server("127.0.0.1", 0, EchoSmsc(), limits)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    probe = codec.decode(await asyncio.wait_for(reader.readexactly(16), 5))
    assert isinstance(probe, p.EnquireLink)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


async def test_late_responses_do_not_count_as_garbage(smsc: EchoSmsc) -> None:
    bind = p.BindTransceiver(system_id="acme", password="secret")
    connection = await open_session("127.0.0.1", smsc.port, bind, Client())
    server_side = next(iter(smsc.connections))
    for sequence in range(100, 110):
        server_side._write(codec.encode(p.SubmitSmResp(sequence_number=sequence)))
    assert (await connection.call(p.SubmitSm())).command_status == 0
    assert connection.is_open
    await connection.unbind()


class RawOperator:
    """A peer over a bare socket: binds anyone, answers enquire_link only
    while ``answering``, and records every PDU it read, then its end of file."""

    def __init__(self, answering: bool, answers_unbind: bool = True) -> None:
        self.answering = answering
        self.answers_unbind = answers_unbind
        self.received: list[p.Pdu | None] = []
        self.changed = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                header = await reader.readexactly(16)
            except asyncio.IncompleteReadError:
                break
            (length,) = struct.unpack(">I", header[:4])
            pdu = codec.decode(header + await reader.readexactly(length - 16))
            self.received.append(pdu)
            self.changed.set()
            if isinstance(pdu, p.BindTransceiver):
                writer.write(codec.encode(p.response_to(pdu, system_id="raw")))
            elif self._answers(pdu):
                writer.write(codec.encode(p.response_to(pdu)))
        writer.close()
        await writer.wait_closed()
        self.received.append(None)
        self.changed.set()

    def _answers(self, pdu: p.Pdu) -> bool:
        if isinstance(pdu, p.EnquireLink):
            return self.answering
        return isinstance(pdu, p.Unbind) and self.answers_unbind

    def probes(self) -> int:
        return sum(isinstance(pdu, p.EnquireLink) for pdu in self.received)

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


LIVENESS = SessionLimits(
    enquire_link_interval=0.05, inactivity_timeout=60.0, response_timeout=0.1, tick=0.02
)
"""Probes every 50 ms of silence; inactivity alone would take a minute."""
PATIENT = msgspec.structs.replace(LIVENESS, response_timeout=5.0)
"""The same probes, answered in time even by a loop that a busy machine holds up."""


async def _bound_to(
    operator: RawOperator, limits: SessionLimits = LIVENESS
) -> tuple[SmppConnection, asyncio.Server]:
    server = await asyncio.start_server(operator.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bind = p.BindTransceiver(system_id="acme", password="secret")
    return await open_session("127.0.0.1", port, bind, Client(), limits), server


async def test_an_unanswered_enquire_link_drops_the_session() -> None:
    operator = RawOperator(answering=False)
    connection, server = await _bound_to(operator)
    await asyncio.wait_for(connection.wait_closed(), 5)
    assert connection.close_reason is CloseReason.ENQUIRE_LINK_UNANSWERED
    await operator.wait_until(lambda: None in operator.received)
    assert operator.probes() == 1, "one probe, then the end of the session"
    assert isinstance(operator.received[-2], p.EnquireLink)
    server.close()
    await server.wait_closed()


async def test_answered_enquire_links_keep_the_session() -> None:
    operator = RawOperator(answering=True)
    connection, server = await _bound_to(operator, PATIENT)
    await operator.wait_until(lambda: operator.probes() >= 3)
    assert connection.is_open and connection.close_reason is None
    await connection.unbind()
    assert connection.close_reason is CloseReason.CLOSED_HERE
    await operator.wait_until(lambda: None in operator.received)
    server.close()
    await server.wait_closed()


async def test_an_unbind_nobody_answers_still_ends_the_session() -> None:
    operator = RawOperator(answering=True, answers_unbind=False)
    quick = SessionLimits(response_timeout=0.1, tick=0.02)
    connection, server = await _bound_to(operator, quick)
    await connection.unbind()  # the wait and the request's own timeout race: neither raises
    assert connection.close_reason is CloseReason.CLOSED_HERE
    await operator.wait_until(lambda: None in operator.received)
    server.close()
    await server.wait_closed()


async def test_an_unbind_from_the_peer_is_the_close_reason(smsc: EchoSmsc) -> None:
    bind = p.BindTransceiver(system_id="acme", password="secret")
    connection = await open_session("127.0.0.1", smsc.port, bind, Client())
    server_side = next(iter(smsc.connections))
    await server_side.unbind()
    await connection.wait_closed()
    assert connection.close_reason is CloseReason.UNBOUND_BY_PEER


async def test_reading_resumes_only_once_every_reason_to_pause_is_lifted(smsc: EchoSmsc) -> None:
    """Back-pressure (our answers backing up) and the owner's pause (a customer
    shed for flooding) each hold reading; lifting one keeps the other."""
    bind = p.BindTransceiver(system_id="acme", password="secret")
    connection = await open_session("127.0.0.1", smsc.port, bind, Client())
    transport = connection._transport
    assert transport is not None
    connection.pause_reading()
    connection.pause_writing()
    connection.resume_writing()
    assert not transport.is_reading()  # the owner's pause still holds
    connection.resume_reading()
    assert transport.is_reading()
    connection.pause_writing()
    connection.pause_reading()
    connection.resume_reading()
    assert not transport.is_reading()  # our answers still back up
    connection.resume_writing()
    assert transport.is_reading()
    await connection.unbind()
