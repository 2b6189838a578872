"""One SMPP client session to an operator, kept up for as long as it runs.

A bind reconnects with capped exponential backoff and jitter (never a fixed
delay), and while bound runs one sender loop: wait for a free window slot and
a throughput token, take the next message from the connector's scheduler,
send its parts. Responses come back through future callbacks, so there is no
task per message. deliver_sm and data_sm from the operator (receipts and MO)
are answered at once with the status the listener returns.

Each submit_sm's latency and answer go to the connector's health
(`engine.operators.health`). Every bind, drop (with its `CloseReason`),
unbind and rebind is one line of the ``smsgw.connector`` log, and an outage
a few lines however long it lasts (`engine.operators.outage`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from enum import Enum
from functools import partial
from typing import Protocol

import structlog

from engine.loop.cancelling import cancelled
from engine.loop.throttle import TokenBucket
from engine.messages.message import MtMessage
from engine.operators.connector_config import ConnectorConfig
from engine.operators.health import ConnectorHealth
from engine.operators.outage import Outage, connect_failure
from engine.operators.scheduler import Scheduler
from engine.operators.submission import Submission
from ledger.retry import Backoff
from smpp import pdu as p
from smpp.aio import SessionLimits, SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smpp.errors import LocalProtocolError, SmppError
from smpp.state import SessionState

log = structlog.get_logger("smsgw.connector")

_BIND_PDUS: dict[str, type[p.BindTransmitter | p.BindTransceiver | p.BindReceiver]] = {
    "transmitter": p.BindTransmitter,
    "transceiver": p.BindTransceiver,
    "receiver": p.BindReceiver,
}
_DELIVERIES = (p.DeliverSm, p.DataSm)
"""A tuple: ``p.DeliverSm | p.DataSm`` builds a union (0.1 us) each time it is read."""
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
    def on_deliver(
        self, connector_id: str, pdu: p.DeliverSm | p.DataSm, answer: Callable[[int], None]
    ) -> None:
        """Takes an operator's deliver_sm or data_sm; calls ``answer`` with the
        command_status once its effect is committed (or refused)."""
        ...


class BindOwner(Protocol):
    """What a bind needs of its connector (`engine.operators.connector.Connector`):
    where messages come from, the pacing they go out at, where answers go."""

    config: ConnectorConfig
    limits: SessionLimits
    reconnect_backoff: Backoff
    scheduler: Scheduler
    bucket: TokenBucket
    """The connector's submit_sm per second, every bind together."""
    health: ConnectorHealth
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
        outage = Outage(loop.time)
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
                    delay = self.connector.reconnect_backoff.compute(failures)
                    self._connect_failed(outage, error, delay)
                else:
                    self._bound(connection, outage)
                    bound_at = loop.time()
                    await self._serve(connection)
                    bound_for = loop.time() - bound_at
                    # A session that outlived the longest backoff was healthy;
                    # one dropped at once counts as one more failure in a row.
                    failures = 1 if bound_for >= config.reconnect_delay_max else failures + 1
                    delay = self.connector.reconnect_backoff.compute(failures)
                    reason = str(connection.close_reason)
                    outage.dropped(reason)
                    log.warning(
                        "bind dropped",
                        **self._fields(),
                        reason=reason,
                        bound_for=round(bound_for, 1),
                        retry_in=round(delay, 2),
                    )
                self.state = BindState.BACKING_OFF
                await asyncio.sleep(delay)
        finally:
            self.state = BindState.STOPPED

    def _fields(self) -> dict[str, object]:
        config = self.connector.config
        return {"connector": config.id, "bind": self.index, "smsc": f"{config.host}:{config.port}"}

    def _bound(self, connection: SmppConnection, outage: Outage) -> None:
        """First bound, or bound again: once, with how long it was down."""
        ended = outage.recovered()
        if ended is None:
            log.info("bound", **self._fields(), system_id=connection.system_id)
            return
        failures, down_for, cause = ended
        log.info(
            "bound again",
            **self._fields(),
            after=cause,
            failures=failures,
            down_for=round(down_for, 1),
        )

    def _connect_failed(self, outage: Outage, error: BaseException, delay: float) -> None:
        """The first failure of an outage, then one line each time their count doubles."""
        reason = connect_failure(error)
        if not outage.failed(reason["reason"]):
            return
        retry_in = round(delay, 2)
        if outage.failures == 1:
            log.warning("bind failed", **self._fields(), **reason, retry_in=retry_in)
        else:
            log.warning(
                "bind still failing",
                **self._fields(),
                **reason,
                failures=outage.failures,
                down_for=round(outage.down_for, 1),
                retry_in=retry_in,
            )

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self.run())

    async def _serve(self, connection: SmppConnection) -> None:
        config = self.connector.config
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

    def _sender_ended(self, connection: SmppConnection, sender: asyncio.Task[None]) -> None:
        if not sender.cancelled() and sender.exception() is not None:
            # Only a bug ends the loop that way: log it and start afresh.
            log.error("bind sender failed", **self._fields(), exc_info=sender.exception())
            connection.close()

    async def _cancel_sender(self) -> None:
        """What the sender held goes back to the scheduler (`Connector.end_dispatch`)."""
        sender, self._sender = self._sender, None
        if sender is not None and not sender.done():
            await cancelled(sender)

    async def stop_sending(self) -> None:
        """Take no more messages; responses to those on the wire still count."""
        self._sending = False
        await self._cancel_sender()

    async def close(self) -> None:
        """Stop reconnecting and unbind politely (SMPP 3.4 §4.2)."""
        connection = self.connection
        runner, self._runner = self._runner, None
        if runner is not None:
            await cancelled(runner)
        if connection is not None:
            await connection.unbind()
            await connection.wait_closed()
            log.info("unbound", **self._fields())

    # -- sending ----------------------------------------------------------

    async def _send_loop(self, connection: SmppConnection) -> None:
        connector = self.connector
        window = connector.config.window
        while connection.state in _SENDING_STATES:
            # Each wait is awaited only when it must wait: a coroutine costs
            # 0.1 us to make and run even when it returns at once.
            if self.in_flight >= window:
                await self._free_slot()
            if connector.bucket.delay() > 0:
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
            if not connector.bucket.try_take():  # awaited only when it must wait, as above
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
            sent_at = time.monotonic()
            future.add_done_callback(partial(self._part_done, submission, index, sent_at))

    def _part_done(
        self, submission: Submission, index: int, sent_at: float, future: asyncio.Future[p.Pdu]
    ) -> None:
        self.in_flight -= 1
        self._slot_freed.set()
        self.connector.health.answered(future, time.monotonic() - sent_at)
        self.connector.part_done(submission, index, future)

    async def _free_slot(self) -> None:
        window = self.connector.config.window
        while self.in_flight >= window:
            self._slot_freed.clear()
            await self._slot_freed.wait()

    # -- SessionHandler ---------------------------------------------------

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if not isinstance(request, _DELIVERIES):
            return  # alert_notification and outbind have no response (§4.12, §4.1.7)
        connector = self.connector
        answer = partial(_answer, connection, request)
        try:
            connector.listener.on_deliver(connector.config.id, request, answer)
        except Exception:
            log.exception("the deliver_sm listener failed", connector=connector.config.id)
            answer(S.ESME_RX_T_APPN)

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        """Lost submit_sm are put back by their futures' callbacks (`_part_done`)."""


def _answer(connection: SmppConnection, request: p.DeliverSm | p.DataSm, status: int) -> None:
    """Answers an operator's deliver_sm or data_sm once its effect is committed;
    if the bind dropped meanwhile, the operator sends it again on another."""
    if connection.is_open:
        # Built here rather than by `p.response_to`: 0.1 us instead of 0.36, per receipt.
        response = p.DeliverSmResp if isinstance(request, p.DeliverSm) else p.DataSmResp
        connection.respond(response(sequence_number=request.sequence_number, command_status=status))
