"""Deliveries stored in Redis outlive the shard that stored them: a restart,
a dead shard, a lost bind; answered ones leave Redis; nothing is dropped
without being counted and told."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from engine.config import GatewayLimits
from engine.customers.delivery import CustomerDelivery
from engine.customers.pending import Delivery
from engine.customers.redis_pending import RedisPending
from engine.messages.history import MessageHistory
from engine.shard.parking import RedisParking
from engine.shard.registry import RedisShardRegistry
from ledger.events import MessageEvent, MessageState, decode_events
from smpp.constants import CommandStatus as S
from tests.engine.customers.delivery_harness import (
    FAR,
    Customer,
    KillableStore,
    deliver,
    delivery_for,
    eventually,
    numbers,
    serving,
)
from tests.engine.gateway_harness import Customer as HarnessCustomer
from tests.engine.gateway_harness import running_gateway, simulator
from tests.services import REDIS_URL


def told(logs: list[dict[str, Any]], event: str) -> list[object]:
    """The per-account counts of each ``event`` line logged."""
    return [e["accounts"] for e in logs if e["event"].startswith(event)]


def parking_of(redis: Redis, namespace: str, cap: int = 1_000) -> RedisParking:
    return RedisParking(redis, namespace, max_per_account=cap, idle_ttl=600)


async def left_stored_by_killed_shard(
    parking: RedisParking, shard: str, answered: int, total: int
) -> KillableStore:
    """Shard ``shard`` sends ``total`` deliveries, hears ``answered`` answers
    (ESME_ROK), and is killed -9 with the rest unanswered."""
    store = KillableStore(RedisPending(parking, shard))
    delivery = delivery_for(store)
    async with serving(delivery) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(total)])
        assert numbers(await customer.take(total)) == list(range(total))
        for _ in range(answered):
            customer.answer()
        await eventually(lambda: delivery.outcomes["bank", "delivered"] == answered)
        await delivery.drain()
        store.kill()
        customer.close()
    await delivery.drain()
    return store


async def message_events(redis: Redis, parking: RedisParking, account: str) -> list[MessageEvent]:
    """The message events in ``account``'s bucket stream, as the persister reads them."""
    bucket = parking.keys.bucket_of(account)
    entries = await redis.xrange(parking.keys.events(bucket))
    events = [
        event
        for entry_id, fields in entries
        for event in decode_events(bucket, entry_id.decode(), fields)
    ]
    return [event for event in events if isinstance(event, MessageEvent)]


async def test_once_a_commit_returns_the_events_of_its_round_are_in_the_ledgers_streams(
    redis_client: Redis, namespace: str
) -> None:
    """A receipt's event and our receipt for the customer are written by the
    same round: the operator's answer waits for nothing else."""
    parking = parking_of(redis_client, namespace)
    pending = RedisPending(parking, "s1")
    delivery = delivery_for(pending)
    other = next(
        f"acct{n}" for n in range(100) if parking.prefix(f"acct{n}") != parking.prefix("bank")
    )
    async with serving(delivery) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        history = MessageHistory(delivery)
        history.record(
            "m1", "bank", MessageState.DELIVERED, connector="op", operator_message_id="X1"
        )
        history.record_described("m2", other, MessageState.ACCEPTED, parts=2, destination="+4179")
        await delivery.commit([Delivery("bank", deliver(0), FAR)])
        [delivered] = await message_events(redis_client, parking, "bank")
        [accepted] = await message_events(redis_client, parking, other)
        assert await redis_client.xlen(pending.stream("bank")) == 1
        assert (delivered.message_id, delivered.state, delivered.operator_message_id) == (
            "m1", MessageState.DELIVERED, "X1",
        )  # fmt: skip
        assert (accepted.message_id, accepted.parts, accepted.destination) == ("m2", 2, "+4179")
        customer.close()
    await delivery.drain()


async def test_a_restarted_shard_sends_what_its_previous_run_left_unanswered(
    redis_client: Redis, namespace: str
) -> None:
    parking = parking_of(redis_client, namespace)
    killed = await left_stored_by_killed_shard(parking, "s1", answered=2, total=5)
    pending = RedisPending(parking, "s1")
    assert await redis_client.xlen(pending.stream("bank")) == 3, "answered ones left Redis"

    restarted = delivery_for(RedisPending(parking, "s1"))
    assert await restarted.recover() == 3
    async with serving(restarted) as port:
        customer = Customer()
        await customer.bind(port)
        assert numbers(await customer.take(3)) == [2, 3, 4]
        await eventually(lambda: restarted.outcomes["bank", "delivered"] == 3)
        await restarted.drain()
    assert await redis_client.xlen(pending.stream("bank")) == 0
    assert await redis_client.exists(parking.key("bank")) == 0
    assert killed.killed


async def test_a_peer_parks_what_a_dead_shard_stored_for_any_shard_with_a_bind(
    redis_client: Redis, namespace: str
) -> None:
    parking = parking_of(redis_client, namespace)
    await left_stored_by_killed_shard(parking, "dead", answered=1, total=4)
    peer = delivery_for(RedisPending(parking, "peer"))
    assert await peer.recover("dead") == 3
    assert await peer.recover("dead") == 0, "adopted once"
    assert await redis_client.llen(parking.key("bank")) == 3
    async with serving(peer) as port:
        customer = Customer()
        await customer.bind(port)
        assert numbers(await customer.take(3)) == [1, 2, 3]


async def test_a_lost_bind_parks_what_was_held_and_in_flight(
    redis_client: Redis, namespace: str
) -> None:
    parking = parking_of(redis_client, namespace)
    pending = RedisPending(parking, "s1")
    delivery = delivery_for(pending, window=2)
    async with serving(delivery) as port:
        gone = Customer(manual=True)
        await gone.bind(port)
        await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(5)])
        assert numbers(await gone.take(2)) == [0, 1]
        gone.close()
        await eventually(lambda: redis_client.llen(parking.key("bank")))
        await delivery.drain()
        assert await redis_client.llen(parking.key("bank")) == 5
        assert await redis_client.exists(pending.stream("bank")) == 0
        assert len(delivery.held) == 0

        back = Customer()
        await back.bind(port)
        assert sorted(numbers(await back.take(5))) == list(range(5))


async def test_past_the_parking_cap_the_oldest_are_dropped_counted_and_told_once(
    redis_client: Redis, namespace: str
) -> None:
    parking = parking_of(redis_client, namespace, cap=2)
    delivery = delivery_for(RedisPending(parking, "s1"))
    with capture_logs() as logs:
        for i in range(5):
            await delivery.commit([Delivery("bank", deliver(i), FAR)])
        await eventually(lambda: told(logs, "parked receipts dropped"))
    assert delivery.outcomes["bank", "dropped"] == 3
    assert told(logs, "parked receipts dropped") == [{"bank": 1}], "the first now, the rest later"
    async with serving(delivery) as port:
        customer = Customer()
        await customer.bind(port)
        assert numbers(await customer.take(2)) == [3, 4]


async def test_overflow_is_told_in_one_line_not_one_per_delivery(
    redis_client: Redis, namespace: str
) -> None:
    delivery = delivery_for(RedisPending(parking_of(redis_client, namespace), "s1"), held=2)
    async with serving(delivery) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        with capture_logs() as logs:
            await delivery.commit([Delivery("bank", deliver(i), FAR) for i in range(50)])
            await eventually(lambda: told(logs, "receipts past the held limit"))
        assert told(logs, "receipts past the held limit") == [{"bank": 48}], "all but two"


async def test_a_commit_the_store_refused_raises_and_promises_nothing() -> None:
    redis = Redis.from_url(REDIS_URL.replace(":6379", ":1"))
    delivery: CustomerDelivery = delivery_for(
        RedisPending(RedisParking(redis, "unreachable", max_per_account=10, idle_ttl=60), "s1")
    )
    try:
        async with serving(delivery) as port:
            customer = Customer()
            await customer.bind(port)
            with pytest.raises(RedisConnectionError):
                await delivery.commit([Delivery("bank", deliver(1), FAR)])
            assert customer.received.empty()
            await delivery.drain()
    finally:
        await redis.aclose()


async def test_a_claim_moves_parked_deliveries_into_the_claiming_shards_store(
    redis_client: Redis, namespace: str
) -> None:
    """Claimed, they are in Redis until answered: a kill -9 then loses none."""
    parking = parking_of(redis_client, namespace)
    parker = delivery_for(RedisPending(parking, "a"))
    await parker.commit([Delivery("bank", deliver(i), FAR) for i in range(3)])
    claimer_store = RedisPending(parking, "b")
    claimer = delivery_for(claimer_store)
    async with serving(claimer) as port:
        customer = Customer(manual=True)
        await customer.bind(port)
        assert numbers(await customer.take(3)) == [0, 1, 2]
        assert await redis_client.llen(parking.key("bank")) == 0
        assert await redis_client.xlen(claimer_store.stream("bank")) == 3
        customer.answer(S.ESME_ROK)
        await eventually(lambda: claimer.outcomes["bank", "delivered"] == 1)
        await claimer.drain()
        assert await redis_client.xlen(claimer_store.stream("bank")) == 2


async def test_a_live_gateway_adopts_what_a_dead_shard_stored(
    redis_client: Redis, namespace: str
) -> None:
    """The outbox takeover parks a dead shard's stored deliveries too."""
    limits = GatewayLimits(
        shard_heartbeat_interval=0.05, shard_heartbeat_ttl=0.3, shard_claim_ttl=10.0
    )
    parking = parking_of(redis_client, namespace)
    await left_stored_by_killed_shard(parking, "dead", answered=0, total=2)
    dead = RedisShardRegistry(redis_client, namespace, "dead", heartbeat_ttl=0.05, claim_ttl=1)
    await dead.beat()
    await eventually(lambda: dead_already(dead))
    alive = RedisShardRegistry(
        redis_client, namespace, "alive", heartbeat_ttl=limits.shard_heartbeat_ttl, claim_ttl=10
    )
    async with running_gateway(
        "redis", [simulator()], redis_client, namespace, shard="alive", limits=limits, shards=alive
    ) as gateway:
        customer = HarnessCustomer()
        await customer.bind(gateway)
        received = [await asyncio.wait_for(customer.delivered.get(), 10) for _ in range(2)]
        assert sorted(numbers(received)) == [0, 1]  # type: ignore[arg-type]


async def dead_already(registry: RedisShardRegistry) -> bool:
    return not await registry.is_alive("dead")
