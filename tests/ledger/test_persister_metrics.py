"""The persister's lag as Redis shows it: undelivered plus unacknowledged, and their age."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ledger.persister_metrics import Lag, PersisterMetrics, measure_lag
from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import persister, redis_events, workload

GROUP = "persister"


async def _stream_with_old_entries(redis: Redis, stream: str, ages: list[int]) -> None:
    """Entries whose ids say they were written ``ages`` seconds ago, by the Redis clock."""
    seconds, micros = await redis.time()
    now_ms = seconds * 1000 + micros // 1000
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    for age in ages:
        await redis.xadd(stream, {b"x": b"1"}, id=f"{now_ms - age * 1000}-0")


async def test_no_streams_yet_is_no_lag(redis_client: Redis, namespace: str) -> None:
    assert await measure_lag(redis_client, [f"{namespace}:none"], GROUP) == Lag(0, 0.0)


async def test_lag_counts_undelivered_and_pending_and_ages_the_oldest(
    redis_client: Redis, namespace: str
) -> None:
    first, second = f"{namespace}:a", f"{namespace}:b"
    await _stream_with_old_entries(redis_client, first, [120, 60, 30])
    await _stream_with_old_entries(redis_client, second, [90])
    lag = await measure_lag(redis_client, [first, second], GROUP)
    assert lag.events == 4
    assert 120 <= lag.seconds < 125
    # The oldest delivered to the group and acknowledged: the next one is the oldest left.
    [[_, [(entry_id, _)]]] = await redis_client.xreadgroup(GROUP, "c", {first: ">"}, count=1)
    await redis_client.xack(first, GROUP, entry_id)
    lag = await measure_lag(redis_client, [first, second], GROUP)
    assert lag.events == 3 and 90 <= lag.seconds < 95
    # Delivered and not acknowledged still counts, by its own age.
    await redis_client.xreadgroup(GROUP, "c", {second: ">"}, count=1)
    lag = await measure_lag(redis_client, [first, second], GROUP)
    assert lag.events == 3 and 90 <= lag.seconds < 95


async def test_a_drained_persister_shows_no_lag(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await workload(redis_ledger, accounts=2, messages=10, seed=3)
    events = await redis_events(redis_client, redis_ledger)
    worker, store = persister(redis_client, database_url, namespace)
    metrics = PersisterMetrics(worker, redis_client)
    registry = CollectorRegistry()
    registry.register(metrics)
    assert registry.get_sample_value("smsgw_persister_lag_events") is None  # never read yet
    await worker.prepare()
    streams = [redis_ledger.keys.events(b) for b in range(redis_ledger.config.buckets)]
    entries = sum([await redis_client.xlen(stream) for stream in streams])
    assert (await metrics.refresh()).events == entries < len(events)
    assert await worker.drain() == len(events)
    assert await metrics.refresh() == Lag(0, 0.0)
    assert registry.get_sample_value("smsgw_persister_lag_events") == 0
    assert registry.get_sample_value("smsgw_persister_events_total") == len(events)
    await store.close()
