"""The far ends of the end-to-end tests: third-party ESMEs, raw sockets, and
an operator that keeps what it was sent.

smpplib is a blocking client, so its whole session runs in a thread with a
socket timeout: a gateway that stops answering fails the test, never hangs
it. aiosmpplib runs in the test's loop; a hook records every PDU it sends or
receives as raw bytes, decoded with our codec, because it folds the
responses and receipts of a split message into one for its own user.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, NamedTuple

import msgspec
import smpplib.client
import smpplib.consts
import smpplib.gsm
from aiosmpplib import ESME, PhoneNumber, SmppMessage
from aiosmpplib import SubmitSm as AioSubmitSm
from aiosmpplib.hook import AbstractHook
from aiosmpplib.state import NPI, TON
from redis.asyncio import Redis

from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, ReceiptSettings, SimulatorConfig
from engine.config import GatewayLimits
from engine.customers.accounts import AccountConfig
from engine.gateway import Gateway
from smpp import codec
from smpp import pdu as p
from smpp.aio import SmppConnection
from smpp.constants import HEADER_LENGTH
from smpp.constants import CommandStatus as S
from smpp.tlv import Tag
from tests.engine.gateway_harness import PASSWORD, running_gateway

WAIT = 5.0
"""Seconds before any wait gives up: a hang guard, never a timing assert."""
SENDER = "MyBank"
HANDSET = "33612345678"


# -- the gateway -----------------------------------------------------------------


def gateway_with(
    backend: str,
    operators: list[SimulatedSmsc],
    redis: Redis,
    namespace: str,
    *,
    accounts: tuple[AccountConfig, ...] = (),
    connector_settings: dict[str, Any] | None = None,
    credit: int,
    limits: GatewayLimits | None = None,
) -> AbstractAsyncContextManager[Gateway]:
    """`gateway_harness.running_gateway` with the accounts, connector settings
    and limits a test chooses."""
    return running_gateway(
        backend,
        operators,
        redis,
        namespace,
        credit,
        accounts=accounts,
        connector_settings=connector_settings,
        limits=limits,
    )


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (every 10 ms, at most WAIT seconds) where nothing
    can be awaited, such as a counter inside the gateway."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


async def balance_and_held(gateway: Gateway, account_id: str) -> tuple[int, int]:
    """After the settlements already started: a receipt can overtake its capture."""
    await gateway.pipeline.drain()
    state = await gateway.ledger.get_account(account_id)
    assert state is not None
    return state.balance, state.held


# -- the operator ----------------------------------------------------------------


class RecordingSmsc(SimulatedSmsc):
    """The simulated operator, keeping every submit_sm it received in order."""

    def __init__(self, config: SimulatorConfig) -> None:
        super().__init__(config)
        self.submitted: list[p.SubmitSm] = []
        self._arrived = asyncio.Event()

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if isinstance(request, p.SubmitSm):
            self.submitted.append(request)
            self._arrived.set()
        super().request_received(connection, request)

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition`` holds, checked whenever a submit_sm arrives."""
        async with asyncio.timeout(WAIT):
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()


def recording_operator(**settings: Any) -> RecordingSmsc:
    """Receipts 20 ms after the response, as `gateway_harness.simulator`."""
    settings.setdefault("receipts", ReceiptSettings(delay=Delay(fixed_ms=20)))
    return RecordingSmsc(SimulatorConfig(port=0, **settings))


# -- what a customer saw ---------------------------------------------------------


class Sent(NamedTuple):
    """One submit_sm a customer library put on the wire, and our answer."""

    submit: p.SubmitSm
    status: int
    message_id: str


class Exchange(NamedTuple):
    sent: list[Sent]
    receipts: list[p.DeliverSm]
    """Every deliver_sm receipt, decoded by our codec from the bytes received."""


def pair_responses(submits: list[p.SubmitSm], responses: list[p.Pdu]) -> list[Sent]:
    by_sequence = {r.sequence_number: r for r in responses}
    return [
        Sent(s, by_sequence[s.sequence_number].command_status, _message_id(by_sequence, s))
        for s in submits
    ]


def _message_id(responses: dict[int, p.Pdu], submit: p.SubmitSm) -> str:
    response = responses[submit.sequence_number]
    return response.message_id if isinstance(response, p.SubmitSmResp) else ""


# -- smpplib (blocking, in a thread) ---------------------------------------------


def smpplib_parts(text: str, ucs2: bool) -> tuple[list[bytes], int, int]:
    """smpplib's own split: (parts, data_coding, esm_class), UDH when long."""
    encoding = (
        smpplib.consts.SMPP_ENCODING_ISO10646 if ucs2 else smpplib.consts.SMPP_ENCODING_DEFAULT
    )
    parts, data_coding, esm_class = smpplib.gsm.make_parts(text, encoding)
    return parts, data_coding, esm_class


def _smpplib_response(theirs: Any) -> p.SubmitSmResp:
    """What smpplib read from our submit_sm_resp."""
    return p.SubmitSmResp(
        sequence_number=theirs.sequence,
        command_status=theirs.status,
        message_id=(theirs.message_id or b"").decode("ascii"),
    )


def _smpplib_receipt(theirs: Any) -> p.DeliverSm:
    """What smpplib read from our receipt: the fields the checks look at."""
    return p.DeliverSm(
        sequence_number=theirs.sequence,
        esm_class=theirs.esm_class,
        short_message=theirs.short_message,
        tlvs={
            Tag.RECEIPTED_MESSAGE_ID: theirs.receipted_message_id.decode("ascii"),
            Tag.MESSAGE_STATE: theirs.message_state,
        },
    )


def smpplib_session(port: int, system_id: str, text: str, ucs2: bool) -> Exchange:
    """Bind as a transceiver, submit every part of ``text`` asking for a
    receipt, read until each part has its response and its receipt, unbind."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT, allow_unknown_opt_params=True)
    submits: list[p.SubmitSm] = []
    responses: list[p.Pdu] = []
    receipts: list[p.DeliverSm] = []
    client.set_message_sent_handler(lambda pdu: responses.append(_smpplib_response(pdu)))
    client.set_message_received_handler(lambda pdu: receipts.append(_smpplib_receipt(pdu)))
    client.connect()
    try:
        client.bind_transceiver(system_id=system_id, password=PASSWORD)
        parts, data_coding, esm_class = smpplib_parts(text, ucs2)
        for part in parts:
            sent = client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr=SENDER,
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr=HANDSET,
                data_coding=data_coding,
                esm_class=esm_class,
                short_message=part,
                registered_delivery=1,
            )
            submits.append(codec.decode(sent.generate()))  # type: ignore[arg-type]
        while len(responses) < len(submits) or len(receipts) < len(submits):
            client.read_once(auto_send_enquire_link=False)
        client.unbind()
    finally:
        client.disconnect()
    return Exchange(pair_responses(submits, responses), receipts)


# -- aiosmpplib (asyncio) --------------------------------------------------------


class WireLog(AbstractHook):
    """Every PDU an aiosmpplib ESME sends or receives, decoded by our codec."""

    def __init__(self) -> None:
        self.outgoing: list[p.Pdu] = []
        self.incoming: list[p.Pdu] = []
        self.understood: list[SmppMessage] = []
        """What aiosmpplib itself made of what it received (segments fold into one)."""
        self.changed = asyncio.Event()

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        self.outgoing.append(codec.decode(pdu))

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        self.incoming.append(codec.decode(pdu))
        if smpp_message is not None:
            self.understood.append(smpp_message)
        self.changed.set()

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        raise AssertionError(f"aiosmpplib could not send {smpp_message!r}: {error!r}")


def aiosmpplib_message(text: str, ucs2: bool, udh_split: bool) -> AioSubmitSm:
    """A submit_sm of ``text`` that aiosmpplib splits into UDH parts itself
    when ``udh_split``; else it sends short_message when the text fits and
    message_payload when not (its ``auto_message_payload``). aiosmpplib 0.7.4
    cannot split without UDH: it raises UnboundLocalError.
    """
    return AioSubmitSm(
        short_message=text,
        source=PhoneNumber(SENDER, TON.ALPHANUMERIC, NPI.UNKNOWN),
        destination=PhoneNumber(HANDSET, TON.INTERNATIONAL, NPI.ISDN),
        esm_class=0x40 if udh_split else 0,
        encoding="ucs2" if ucs2 else "gsm0338",
        registered_delivery=1,
        auto_message_payload=not udh_split,
    )


class AiosmpplibCustomer:
    """An aiosmpplib ESME bound as a transceiver for the length of an ``async with``."""

    def __init__(self, port: int, system_id: str) -> None:
        self.log = WireLog()
        self.esme = ESME(
            smsc_host="127.0.0.1",
            smsc_port=port,
            system_id=system_id,
            password=PASSWORD,
            hook=self.log,
            log_level="ERROR",
            socket_timeout=WAIT,
        )
        self._running: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AiosmpplibCustomer:
        self._running = asyncio.create_task(self.esme.start())
        self._running.add_done_callback(lambda _: self.log.changed.set())
        await self.wait_until(
            lambda: any(isinstance(r, p.BindTransceiverResp) for r in self.log.incoming)
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._running is not None
        # aiosmpplib 0.7.4 unbinds and sends EOF but never closes its
        # StreamWriter, which then warns when collected: we close it.
        writer = self.esme._writer
        if not self._running.done():
            # stop() waits for start() to end: bounded, in case it cannot.
            with suppress(TimeoutError):
                await asyncio.wait_for(self.esme.stop(), WAIT)
        self._running.cancel()
        with suppress(asyncio.CancelledError):
            await self._running
        if writer is not None:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition`` holds; fails at once if the ESME stopped running."""
        assert self._running is not None
        async with asyncio.timeout(WAIT):
            while not condition():
                if self._running.done():
                    self._running.result()
                    raise AssertionError("aiosmpplib stopped running")
                self.log.changed.clear()
                await self.log.changed.wait()

    def exchange(self) -> Exchange:
        log = self.log
        submits = [s for s in log.outgoing if isinstance(s, p.SubmitSm)]
        responses = [r for r in log.incoming if isinstance(r, p.SubmitSmResp | p.GenericNack)]
        receipts = [r for r in log.incoming if isinstance(r, p.DeliverSm)]
        return Exchange(pair_responses(submits, responses), receipts)


# -- raw sockets -----------------------------------------------------------------


class RawCustomer:
    """A TCP connection that speaks SMPP only as far as a test makes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._sequences = itertools.count(1)

    @classmethod
    async def connect(cls, port: int) -> RawCustomer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def encode(self, request: p.Pdu) -> bytes:
        """``request`` with the next sequence number, as wire bytes."""
        return codec.encode(msgspec.structs.replace(request, sequence_number=next(self._sequences)))

    async def read_pdu(self) -> p.Pdu | None:
        """The next PDU, or None once the gateway closed the connection."""
        async with asyncio.timeout(WAIT):
            try:
                header = await self.reader.readexactly(HEADER_LENGTH)
            except asyncio.IncompleteReadError:
                return None
            length = int.from_bytes(header[:4], "big")
            return codec.decode(header + await self.reader.readexactly(length - HEADER_LENGTH))

    async def call(self, request: p.Pdu) -> p.Pdu:
        self.writer.write(self.encode(request))
        response = await self.read_pdu()
        assert response is not None, "closed instead of answering"
        return response

    async def bind(self, system_id: str) -> None:
        response = await self.call(p.BindTransceiver(system_id=system_id, password=PASSWORD))
        assert response.command_status == S.ESME_ROK

    async def close(self) -> None:
        self.writer.close()
        with suppress(OSError):
            await self.writer.wait_closed()


def submit(
    destination: str = HANDSET, text: bytes = b"Your code is 123456", **fields: Any
) -> p.SubmitSm:
    return p.SubmitSm(
        source_addr=SENDER,
        source_addr_ton=5,
        destination_addr=destination,
        dest_addr_ton=1,
        dest_addr_npi=1,
        short_message=text,
        **fields,
    )


def receipt_ids(receipts: list[p.DeliverSm]) -> list[str]:
    """receipted_message_id of each receipt (the TLV, §5.3.2.12)."""
    return [str(r.tlvs[Tag.RECEIPTED_MESSAGE_ID]) for r in receipts]
