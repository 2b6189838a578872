"""The delivery side of a shard behind a real SMPP listener, and customers
whose answers the test decides: enough to drive `CustomerDelivery` over real
sockets without operators, routes or a ledger."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from engine.customers.accounts import AccountConfig, BindRegistry
from engine.customers.delivery import CustomerDelivery
from engine.customers.held import HeldDeliveries
from engine.customers.pending import Batch, Outcome, PendingStore
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session, start_server
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import CUSTOMER_CONNECTIONS, close_customers

WAIT = 5.0
"""Seconds before any wait gives up: a hang guard, never a timing assert."""
FAR = 2e9
"""A deadline that does not pass during a test (2033)."""
_BINDS = (p.BindTransceiver, p.BindReceiver, p.BindTransmitter)


def delivery_for(
    store: PendingStore, *, held: int | HeldDeliveries = 1_000, window: int = 10
) -> CustomerDelivery:
    """A `CustomerDelivery` for the account "bank" with ``window`` slots per bind."""
    accounts = {"bank": AccountConfig(id="bank", password_hash="-", window=window)}
    limit = held if isinstance(held, HeldDeliveries) else HeldDeliveries(held)
    return CustomerDelivery(BindRegistry(), limit, accounts, store)


def deliver(n: int) -> p.DeliverSm:
    return p.DeliverSm(source_addr="33612345678", destination_addr="BANK", short_message=b"%d" % n)


def numbers(delivered: list[p.DeliverSm]) -> list[int]:
    return [int(d.short_message) for d in delivered]


class DeliveryShard:
    """Accepts any bind (system_id is the account) and tells the delivery of
    receiving ones, as `CustomerSessions` does."""

    def __init__(self, delivery: CustomerDelivery) -> None:
        self.delivery = delivery
        self._accounts: dict[SmppConnection, str] = {}

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if not isinstance(request, _BINDS):
            connection.respond(p.response_to(request, S.ESME_RINVCMDID))
            return
        connection.respond(p.response_to(request, S.ESME_ROK, system_id="smsgw"))
        self._accounts[connection] = request.system_id
        self.delivery.binds.add(request.system_id, connection)
        if not isinstance(request, p.BindTransmitter):
            self.delivery.account_bound(request.system_id)

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        account = self._accounts.pop(connection, None)
        if account is not None:
            self.delivery.binds.remove(account, connection)


@asynccontextmanager
async def serving(delivery: CustomerDelivery) -> AsyncIterator[int]:
    """A listener on a free port for ``delivery``'s account binds; yields the port."""
    server = await start_server("127.0.0.1", 0, DeliveryShard(delivery))
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for connection in list(delivery.binds.all()):
            connection.close()
        await server.wait_closed()
        await close_customers()  # both ends closed before the test's loop is


class Customer:
    """An ESME keeping every deliver_sm it gets. With ``statuses`` it answers
    at once, with each in turn and then ESME_ROK; without, when told to."""

    def __init__(self, *, manual: bool = False, statuses: tuple[int, ...] = ()) -> None:
        self.manual = manual
        self.statuses = deque(statuses)
        self.received: asyncio.Queue[p.DeliverSm] = asyncio.Queue()
        self._unanswered: deque[tuple[SmppConnection, p.Pdu]] = deque()
        self.connection: SmppConnection | None = None

    async def bind(self, port: int, kind: type[p.Pdu] = p.BindTransceiver) -> SmppConnection:
        bind = kind(system_id="bank", password="-")  # type: ignore[call-arg]
        self.connection = await open_session("127.0.0.1", port, bind, self)
        CUSTOMER_CONNECTIONS.add(self.connection)
        return self.connection

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        assert isinstance(request, p.DeliverSm)
        self.received.put_nowait(request)
        if self.manual:
            self._unanswered.append((connection, request))
        else:
            status = self.statuses.popleft() if self.statuses else S.ESME_ROK
            connection.respond(p.response_to(request, status))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        pass

    def answer(self, status: int = S.ESME_ROK) -> None:
        """Answers the oldest deliver_sm not answered yet."""
        connection, request = self._unanswered.popleft()
        connection.respond(p.response_to(request, status))

    async def next(self) -> p.DeliverSm:
        return await asyncio.wait_for(self.received.get(), WAIT)

    async def take(self, count: int) -> list[p.DeliverSm]:
        return [await self.next() for _ in range(count)]

    def close(self) -> None:
        """The customer goes away without unbinding."""
        assert self.connection is not None
        self.connection.close()


async def eventually(condition: Callable[[], Awaitable[bool] | bool]) -> None:
    """Polls ``condition`` (sync or async) every 10 ms, at most WAIT seconds."""
    async with asyncio.timeout(WAIT):
        while True:
            result = condition()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


class KillableStore:
    """A store that stops reaching its backend on `kill`: from then on the
    shard is as good as killed -9, whatever its callbacks still try."""

    def __init__(self, store: PendingStore) -> None:
        self.store = store
        self.parks = store.parks
        self.killed = False

    def kill(self) -> None:
        self.killed = True

    async def run(self, batch: Batch) -> Outcome:
        if self.killed:
            raise ConnectionError("this shard was killed")
        return await self.store.run(batch)

    async def waiting(self, accounts: list[str]) -> list[str]:
        return await self.store.waiting(accounts)

    async def hand_over_shard(self, shard: str | None) -> int:
        return await self.store.hand_over_shard(shard)
