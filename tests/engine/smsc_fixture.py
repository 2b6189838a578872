"""A small operator SMSC over real loopback sockets, for the connector tests.

It binds anyone whose password is "secret", answers each submit_sm with the
status its ``answer`` function picks (or holds it until the test releases
it), records what arrived on which connection, and tracks the most submit_sm
any one connection had unanswered: the connector's window as the operator
sees it. Tests wait on its `Signal` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from smpp import pdu as p
from smpp.aio import SessionLimits, SmppConnection, start_server
from smpp.constants import CommandStatus as S

PASSWORD = "secret"
WAIT_LIMIT = 5.0
"""Seconds before a wait in a test gives up: a hang guard, never a timing assert."""

HOLD = -1
"""What ``answer`` returns to keep a submit_sm unanswered until `release`."""


class Signal:
    """Wakes waiters whenever something changed, so they re-check their condition."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def changed(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_LIMIT):
            while not condition():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter


class Smsc:
    """The SessionHandler of every connection the test SMSC accepts."""

    def __init__(self, answer: Callable[[p.SubmitSm], int] | None = None) -> None:
        self.answer = answer or (lambda submit: S.ESME_ROK)
        self.signal = Signal()
        self.port = 0
        self.bound: list[SmppConnection] = []
        self.submits: list[tuple[SmppConnection, p.SubmitSm]] = []
        self.held: list[tuple[SmppConnection, p.SubmitSm]] = []
        self.issued: list[str] = []
        """Message ids given in submit_sm_resp, in order."""
        self.max_unanswered = 0
        self.on_submit: Callable[[p.SubmitSm], None] | None = None
        self._unanswered: dict[SmppConnection, int] = {}
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on a free port, or on the same port again after `stop`."""
        limits = SessionLimits(tick=0.05)
        self._server = await start_server("127.0.0.1", self.port, self, limits)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection, as an SMSC restart does."""
        assert self._server is not None
        self._server.close()
        for connection in list(self._unanswered):
            connection.close()
        await self._server.wait_closed()
        await self.signal.wait_until(lambda: not self._unanswered)

    # -- SessionHandler ---------------------------------------------------

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if isinstance(request, p.BindTransmitter | p.BindTransceiver | p.BindReceiver):
            status = S.ESME_ROK if request.password == PASSWORD else S.ESME_RINVPASWD
            connection.respond(p.response_to(request, status, system_id="testsmsc"))
            if status == S.ESME_ROK:
                self.bound.append(connection)
                self._unanswered[connection] = 0
        elif isinstance(request, p.SubmitSm):
            self._submit_received(connection, request)
        self.signal.changed()

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        if connection in self.bound:
            self.bound.remove(connection)
        self._unanswered.pop(connection, None)
        self.held = [(held, submit) for held, submit in self.held if held is not connection]
        self.signal.changed()

    def _submit_received(self, connection: SmppConnection, submit: p.SubmitSm) -> None:
        if self.on_submit is not None:
            self.on_submit(submit)
        self.submits.append((connection, submit))
        unanswered = self._unanswered[connection] + 1
        self._unanswered[connection] = unanswered
        self.max_unanswered = max(self.max_unanswered, unanswered)
        status = self.answer(submit)
        if status == HOLD:
            self.held.append((connection, submit))
        else:
            self._respond(connection, submit, status)

    # -- for the tests ----------------------------------------------------

    def _respond(self, connection: SmppConnection, submit: p.SubmitSm, status: int) -> None:
        self._unanswered[connection] -= 1
        message_id = ""
        if status == S.ESME_ROK:
            message_id = f"op-{next(self._ids)}"
            self.issued.append(message_id)
        connection.respond(p.response_to(submit, status, message_id=message_id))

    def release(self, count: int | None = None, status: int = S.ESME_ROK) -> None:
        """Answer the ``count`` oldest held submit_sm (all by default)."""
        count = len(self.held) if count is None else count
        released, self.held = self.held[:count], self.held[count:]
        for connection, submit in released:
            self._respond(connection, submit, status)
        self.signal.changed()

    def submitted_to(self, destination: str) -> int:
        return sum(1 for _, submit in self.submits if submit.destination_addr == destination)

    async def deliver(self, connection: SmppConnection, deliver: p.DeliverSm) -> p.Pdu:
        """Send a deliver_sm to the connector and return its response."""
        return await connection.request(deliver)
