"""What /ready asks of a production shard's backends, one named check each.

A check raises when its backend is down (the shard is then not ready) and
otherwise returns what an operator wants to see beside "ok".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from ledger.config import LedgerConfig, PersisterConfig
from ledger.layout import LedgerKeys
from ledger.message_query import PgMessageQuery
from ledger.persister_metrics import measure_lag
from ledger.redis_client import RedisClient

Check = Callable[[], Awaitable[dict[str, object] | None]]


def redis_check(redis: RedisClient) -> Check:
    async def check() -> None:
        await redis.ping()

    check.__name__ = "redis"
    return check


def database_check(history: PgMessageQuery) -> Check:
    async def database() -> None:
        await history.ping()

    return database


def persister_check(
    redis: RedisClient, ledger: LedgerConfig, task: asyncio.Task[None] | None
) -> Check:
    """The persister's lag, read from the bucket streams (so a persister apart,
    `smsgw ledger persist`, shows too). ``task``: the in-process persister,
    which must still be running; None when it runs apart."""
    keys = LedgerKeys(ledger.namespace, ledger.buckets)
    streams = [keys.events(bucket) for bucket in range(ledger.buckets)]
    group = PersisterConfig().group

    async def persister() -> dict[str, object]:
        if task is not None and task.done():
            failure = None if task.cancelled() else task.exception()
            raise RuntimeError(f"the in-process persister stopped: {failure!r}")
        lag = await measure_lag(redis, streams, group)
        return {"lag": lag.events, "lag_seconds": lag.seconds}

    return persister


def persisted_through(
    redis: RedisClient, ledger: LedgerConfig
) -> Callable[[], Awaitable[datetime]]:
    """The instant before which every event of the bucket streams is in
    PostgreSQL: an invoice waits for it to pass the period's end."""
    keys = LedgerKeys(ledger.namespace, ledger.buckets)
    streams = [keys.events(bucket) for bucket in range(ledger.buckets)]
    group = PersisterConfig().group

    async def through() -> datetime:
        now = datetime.now(UTC)
        lag = await measure_lag(redis, streams, group)
        return now - timedelta(seconds=lag.seconds) if lag.events else now

    return through
