"""Two shards on one Redis (a node, a Cluster): a decision made on one
reaches the other's approved sets; one missed is caught up by the periodic read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from engine.senders.service import SenderRegistry
from engine.senders.store import RedisSenderStore
from ledger.redis_client import RedisClient
from tests.cluster import ON_BOTH, subscribers

pytestmark = ON_BOTH
WAIT = 20.0
"""Seconds a wait may take before the test fails: a hang guard, never a timing assert."""


def shard(
    redis: RedisClient, namespace: str, name: str, reload_interval: float = 300.0
) -> SenderRegistry:
    return SenderRegistry(
        RedisSenderStore(redis, namespace), name, namespace, redis, reload_interval
    )


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def pair(
    redis_client: RedisClient, namespace: str
) -> AsyncIterator[tuple[SenderRegistry, SenderRegistry]]:
    """Shard t1, and shard t2 listening to it."""
    one, two = shard(redis_client, namespace, "t1"), shard(redis_client, namespace, "t2")
    watching = asyncio.get_running_loop().create_task(two.watch(redis_client))
    channel = two.channel.encode()
    async with asyncio.timeout(WAIT):
        while (await subscribers(redis_client, two.channel)).get(channel, 0) < 1:
            await asyncio.sleep(0.01)
    yield one, two
    watching.cancel()
    await asyncio.gather(watching, return_exceptions=True)
    await two.drain()


async def test_a_decision_on_one_shard_reaches_the_other(
    pair: tuple[SenderRegistry, SenderRegistry],
) -> None:
    one, two = pair
    await one.request("bank", "MyBank", by="api")
    await one.approve("bank", "MyBank", by="admin")
    await until(lambda: two.is_approved("bank", "MyBank"))
    assert not two.is_approved("shop", "MyBank")
    await one.reject("bank", "MyBank", "brand withdrawn", by="admin")
    await until(lambda: not two.is_approved("bank", "MyBank"))


async def test_a_decision_not_heard_is_caught_up_by_the_periodic_read(
    redis_client: RedisClient, namespace: str
) -> None:
    late = shard(redis_client, namespace, "t2", reload_interval=0.05)
    unheard = SenderRegistry(RedisSenderStore(redis_client, namespace), "t1", namespace)
    await unheard.approve("bank", "36000", by="admin")  # publishes nothing
    watching = asyncio.get_running_loop().create_task(late.watch(redis_client))
    try:
        await until(lambda: late.is_approved("bank", "36000"))
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
