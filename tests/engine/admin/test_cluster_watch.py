"""Admin changes on a Redis Cluster: a shard listening on one node hears
changes published through any node, and subscribes again on another node
when its node dies."""

from __future__ import annotations

import asyncio
import contextlib

from redis.exceptions import RedisError

from bench.redis_cluster import LocalCluster
from engine.admin.publishing import ShardChannels
from tests.cluster import client_for, subscribers

WAIT = 60.0
"""Seconds any wait may take before the test fails: a hang guard, never a timing assert."""


async def test_a_watcher_whose_node_dies_listens_on_another() -> None:
    cluster = LocalCluster()  # this test's own: it ends with a node killed
    await asyncio.to_thread(cluster.start)
    redis = await client_for(cluster.url)
    heard: list[object] = []
    follower = ShardChannels("t2", "ns", None)
    watching = asyncio.get_running_loop().create_task(
        follower.watch(redis, {follower.routing: heard.append})
    )
    try:
        await redis.initialize()
        listened = min(redis.get_nodes(), key=lambda node: node.name).port  # its first node
        publisher = ShardChannels("t1", "ns", redis)
        async with asyncio.timeout(WAIT):
            while await subscribers(redis, follower.routing) != {follower.routing.encode(): 1}:
                await asyncio.sleep(0.02)
            await publisher.publish(follower.routing, {"change": 1})
            while not heard:
                await asyncio.sleep(0.02)
        cluster.kill(listened)
        await asyncio.to_thread(cluster.wait_ok)  # its replica serves its slots
        async with asyncio.timeout(WAIT):
            while len(heard) < 2:  # published until heard: the first may come before it listens
                with contextlib.suppress(RedisError):  # the client may still try the dead node
                    await publisher.publish(follower.routing, {"change": 2})
                await asyncio.sleep(0.2)
        assert heard[0] == {"change": 1} and heard[-1] == {"change": 2}
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await redis.aclose()
        cluster.stop()
