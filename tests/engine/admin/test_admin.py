"""Administration across shards: routing and accounts published on Redis, applied by peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import msgspec
from redis.asyncio import Redis

from engine.admin.administration import Administration, NewAccount
from engine.customers.api_keys import MemoryApiKeyStore
from engine.gateway import Gateway
from ledger.model import AccountLimits
from tests.cluster import ON_BOTH, subscribers
from tests.engine.gateway_harness import routing, running_gateway, simulator

FR = "33612345678"


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


@asynccontextmanager
async def two_shards(redis: Redis, namespace: str) -> AsyncIterator[tuple[Administration, Gateway]]:
    """Shard t1's administration, and shard t2 following what is published."""
    async with (
        running_gateway("redis", [simulator()], redis, namespace, shard="t1") as first,
        running_gateway("redis", [simulator()], redis, namespace, shard="t2") as second,
    ):
        follower = Administration(second, MemoryApiKeyStore())
        watch = asyncio.get_running_loop().create_task(follower.watch(redis))
        channels = (follower.routing_channel, follower.accounts_channel)
        try:
            async with asyncio.timeout(5):
                while await subscribers(redis, *channels) != dict.fromkeys(
                    (c.encode() for c in channels), 1
                ):
                    await asyncio.sleep(0.01)
            yield Administration(first, MemoryApiKeyStore(), redis), second
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)


def price(gateway: Gateway) -> int:
    facts = Administration(gateway, MemoryApiKeyStore()).facts(
        source="Bank", destination=FR, account="bank"
    )
    decision = gateway.pipeline.table.decide_mt(facts)
    return int(getattr(decision, "sell_per_part", -1))


@ON_BOTH
async def test_a_routing_put_reaches_every_shard(redis_client: Redis, namespace: str) -> None:
    async with two_shards(redis_client, namespace) as (admin, second):
        document = routing(["op-0"])
        document["tariffs"] = {"retail": {"rates": [{"prefix": "33", "price": 77}]}}
        await admin.put_routing(document)
        assert price(admin.gateway) == 77
        await until(lambda: price(second) == 77)
        assert msgspec.to_builtins(Administration(second, MemoryApiKeyStore()).routing) != {}


@ON_BOTH
async def test_an_account_created_on_one_shard_is_known_to_the_others(
    redis_client: Redis, namespace: str
) -> None:
    async with two_shards(redis_client, namespace) as (admin, second):
        await admin.create_account(NewAccount(id="clinic", password="pw", groups=["health"]))
        await until(lambda: "clinic" in second.accounts)
        assert second.accounts["clinic"].groups == ("health",)
        assert second.accounts["clinic"].password_hash


@ON_BOTH
async def test_a_bad_published_document_is_skipped(redis_client: Redis, namespace: str) -> None:
    async with two_shards(redis_client, namespace) as (admin, second):
        table = second.pipeline.table
        await redis_client.publish(admin.routing_channel, b'{"shard": "t9", "data": {"x": 1}}')
        await redis_client.publish(admin.routing_channel, b"not json")
        document = routing(["op-0"])
        document["tariffs"] = {"retail": {"rates": [{"prefix": "33", "price": 5}]}}
        await admin.put_routing(document)
        await until(lambda: second.pipeline.table is not table)
        assert price(second) == 5


async def test_without_redis_nothing_is_published() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        admin = Administration(gateway, MemoryApiKeyStore())
        document = routing(["op-0"])
        await admin.put_routing(document)
        assert admin.routing_document()["mt_routes"][0]["id"] == "fr"


async def test_a_stopped_connector_stays_stopped_when_changed() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        admin = Administration(gateway, MemoryApiKeyStore())
        await admin.stop_connector("op-0")
        config = msgspec.structs.replace(gateway.connectors["op-0"].config, window=3)
        view, created = await admin.put_connector(config)
        assert not created and not view.running and view.window == 3
        assert view.binds == ["stopped"]
        started = await admin.start_connector("op-0")
        assert started.running and gateway.connectors["op-0"].config.window == 3


@ON_BOTH
async def test_a_shard_starting_keeps_an_account_disabled(
    redis_client: Redis, namespace: str
) -> None:
    async with running_gateway("redis", [simulator()], redis_client, namespace) as gateway:
        await gateway.ledger.set_account("bank", AccountLimits(enabled=False, quota=7))
    async with running_gateway("redis", [simulator()], redis_client, namespace) as again:
        state = await again.ledger.get_account("bank")
        assert state is not None
        assert (state.limits.enabled, state.limits.quota) == (False, 7)
