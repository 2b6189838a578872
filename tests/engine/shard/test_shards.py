"""A live shard adopts the outbox of a dead one; a shard coming back waits for it."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack

import pytest
from redis.asyncio import Redis

from engine.config import GatewayLimits
from engine.shard.registry import RedisShardRegistry
from ledger.config import LedgerConfig
from ledger.redis_ledger import RedisLedger
from smpp import pdu as p
from smpp.aio import SmppConnection
from tests.cluster import ON_BOTH
from tests.engine.gateway_harness import CREDIT, PRICE, Customer, running_gateway, simulator

pytestmark = ON_BOTH

MESSAGES = 3
LIMITS = GatewayLimits(shard_heartbeat_interval=0.05, shard_heartbeat_ttl=0.3, shard_claim_ttl=10.0)


def registry(redis: Redis, namespace: str, shard: str, ttl: float = 10.0) -> RedisShardRegistry:
    return RedisShardRegistry(redis, namespace, shard, heartbeat_ttl=ttl, claim_ttl=ttl)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def outbox_of(redis: Redis, namespace: str, shard: str) -> list[str]:
    ledger = RedisLedger(redis, LedgerConfig(namespace=namespace), shard=shard)
    return sorted([entry.message_id async for entry in ledger.read_outbox()])


async def eventually(condition: object, what: str) -> None:
    """Polls an async predicate for up to 10 seconds."""
    for _ in range(500):
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def accept_on_unreachable_operator(redis: Redis, namespace: str) -> list[str]:
    """Shard "a" accepts MESSAGES it cannot submit, then stops: they stay in its outbox."""
    async with running_gateway(
        "redis",
        [simulator()],
        redis,
        namespace,
        shard="a",
        limits=LIMITS,
        connector_settings={"port": closed_port()},
        shards=registry(redis, namespace, "a", LIMITS.shard_heartbeat_ttl),
    ) as shard_a:
        customer = Customer()
        session: SmppConnection = await customer.bind(shard_a)
        ids = []
        for i in range(MESSAGES):
            request = p.SubmitSm(source_addr="BANK", destination_addr=f"3361234567{i}")
            response = await session.call(request)
            assert response.command_status == 0
            ids.append(response.message_id)
        await session.unbind()
    assert await outbox_of(redis, namespace, "a") == sorted(ids), "stopping keeps the outbox"
    return ids


@pytest.mark.parametrize("connector_prefix", ["op-", "b-op-"], ids=["same", "own connectors"])
async def test_a_live_shard_sends_what_a_dead_shard_accepted(
    redis_client: Redis, namespace: str, connector_prefix: str
) -> None:
    """Through the dead shard's connectors, or routed again to the live
    shard's own when it has none of them (at the price held)."""
    ids = await accept_on_unreachable_operator(redis_client, namespace)
    operator = simulator()
    async with running_gateway(
        "redis",
        [operator],
        redis_client,
        namespace,
        shard="b",
        limits=LIMITS,
        credit_accounts=False,
        shards=registry(redis_client, namespace, "b", LIMITS.shard_heartbeat_ttl),
        connector_prefix=connector_prefix,
    ) as shard_b:
        watcher = registry(redis_client, namespace, "watcher")

        async def settled() -> bool:
            members = await redis_client.smembers(f"{namespace}:shards")
            return (
                not await outbox_of(redis_client, namespace, "a")
                and await watcher.claimer_of("a") is None
                and b"a" not in members
            )

        await eventually(settled, "a's outbox sent, claim released, a forgotten")
        assert operator.stats.submits == len(ids)
        state = await shard_b.ledger.get_account("bank")
        assert state is not None
        assert (state.balance, state.held) == (CREDIT - MESSAGES * PRICE, 0)
        assert shard_b.pipeline.outbox.adopted_left("a") == 0


async def test_a_restarting_shard_waits_while_a_peer_holds_its_outbox(
    redis_client: Redis, namespace: str
) -> None:
    ids = await accept_on_unreachable_operator(redis_client, namespace)
    peer = registry(redis_client, namespace, "b")
    assert await peer.claim("a")
    alive = f"{namespace}:shard-alive:a"
    await redis_client.delete(alive)  # the old run's heartbeat, as if it had expired
    operator = simulator()
    async with AsyncExitStack() as stack:
        starting = asyncio.create_task(
            stack.enter_async_context(
                running_gateway(
                    "redis",
                    [operator],
                    redis_client,
                    namespace,
                    shard="a",
                    limits=LIMITS,
                    credit_accounts=False,
                    shards=registry(redis_client, namespace, "a", LIMITS.shard_heartbeat_ttl),
                )
            )
        )

        last_ttl = -2

        async def beating_again() -> bool:
            """True once the heartbeat was refreshed: a tried its claim and went round."""
            nonlocal last_ttl
            ttl, last_ttl = last_ttl, await redis_client.pttl(alive)
            return ttl > 0 and last_ttl > ttl

        await eventually(beating_again, "a beats while it waits for its outbox")
        assert not starting.done()
        assert operator.stats.submits == 0
        assert await peer.release("a")
        shard_a = await starting

        async def sent() -> bool:
            return not await outbox_of(redis_client, namespace, "a")

        await eventually(sent, "a's own outbox sent after the peer released it")
        assert operator.stats.submits == len(ids)
        state = await shard_a.ledger.get_account("bank")
        assert state is not None
        assert (state.balance, state.held) == (CREDIT - MESSAGES * PRICE, 0)


async def test_a_claim_is_exclusive_and_only_its_owner_keeps_or_releases_it(
    redis_client: Redis, namespace: str
) -> None:
    a, b = registry(redis_client, namespace, "a"), registry(redis_client, namespace, "b")
    assert await a.claim("dead")
    assert not await b.claim("dead")
    assert await b.claimer_of("dead") == "a"
    assert not await b.keep("dead")
    assert not await b.release("dead")
    assert await a.keep("dead")
    assert await a.release("dead")
    assert await b.claimer_of("dead") is None
    assert await b.claim("dead")


async def test_dead_peers_are_known_shards_without_a_heartbeat(
    redis_client: Redis, namespace: str
) -> None:
    a, b = registry(redis_client, namespace, "a"), registry(redis_client, namespace, "b")
    await a.beat()
    await b.beat()
    assert await a.dead_peers() == []
    await redis_client.delete(f"{namespace}:shard-alive:b")
    assert await a.dead_peers() == ["b"]
    assert await b.dead_peers() == []
    await a.forget("b")
    assert await a.dead_peers() == []
