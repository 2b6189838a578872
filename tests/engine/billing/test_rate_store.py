"""Exchange rate stores (memory, a Redis node, a Redis Cluster): records are
added once and never edited, and `ExchangeRates` prices with what is stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from engine.billing.rate_store import (
    ExchangeRates,
    MemoryRateStore,
    RateConflict,
    RateStore,
    RedisRateStore,
    record_field,
)
from engine.billing.rates import ExchangeRate
from ledger.redis_client import RedisClient
from tests.cluster import ON_BOTH, ON_EACH_BACKEND

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, 12, 30, 0, 125_000, tzinfo=UTC)


def record(base: str, quote: str, rate: str, valid_from: datetime = JAN) -> ExchangeRate:
    return ExchangeRate(base=base, quote=quote, rate=rate, valid_from=valid_from)


@pytest.fixture
def store(backend: str, redis_client: RedisClient, namespace: str) -> RateStore:
    return MemoryRateStore() if backend == "memory" else RedisRateStore(redis_client, namespace)


def ordered(records: list[ExchangeRate]) -> list[ExchangeRate]:
    return sorted(records, key=record_field)


@ON_EACH_BACKEND
async def test_records_are_added_once_and_read_back_whole(store: RateStore) -> None:
    first = [record("EUR", "UZS", "12850.5"), record("EUR", "UZS", "12900", FEB)]
    assert await store.add(first) == 2
    again = [record("EUR", "UZS", "12850.50"), record("USD", "EUR", "0.92", FEB)]
    assert await store.add(again) == 1
    assert await store.add([]) == 0
    assert ordered(await store.records()) == ordered([*first, again[1]])


@ON_EACH_BACKEND
async def test_another_rate_for_a_held_pair_and_instant_is_refused_and_adds_nothing(
    store: RateStore,
) -> None:
    await store.add([record("EUR", "UZS", "12850.5")])
    batch = [record("GBP", "EUR", "1.17"), record("EUR", "UZS", "12851")]
    with pytest.raises(RateConflict, match=r"EUR->UZS from 2026-01-01.* is 12850\.5, not 12851"):
        await store.add(batch)
    assert await store.records() == [record("EUR", "UZS", "12850.5")]


@ON_EACH_BACKEND
async def test_two_rates_for_one_pair_and_instant_in_one_batch_are_refused(
    store: RateStore,
) -> None:
    batch = [record("EUR", "UZS", "1"), record("EUR", "UZS", "1.0"), record("EUR", "UZS", "2")]
    with pytest.raises(ValueError, match="never edited") as caught:
        await store.add(batch)
    assert isinstance(caught.value, RateConflict)
    assert caught.value.conflicts == ((record("EUR", "UZS", "2"), "1"),)
    assert await store.records() == []


@ON_EACH_BACKEND
async def test_concurrent_conflicting_batches_leave_one_of_them_whole(store: RateStore) -> None:
    mine = [record("EUR", "USD", "1.08"), record("EUR", "GBP", "0.86")]
    theirs = [record("EUR", "GBP", "0.87"), record("EUR", "CHF", "0.94")]
    results = await asyncio.gather(store.add(mine), store.add(theirs), return_exceptions=True)
    assert sorted(type(result).__name__ for result in results) == ["RateConflict", "int"]
    held = ordered(await store.records())
    assert held in (ordered(mine), ordered(theirs))


@ON_EACH_BACKEND
async def test_the_service_prices_with_what_is_stored(store: RateStore) -> None:
    shard, other = ExchangeRates(store), ExchangeRates(store)
    at = JAN.timestamp()
    assert shard.book.records == ()
    assert await shard.add([record("EUR", "UZS", "12850.5")]) == 1
    assert shard.book.convert(1_000_000, "EUR", "UZS", at) == (12_850_500_000, "12850.5")
    assert other.records() == [] and other.rate_at("EUR", "UZS", at) is None
    await other.load()
    assert other.rate_at("EUR", "UZS", at) == (12850.5, "12850.5")
    assert other.records() == [record("EUR", "UZS", "12850.5")]
    assert other.book.convert(12_850_500_000, "UZS", "EUR", at)[0] == 1_000_000


@ON_BOTH
async def test_redis_keeps_one_hash_field_per_record(redis_client: Redis, namespace: str) -> None:
    await RedisRateStore(redis_client, namespace).add([record("EUR", "UZS", "12850.5", FEB)])
    held = await redis_client.hgetall(f"{namespace}:billing:rates")  # type: ignore[misc]
    assert held == {b"EUR:UZS:1769949000125": b"12850.5"}


@ON_BOTH
async def test_a_damaged_field_is_named_when_read(redis_client: Redis, namespace: str) -> None:
    await redis_client.hset(f"{namespace}:billing:rates", "EUR:UZS:x", "12850.5")  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"billing:rates: field 'EUR:UZS:x' = '12850\.5'"):
        await RedisRateStore(redis_client, namespace).records()
