"""The fraud store's contract, in memory and on Redis (a node and a Cluster)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from engine.fraud.memory_store import MemoryFraudStore
from engine.fraud.redis_store import RedisFraudStore
from engine.fraud.settings import FraudSettings
from engine.fraud.store import Allowance, Block, FraudStore
from ledger.redis_client import RedisClient
from tests.cluster import ON_EACH_BACKEND, subscribers
from tests.engine.fraud.screening import START, until

pytestmark = ON_EACH_BACKEND


def block(
    prefix: str = "8823910", since: float = START, until_: float = 0.0, shard: str = "t1"
) -> Block:
    reason = f"spike: 120 messages to prefix {prefix}"
    return Block(
        account="bank", prefix=prefix, rule="spike", reason=reason, since=since, until=until_,
        shard=shard,
    )  # fmt: skip


@pytest.fixture
async def stores(
    backend: str, redis_client: RedisClient, namespace: str
) -> AsyncIterator[Callable[[str], FraudStore]]:
    """Stores of shards sharing one namespace (one memory store, or Redis)."""
    if backend == "memory":
        shared = MemoryFraudStore()
        yield lambda shard: shared
        return
    yield lambda shard: RedisFraudStore(redis_client, namespace, shard)


async def test_a_block_is_kept_once_until_it_ends_or_is_lifted(
    stores: Callable[[str], FraudStore],
) -> None:
    store = stores("t1")
    assert await store.add_block(block(until_=START + 60))
    assert not await store.add_block(block(shard="t2"))  # the first one is in force
    assert (await store.records(START)).blocks == [block(until_=START + 60)]
    assert await store.add_block(block(since=START + 60, until_=START + 120, shard="t2"))
    [held] = (await store.records(START + 61)).blocks
    assert held.shard == "t2"
    assert (await store.records(START + 120)).blocks == []  # ended: forgotten


async def test_a_lift_removes_the_block_and_keeps_its_allowance_until_it_ends(
    stores: Callable[[str], FraudStore],
) -> None:
    store = stores("t1")
    await store.add_block(block())
    allowance = Allowance(account="bank", prefix="8823910", until=START + 60, lifted=block())
    assert await store.lift("bank", "8823910", allowance) == block()
    records = await store.records(START)
    assert (records.blocks, records.allowances) == ([], [allowance])
    assert await store.lift("bank", "8823910", None) is None
    assert (await store.records(START + 60)).allowances == []


async def test_settings_are_kept_per_account(stores: Callable[[str], FraudStore]) -> None:
    store = stores("t1")
    settings = FraudSettings(countries=("FR",), prefixes=("44770",), spike_floor=7)
    await store.put_settings("bank", settings)
    assert (await store.records(START)).settings == {"bank": settings}


async def test_counts_add_up_and_old_buckets_go(
    stores: Callable[[str], FraudStore], redis_client: RedisClient, backend: str
) -> None:
    first, second = stores("t1"), stores("t2")
    assert await first.add_counts({"prefix:bank:3361234": {10: 2, 11: 1}}, 0, 600) == {
        "prefix:bank:3361234": {10: 2, 11: 1}
    }
    totals = await second.add_counts({"prefix:bank:3361234": {11: 4}, "number:bank:1": {}}, 11, 600)
    assert totals == {"prefix:bank:3361234": {11: 5}, "number:bank:1": {}}
    if backend == "redis":
        await redis_client.script_flush()  # a restarted Redis: the script is loaded again
        totals = await first.add_counts({"prefix:bank:3361234": {12: 1}}, 11, 600)
        assert totals == {"prefix:bank:3361234": {11: 5, 12: 1}}


async def test_a_change_is_told_to_the_other_shards(
    stores: Callable[[str], FraudStore], redis_client: RedisClient, backend: str
) -> None:
    publisher, follower = stores("t1"), stores("t2")
    told = asyncio.Event()
    watching = asyncio.get_running_loop().create_task(follower.watch(told.set))
    try:
        if isinstance(follower, RedisFraudStore):
            channel = follower.channel.encode()
            async with asyncio.timeout(10):
                while await subscribers(redis_client, follower.channel) != {channel: 1}:
                    await asyncio.sleep(0.01)
        else:
            assert isinstance(follower, MemoryFraudStore)
            await until(lambda: follower.watching == 1)
        await publisher.add_block(block())
        async with asyncio.timeout(10):
            await told.wait()
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
