"""Two shards' guards on one Redis namespace: counts, blocks and lifts shared."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec

from engine.fraud.guard import FraudGuard
from engine.fraud.redis_store import RedisFraudStore
from ledger.redis_client import RedisClient
from tests.clock import FakeClock
from tests.cluster import ON_BOTH, subscribers
from tests.engine.fraud.screening import QUIET, START, guard, sends, until

pytestmark = ON_BOTH
FR = "33612345678"


@asynccontextmanager
async def two_shards(
    redis: RedisClient, namespace: str, clock: FakeClock
) -> AsyncIterator[tuple[FraudGuard, FraudGuard]]:
    """Started guards of shards t1 and t2, each subscribed; their own
    exchanges are left to the test (sync_interval at its longest)."""
    limits = msgspec.structs.replace(QUIET, per_number_per_hour=3)
    shards = [
        guard(clock, RedisFraudStore(redis, namespace, shard), shard=shard,  # type: ignore[arg-type]
              limits=limits, sync_interval=60.0)
        for shard in ("t1", "t2")
    ]  # fmt: skip
    for shard in shards:
        await shard.start()
    channel = f"{namespace}:fraud"
    try:
        async with asyncio.timeout(10):
            while await subscribers(redis, channel) != {channel.encode(): 2}:
                await asyncio.sleep(0.01)
        yield shards[0], shards[1]
    finally:
        for shard in shards:
            await shard.stop()


async def test_counts_blocks_and_lifts_reach_the_other_shard(
    redis_client: RedisClient, namespace: str
) -> None:
    clock = FakeClock(START)
    async with two_shards(redis_client, namespace, clock) as (first, second):
        assert sends(first, clock, FR, 2) == ["", ""]
        assert sends(second, clock, FR, 2) == ["", ""]  # within one interval: 4 of 3
        await first.exchange()
        await second.exchange()  # it reads the first's two back
        assert sends(second, clock, FR, 1) == ["blocked_velocity"]
        await second.flush()
        await until(lambda: bool(first.blocks()))
        [block] = first.blocks()
        assert (block.shard, block.prefix, block.rule) == ("t2", FR, "velocity")
        assert sends(first, clock, FR, 1) == ["blocked_velocity"]

        await first.lift("bank", FR, allow_for=600)
        await until(lambda: not second.blocks())
        assert [a.prefix for a in second.allowances()] == [FR]
        assert sends(second, clock, FR, 1) == [""]
        assert first.metrics.refused[("bank", "velocity")] == 1
        assert (first.metrics.blocked, second.metrics.blocked) == ({}, {("bank", "velocity"): 1})
