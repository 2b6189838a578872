"""A Redis that stalls while it takes a batch of accepts.

The customer is told the message was refused, so it must be neither sent nor
charged, even though the stalled Redis runs the accept when it resumes.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from ledger.layout import HoldField, SettledMark
from smpp.aio import CommandFailed
from smpp.constants import CommandStatus as S
from smsgw.production import shard_redis
from tests.engine.gateway_harness import CREDIT, OTP, PRICE, Customer, running_gateway
from tests.engine.peers import WAIT, balance_and_held, recording_operator, until
from tests.services import REDIS_URL, TcpProxy

STALL_TIMEOUT = 0.3
"""The gateway's Redis timeout (`GatewayLimits.redis_timeout`) in this test."""


async def settled_holds(redis: Redis, namespace: str) -> list[bytes]:
    """Every hold record of the namespace (its account), then every settled mark."""
    holds = [key async for key in redis.scan_iter(match=f"{namespace}:*hold:*")]
    found = [await redis.hget(key, HoldField.ACCOUNT.value) or b"" for key in holds]
    async for key in redis.scan_iter(match=f"{namespace}:*settled:*"):
        found += await redis.hvals(key)
    return found


async def test_an_accept_that_redis_runs_after_its_timeout_is_voided(
    redis_client: Redis, namespace: str
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(REDIS_URL).port or 6379)
    await proxy.start()
    stalling = await shard_redis(f"redis://127.0.0.1:{proxy.port}/0", STALL_TIMEOUT)
    operator = recording_operator()
    try:
        async with running_gateway("redis", [operator], stalling, namespace) as gateway:
            connection = await Customer().bind(gateway)
            proxy.pause()
            with pytest.raises(CommandFailed) as caught:
                await connection.call(OTP)
            assert caught.value.status == S.ESME_RTHROTTLED
            proxy.resume()  # Redis now runs the accept it was sent
            released = [SettledMark.RELEASED.value.encode()]
            async with asyncio.timeout(WAIT):  # the void is retried until Redis answers
                while await settled_holds(redis_client, namespace) != released:
                    await asyncio.sleep(0.05)
            assert gateway.pipeline.counters["refused"] == 1
            assert await balance_and_held(gateway, "bank") == (CREDIT, 0)
            assert [entry async for entry in gateway.ledger.read_outbox()] == []

            accepted = await connection.call(OTP)  # Redis answers again
            await until(lambda: gateway.pipeline.counters["receipts"] == 1)
            assert accepted.message_id and len(operator.submitted) == 1
            assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE, 0)
            await connection.unbind()
    finally:
        proxy.resume()
        await stalling.aclose()
        await proxy.stop()
