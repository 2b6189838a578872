"""deliver_sm on their way from the simulated SMSC to the accounts' binds.

Receipts and MO for an account go to its receiver and transceiver binds in
turn, each bind taking at most ``window`` unanswered deliver_sm (§2.7 leaves
the window to the peers). What cannot go now waits in the account's queue, not
in a coroutine, until a bind appears or answers, and is dropped after
``max_wait``. A deliver_sm the ESME refuses is sent again after ``retry``; one
lost with its connection is sent again at once, on another bind if any.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial

import msgspec

from bench.smsc_sim_timing import DelayQueue
from smpp import pdu as p
from smpp.aio import SmppConnection
from smpp.constants import CommandStatus as S
from smpp.state import SessionState

_BOUND_RX, _BOUND_TRX = SessionState.BOUND_RX, SessionState.BOUND_TRX
_OK = S.ESME_ROK
"""Hoisted: reading an enum member off its class costs more than using it, per message."""


class DeliveryCounts(msgspec.Struct):
    """What happened to the deliver_sm we sent."""

    receipts_sent: int = 0
    receipts_acked: int = 0
    receipts_dropped: int = 0
    """Never acknowledged within the wait allowed."""
    mo_sent: int = 0
    mo_acked: int = 0
    mo_dropped: int = 0
    deliver_failures: int = 0
    """deliver_sm answered with an error, timed out or lost with its connection."""


class Delivery(msgspec.Struct, gc=False):
    """One deliver_sm for one account, receipt or MO."""

    system_id: str
    pdu: p.DeliverSm
    deadline: float
    """Loop time after which it is dropped rather than sent."""
    is_receipt: bool


class ReceiverBinds:
    """One account's receiver and transceiver binds, taken in turn."""

    def __init__(self) -> None:
        self.binds: list[SmppConnection] = []
        self._turn = 0

    def pick(self, window: int) -> SmppConnection | None:
        """The next bind that can take a deliver_sm now, if any."""
        binds = self.binds
        count = len(binds)
        for step in range(count):
            bind = binds[(self._turn + step) % count]
            state = bind.state  # compared by identity: hashing an Enum is a Python call
            if (
                bind.in_flight < window
                and (state is _BOUND_RX or state is _BOUND_TRX)
                and bind.is_open
            ):
                self._turn = (self._turn + step + 1) % count
                return bind
        return None


class DeliveryOutbox:
    """Per-account queues of deliver_sm in front of the binds that take them."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timers: DelayQueue,
        counts: DeliveryCounts,
        *,
        window: int,
        retry: float,
        max_wait: float,
    ) -> None:
        self._loop = loop
        self._timers = timers
        self._counts = counts
        self._window = window
        self._retry = retry
        self._max_wait = max_wait
        self._receivers: dict[str, ReceiverBinds] = {}
        self._queues: dict[str, deque[Delivery]] = {}
        self._open = True

    def close(self) -> None:
        """Send nothing more; what is queued is forgotten."""
        self._open = False
        self._queues.clear()

    def add_receiver(self, connection: SmppConnection) -> None:
        """A receiver or transceiver bind of ``connection.system_id`` is up."""
        receivers = self._receivers.setdefault(connection.system_id, ReceiverBinds())
        receivers.binds.append(connection)
        self._drain(connection.system_id)

    def remove_receiver(self, connection: SmppConnection) -> None:
        receivers = self._receivers.get(connection.system_id)
        if receivers is not None and connection in receivers.binds:
            receivers.binds.remove(connection)

    def bound_accounts(self) -> list[str]:
        """Accounts with at least one receiver or transceiver bind."""
        return [system_id for system_id, receivers in self._receivers.items() if receivers.binds]

    def deliver(self, system_id: str, pdu: p.DeliverSm, *, is_receipt: bool) -> None:
        """Send ``pdu`` to ``system_id`` now or as soon as one of its binds can."""
        deadline = self._loop.time() + self._max_wait
        self._enqueue(Delivery(system_id, pdu, deadline, is_receipt))

    def expire(self) -> None:
        """Drop what waited too long, so counters and memory stay honest when
        an account never binds."""
        for system_id in list(self._queues):
            self._drain(system_id)

    def _enqueue(self, delivery: Delivery) -> None:
        if not self._open:
            return
        queue = self._queues.get(delivery.system_id)
        if queue is None:
            if self._send(delivery):
                return
            queue = self._queues[delivery.system_id] = deque()
        queue.append(delivery)

    def _send(self, delivery: Delivery) -> bool:
        receivers = self._receivers.get(delivery.system_id)
        bind = receivers.pick(self._window) if receivers is not None else None
        if bind is None:
            return False
        bind.request(delivery.pdu).add_done_callback(partial(self._answered, delivery))
        if delivery.is_receipt:
            self._counts.receipts_sent += 1
        else:
            self._counts.mo_sent += 1
        return True

    def _drain(self, system_id: str) -> None:
        queue = self._queues.get(system_id)
        if queue is None:
            return
        now = self._loop.time()
        while queue:
            delivery = queue[0]
            if delivery.deadline <= now:
                queue.popleft()
                self._count_dropped(delivery)
            elif self._send(delivery):
                queue.popleft()
            else:
                break
        if not queue:
            del self._queues[system_id]

    def _answered(self, delivery: Delivery, outcome: asyncio.Future[p.Pdu]) -> None:
        if outcome.cancelled():
            return
        error = outcome.exception()
        if not self._open:
            return
        if error is None and outcome.result().command_status == _OK:
            if delivery.is_receipt:
                self._counts.receipts_acked += 1
            else:
                self._counts.mo_acked += 1
        else:
            self._counts.deliver_failures += 1
            if delivery.deadline <= self._loop.time():
                self._count_dropped(delivery)
            elif error is None:
                self._timers.call_later(self._retry, self._enqueue, delivery)
            else:
                self._enqueue(delivery)
        self._drain(delivery.system_id)

    def _count_dropped(self, delivery: Delivery) -> None:
        if delivery.is_receipt:
            self._counts.receipts_dropped += 1
        else:
            self._counts.mo_dropped += 1
