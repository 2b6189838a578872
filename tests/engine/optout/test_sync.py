"""Two shards on one Redis (a node, a Cluster): a change made on one reaches
the other's mirror, whatever its size; a change missed is caught up by the
periodic read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from engine.optout.config import OptOutConfig
from engine.optout.service import CHANGE_NUMBERS_MAX, OptOut
from engine.optout.store import RedisOptOutStore
from ledger.redis_client import RedisClient
from tests.cluster import ON_BOTH, subscribers

pytestmark = ON_BOTH
FR, IR = "33612345678", "989121234567"
WAIT = 20.0
"""Seconds a wait may take before the test fails: a hang guard, never a timing assert."""


def shard(redis: RedisClient, namespace: str, name: str, reload_interval: float = 300.0) -> OptOut:
    store = RedisOptOutStore(redis, namespace)
    return OptOut(store, OptOutConfig(reload_interval=reload_interval), name, namespace, redis)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def pair(redis_client: RedisClient, namespace: str) -> AsyncIterator[tuple[OptOut, OptOut]]:
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


async def test_a_change_on_one_shard_reaches_the_other(pair: tuple[OptOut, OptOut]) -> None:
    one, two = pair
    assert await one.add("bank", [FR], "api") == [FR]
    assert one.listed("bank", FR)
    await until(lambda: two.listed("bank", FR))
    assert not two.listed("shop", FR) and not two.listed(None, FR)
    await one.add(None, [IR], "admin")
    await until(lambda: two.listed(None, IR))
    assert await one.remove("bank", [FR]) == 1
    await until(lambda: not two.listed("bank", FR))


async def test_a_large_change_makes_the_other_read_the_list_whole(
    pair: tuple[OptOut, OptOut],
) -> None:
    one, two = pair
    numbers = [str(33_600_000_000 + i) for i in range(CHANGE_NUMBERS_MAX + 1)]
    assert len(await one.add("shop", numbers, "import")) == len(numbers)
    await until(lambda: two.mirror.size("shop") == len(numbers))


async def test_a_shard_reads_the_lists_at_start_and_catches_up_later(
    redis_client: RedisClient, namespace: str
) -> None:
    one = shard(redis_client, namespace, "t1")
    await one.add("bank", [FR], "mo")
    await one.add(None, [IR], "admin")
    late = shard(redis_client, namespace, "t2", reload_interval=0.05)
    await late.load()
    assert late.listed("bank", FR) and late.listed(None, IR)
    unheard = OptOut(one.store, OptOutConfig(), "t1", namespace)  # publishes nothing
    watching = asyncio.get_running_loop().create_task(late.watch(redis_client))
    try:
        await unheard.remove("bank", [FR])
        await until(lambda: not late.listed("bank", FR))
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
