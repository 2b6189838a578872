"""CustomerDelivery on both stores: one send per answer, a backlog past the
held limit kept and delivered in order, answers and pauses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from engine.customers.delivery import CustomerDelivery
from engine.customers.held import HeldDeliveries
from engine.customers.pending import Delivery, Entry, MemoryPending, PendingStore
from engine.customers.redis_pending import RedisPending
from engine.shard.parking import RedisParking
from ledger.memory import MemoryLedger
from smpp.constants import CommandStatus as S
from tests.engine.customers.delivery_harness import (
    FAR,
    Customer,
    deliver,
    delivery_for,
    eventually,
    numbers,
    serving,
)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[PendingStore]:
    """Each store, empty: the in-memory twin and Redis (a fresh namespace)."""
    if request.param == "memory":
        yield MemoryPending(MemoryLedger())
        return
    redis: Redis = request.getfixturevalue("redis_client")
    yield RedisPending(RedisParking(redis, namespace, max_per_account=100, idle_ttl=600), "s1")


async def stored(store: PendingStore) -> int:
    if isinstance(store, RedisPending):
        return int(await store.parking.redis.xlen(store.stream("bank")))
    assert isinstance(store, MemoryPending)
    return len(store)


class CountingHeld(HeldDeliveries):
    """Counts what is taken from and put into the held queues."""

    def __init__(self, max_per_account: int) -> None:
        super().__init__(max_per_account)
        self.pops = 0
        self.admits = 0

    def pop(self, account: str) -> Entry | None:
        self.pops += 1
        return super().pop(account)

    def admit(self, account: str, entry: Entry) -> bool:
        self.admits += 1
        return super().admit(account, entry)


async def test_each_answer_sends_one_held_delivery_and_touches_no_other(
    store: PendingStore,
) -> None:
    held = CountingHeld(1_000)
    delivery = delivery_for(store, held=held, window=3)
    async with serving(delivery) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(200)])
        assert numbers(await customer.take(3)) == [0, 1, 2]
        assert len(held) == 197
        pops, admits = held.pops, held.admits
        for answered in range(1, 21):
            customer.answer()
            assert numbers([await customer.next()]) == [2 + answered]
            assert len(held) == 197 - answered
            assert held.pops == pops + answered
        assert held.admits == admits, "answers never hold the rest again"
        await delivery.drain()
        assert await stored(store) == 200 - 20


async def test_past_the_held_limit_deliveries_wait_in_the_store_and_all_arrive_in_order(
    store: PendingStore,
) -> None:
    delivery = delivery_for(store, held=4, window=1)
    async with serving(delivery) as port:
        customer = Customer()
        await customer.bind(port)
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(30)])
        assert delivery.outcomes["bank", "overflowed"] == 26
        assert numbers(await customer.take(30)) == list(range(30))
        await eventually(lambda: delivery.outcomes["bank", "delivered"] == 30)
        await delivery.drain()
    assert await stored(store) == 0
    assert not delivery.held.overflowing("bank")


async def test_deliveries_committed_while_overflowing_keep_their_turn(
    store: PendingStore,
) -> None:
    delivery = delivery_for(store, held=2, window=1)
    async with serving(delivery) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(5)])
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(5, 8)])
        received = [await customer.next()]
        for _ in range(7):
            customer.answer()
            received.append(await customer.next())
        customer.answer()
        assert numbers(received) == list(range(8))


async def test_a_temporary_error_pauses_the_account_and_sends_again(store: PendingStore) -> None:
    delivery = delivery_for(store)
    async with serving(delivery) as port:
        customer = Customer(statuses=(S.ESME_RX_T_APPN,))
        await customer.bind(port)
        await delivery.commit([Delivery("bank", deliver(1), FAR)])
        assert numbers(await customer.take(2)) == [1, 1]
        await eventually(lambda: delivery.outcomes["bank", "delivered"] == 1)
        await delivery.drain()
    assert await stored(store) == 0


async def test_a_permanent_error_ends_the_delivery(store: PendingStore) -> None:
    delivery = delivery_for(store)
    async with serving(delivery) as port:
        customer = Customer(statuses=(S.ESME_RX_P_APPN,))
        await customer.bind(port)
        await delivery.commit(
            [Delivery("bank", deliver(1), FAR), Delivery("bank", deliver(2), FAR)]
        )
        assert numbers(await customer.take(2)) == [1, 2]
        await eventually(lambda: delivery.outcomes["bank", "delivered"] == 1)
        await eventually(lambda: delivery.outcomes["bank", "refused"] == 1)
        await delivery.drain()
    assert await stored(store) == 0


async def test_expired_deliveries_are_skipped_when_their_turn_comes(store: PendingStore) -> None:
    delivery = delivery_for(store, window=1)
    soon = time.time() + 0.2
    async with serving(delivery) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        await delivery.commit(
            [
                Delivery("bank", deliver(1), FAR),
                Delivery("bank", deliver(2), soon),
                Delivery("bank", deliver(3), FAR),
            ]
        )
        assert numbers([await customer.next()]) == [1]
        await eventually(lambda: time.time() > soon)
        customer.answer()
        assert numbers([await customer.next()]) == [3]
        customer.answer()
        await eventually(lambda: delivery.outcomes["bank", "delivered"] == 2)
        await delivery.drain()
    assert delivery.outcomes["bank", "expired"] == 1
    assert await stored(store) == 0


async def test_what_waits_goes_out_when_the_account_binds(store: PendingStore) -> None:
    """Embedded mode holds it in memory; with Redis it is parked and claimed."""
    delivery = delivery_for(store)
    async with serving(delivery) as port:
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(3)])
        customer = Customer()
        await customer.bind(port)
        assert numbers(await customer.take(3)) == [0, 1, 2]


async def test_commit_of_nothing_returns_at_once() -> None:
    delivery: CustomerDelivery = delivery_for(MemoryPending(MemoryLedger()))
    await delivery.commit([])
    await delivery.drain()
