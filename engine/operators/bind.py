"""One SMPP client session to an operator, kept up for as long as it runs.

A bind reconnects with capped exponential backoff and jitter (never a fixed
delay), and while bound runs one sender loop: wait for a free window slot and
a throughput token, take the next message from the connector's scheduler,
send its parts. Responses come back through future callbacks, so there is no
task per message. deliver_sm and data_sm from the operator (receipts and MO)
are answered at once with the status the listener returns.
"""

from __future__ import annotations

import asyncio
import logging
from enum import Enum
from functools import partial
from typing import Protocol

from engine.messages.message import MtMessage
from engine.operators.connector_config import ConnectorConfig
from engine.operators.scheduler import Scheduler
from engine.operators.submission import Submission
from ledger.retry import Backoff
from smpp import pdu as p
from smpp.aio import SessionLimits, SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smpp.errors import LocalProtocolError, SmppError
from smpp.state import SessionState

log = logging.getLogger(__name__)

_BIND_PDUS: dict[str, type[p.BindTransmitter | p.BindTransceiver | p.BindReceiver]] = {
    "transmitter": p.BindTransmitter,
    "transceiver": p.BindTransceiver,
    "receiver": p.BindReceiver,
}
_SENDING_STATES = (SessionState.BOUND_TX, SessionState.BOUND_TRX)
"""A tuple: `in` finds a member by identity, where a set hashes it through
`Enum.__hash__`, a Python call (checked twice per message sent)."""


class BindState(Enum):
    CONNECTING = "connecting"
    BOUND = "bound"
    BACKING_OFF = "backing_off"
    """Waiting before the next connect after a failure or a drop."""
    STOPPED = "stopped"


class DeliverListener(Protocol):
    def on_deliver(self, connector_id: str, pdu: p.DeliverSm | p.DataSm) -> int:
        """The command_status to answer an operator's deliver_sm or data_sm with."""
        ...


class BindOwner(Protocol):
    """What a bind needs of its connector (`engine.operators.connector.Connector`):
    where messages come from, the pacing they go out at, where answers go."""

    config: ConnectorConfig
    limits: SessionLimits
    reconnect_backoff: Backoff
    scheduler: Scheduler
    listener: DeliverListener

    async def token_available(self) -> None: ...
    async def take_token(self) -> None: ...
    def begin(self, message: MtMessage) -> Submission | None: ...
    def is_expired(self, message: MtMessage) -> bool: ...
    def end_dispatch(self, submission: Submission) -> None: ...
    def put_back_requeued(self) -> None: ...
    def part_sent(self) -> None: ...
    def part_done(
        self, submission: Submission, index: int, future: asyncio.Future[p.Pdu]
    ) -> None: ...


class OperatorBind:
    """One of a connector's binds; the `SessionHandler` of its connection."""

    def __init__(self, connector: BindOwner, index: int) -> None:
        self.connector = connector
        self.index = index
        self.state = BindState.STOPPED
        self.connection: SmppConnection | None = None
        self.in_flight = 0
        self._sending = True
        self._sender: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._slot_freed = asyncio.Event()

    # -- connecting -------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve until the session ends, back off, again; until cancelled."""
        config = self.connector.config
        bind = _BIND_PDUS[config.bind](
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            address_range=config.address_range,
        )
        loop = asyncio.get_running_loop()
        failures = 0
        try:
            while True:
                self.state = BindState.CONNECTING
                try:
                    async with asyncio.timeout(config.connect_timeout):
                        connection = await open_session(
                            config.host, config.port, bind, self, self.connector.limits
                        )
                except (OSError, TimeoutError, SmppError) as error:
                    failures += 1
                    log.warning("connector %s bind %d: %s", config.id, self.index, error)
                else:
                    bound_at = loop.time()
                    await self._serve(connection)
                    # A session that outlived the longest backoff was healthy;
                    # one dropped at once counts as one more failure in a row.
                    healthy = loop.time() - bound_at >= config.reconnect_delay_max
                    failures = 1 if healthy else failures + 1
                self.state = BindState.BACKING_OFF
                await asyncio.sleep(self.connector.reconnect_backoff.compute(failures))
        finally:
            self.state = BindState.STOPPED

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self.run())

    async def _serve(self, connection: SmppConnection) -> None:
        config = self.connector.config
        log.info("connector %s bind %d bound to %s", config.id, self.index, connection.peer)
        self.connection = connection
        self.state = BindState.BOUND
        try:
            if config.transmits and self._sending:
                self._sender = asyncio.create_task(self._send_loop(connection))
                self._sender.add_done_callback(partial(self._sender_ended, connection))
            await connection.wait_closed()
        finally:
            await self._cancel_sender()
            self.connection = None
            self.connector.put_back_requeued()
        log.info("connector %s bind %d closed", config.id, self.index)

    def _sender_ended(self, connection: SmppConnection, sender: asyncio.Task[None]) -> None:
        if not sender.cancelled() and sender.exception() is not None:
            # Only a bug ends the loop that way: log it and start afresh.
            log.error(
                "connector %s bind %d: sender failed",
                self.connector.config.id,
                self.index,
                exc_info=sender.exception(),
            )
            connection.close()

    async def _cancel_sender(self) -> None:
        """What the sender held goes back to the scheduler (`Connector.end_dispatch`)."""
        sender, self._sender = self._sender, None
        if sender is not None and not sender.done():
            sender.cancel()
            await asyncio.wait((sender,))

    async def stop_sending(self) -> None:
        """Take no more messages; responses to those on the wire still count."""
        self._sending = False
        await self._cancel_sender()

    async def close(self) -> None:
        """Stop reconnecting and unbind politely (SMPP 3.4 §4.2)."""
        connection = self.connection
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.wait((runner,))
        if connection is not None:
            await connection.unbind()
            await connection.wait_closed()

    # -- sending ----------------------------------------------------------

    async def _send_loop(self, connection: SmppConnection) -> None:
        connector = self.connector
        while connection.state in _SENDING_STATES:
            await self._free_slot()
            await connector.token_available()
            message = await connector.scheduler.get()
            submission = connector.begin(message)
            if submission is None:
                # Settled on the spot (expired, unsendable): yield anyway, so
                # a queue full of stale messages cannot hold up the loop.
                await asyncio.sleep(0)
                continue
            try:
                await self._dispatch(connection, submission)
            finally:
                connector.end_dispatch(submission)

    async def _dispatch(self, connection: SmppConnection, submission: Submission) -> None:
        connector = self.connector
        for count, index in enumerate(submission.begin_attempt()):
            if count:
                await self._free_slot()
            await connector.take_token()
            if submission.stopped:
                return
            if connector.is_expired(submission.message):
                submission.expired = True
                return
            if connection.state not in _SENDING_STATES:
                return
            try:
                future = connection.request(submission.submits[index])
            except LocalProtocolError as error:
                # A field the codec refuses (an address too long, ...): the
                # operator would refuse it too, so it is a permanent failure.
                submission.fail_permanently(error.status)
                return
            self.in_flight += 1
            submission.pending += 1
            connector.part_sent()
            future.add_done_callback(partial(self._part_done, submission, index))

    def _part_done(self, submission: Submission, index: int, future: asyncio.Future[p.Pdu]) -> None:
        self.in_flight -= 1
        self._slot_freed.set()
        self.connector.part_done(submission, index, future)

    async def _free_slot(self) -> None:
        window = self.connector.config.window
        while self.in_flight >= window:
            self._slot_freed.clear()
            await self._slot_freed.wait()

    # -- SessionHandler ---------------------------------------------------

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if not isinstance(request, p.DeliverSm | p.DataSm):
            return  # alert_notification and outbind have no response (§4.12, §4.1.7)
        connector = self.connector
        try:
            status = connector.listener.on_deliver(connector.config.id, request)
        except Exception:
            log.exception("connector %s: the deliver_sm listener failed", connector.config.id)
            status = S.ESME_RX_T_APPN
        connection.respond(p.response_to(request, status))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        """Lost submit_sm are put back by their futures' callbacks (`_part_done`)."""
