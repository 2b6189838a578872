"""`smsgw serve`: one shard on the real backends.

Redis (``SMSGW_REDIS_URL``) holds balances, holds, outboxes and receipt
correlation; PostgreSQL (``SMSGW_DATABASE_URL``), when set, receives the
ledger and message events through a persister running in this process
(or, with ``persister_in_process = false``, in `smsgw ledger persist`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from engine.config import GatewayConfig
from engine.customers.api_keys import RedisApiKeyStore
from engine.customers.idempotency import RedisIdempotencyStore
from engine.facade import Engine
from engine.gateway import Gateway
from engine.messages.receipt_map import RedisReceiptMap
from engine.shard.parking import RedisParking
from engine.shard.registry import RedisShardRegistry
from engine.webhooks import RedisDeliveryLog
from ledger.config import PersisterConfig
from ledger.message_query import PgMessageQuery
from ledger.persister import Persister
from ledger.pgstore import EventStore
from ledger.redis_ledger import RedisLedger

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_CONNECTIONS = 64
"""Connections per shard; callers wait for a free one rather than fail (the
plain pool of redis-py raises once it has handed out its maximum)."""
REDIS_POOL_WAIT = 10.0


def shard_redis(url: str, timeout: float, connections: int = REDIS_CONNECTIONS) -> Redis:
    """The shard's Redis client: a call that gets no answer within ``timeout``
    is sent once more on a fresh connection, then fails (redis-py's default
    of ten retries would keep a customer waiting ten times as long). Every
    script may run twice that way, which the ledger's idempotency allows."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=REDIS_POOL_WAIT,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )
    return Redis.from_pool(pool)  # closing the client closes its pool


async def start_production(
    config: GatewayConfig,
) -> tuple[Engine, Callable[[], Awaitable[None]]]:
    """Start the shard; returns its facade (``.gateway`` is the shard) and the
    coroutine function that closes the backends."""
    redis_url = os.environ.get("SMSGW_REDIS_URL", DEFAULT_REDIS_URL)
    redis = shard_redis(redis_url, config.limits.redis_timeout)
    ledger = RedisLedger(redis, config.ledger, shard=config.shard)
    receipts = RedisReceiptMap(redis, config.ledger.namespace, config.limits.receipt_ttl)
    parking = RedisParking(
        redis,
        config.ledger.namespace,
        max_per_account=config.limits.parked_receipts_per_account,
        idle_ttl=int(config.limits.validity_max),
        buckets=config.ledger.buckets,
    )
    namespace = config.ledger.namespace
    delivery_log = RedisDeliveryLog(
        redis, namespace, config.webhooks.log_length, config.webhooks.log_ttl
    )
    database_url = os.environ.get("SMSGW_DATABASE_URL")
    history = PgMessageQuery(database_url) if database_url else None
    shards = RedisShardRegistry(
        redis,
        namespace,
        config.shard,
        heartbeat_ttl=config.limits.shard_heartbeat_ttl,
        claim_ttl=config.limits.shard_claim_ttl,
    )
    gateway = Gateway(config, ledger, receipts, parking, delivery_log, history, shards)
    await gateway.start()

    async def redis_ping() -> None:
        await redis.ping()

    checks = [redis_ping]
    if history is not None:

        async def postgresql() -> None:
            await history.ping()

        checks.append(postgresql)
    engine = Engine(
        gateway,
        RedisApiKeyStore(redis, namespace),
        history,
        RedisIdempotencyStore(redis, namespace),
        checks,
        redis,
    )
    watching = asyncio.get_running_loop().create_task(engine.admin.watch(redis))
    persisting = None
    if database_url and config.persister_in_process:
        persisting = _InProcessPersister(redis_url, database_url, config)

    async def close() -> None:
        """Stop the persister after one last drain of what the shard wrote."""
        watching.cancel()
        if persisting is not None:
            await persisting.close()
        if history is not None:
            await history.aclose()
        await redis.aclose()

    return engine, close


class _InProcessPersister:
    """The persister running inside the shard (``persister_in_process``), on a
    Redis client of its own: a blocking read outlasts the shard's timeout."""

    def __init__(self, redis_url: str, database_url: str, config: GatewayConfig) -> None:
        self.store = EventStore(database_url)
        reading = PersisterConfig().block_ms / 1000 + config.limits.redis_timeout
        self.redis = shard_redis(redis_url, reading, connections=2)
        self.persister = Persister(self.redis, self.store, config.ledger)
        self.task = asyncio.get_running_loop().create_task(self.persister.run())

    async def close(self) -> None:
        """Stops it, then drains once more what the shard wrote."""
        self.persister.stop()  # returns within one blocking read (block_ms)
        await self.task
        await self.persister.drain()
        await self.store.close()
        await self.redis.aclose()
