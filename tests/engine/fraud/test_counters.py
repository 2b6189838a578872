"""Shared counters: windows of whole buckets, counted in memory and exchanged
through a store (two counters on one store are two shards)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fraud.counters import Buckets, SharedCounters
from engine.fraud.memory_store import MemoryFraudStore

MINUTE = 60
HOUR = 3_600.0


def minutes() -> SharedCounters:
    return SharedCounters("minutes", MINUTE, 61)


async def test_a_window_counts_the_buckets_of_its_start_to_its_end() -> None:
    counters = minutes()
    for at in (0.0, 59.0, 60.0, 3_599.0, 3_600.0):
        counters.add("k", at)
    assert counters.window("k", HOUR, 3_600.0) == 5  # buckets 0..60
    assert counters.window("k", HOUR, 3_660.0) == 3  # buckets 1..61
    assert counters.window("other", HOUR, 3_600.0) == 0


async def test_two_shards_see_each_others_counts_after_an_exchange() -> None:
    store = MemoryFraudStore()
    first, second = minutes(), minutes()
    for _ in range(3):
        first.add("k", 10.0)
    second.add("k", 20.0)
    assert (first.window("k", HOUR, 30.0), second.window("k", HOUR, 30.0)) == (3, 1)
    await first.exchange(store, 30.0)
    await second.exchange(store, 30.0)
    assert second.window("k", HOUR, 30.0) == 4  # its own and the first's
    assert first.window("k", HOUR, 30.0) == 3  # the second's came after its exchange
    await first.exchange(store, 31.0)  # it looked at "k": read back
    assert first.window("k", HOUR, 31.0) == 4


async def test_counts_made_during_an_exchange_are_neither_lost_nor_doubled() -> None:
    class Slow(MemoryFraudStore):
        async def add_counts(
            self, deltas: Mapping[str, Mapping[int, int]], oldest: int, ttl: int
        ) -> dict[str, Buckets]:
            counters.add("k", 5.0)  # a message screened while Redis answers
            await asyncio.sleep(0)
            return await super().add_counts(deltas, oldest, ttl)

    counters = minutes()
    counters.add("k", 1.0)
    await counters.exchange(Slow(), 10.0)
    assert counters.window("k", HOUR, 10.0) == 2
    await counters.exchange(MemoryFraudStore(), 10.0)  # the second count goes out now


async def test_a_failed_exchange_keeps_the_counts_for_the_next() -> None:
    class Down(MemoryFraudStore):
        async def add_counts(
            self, deltas: Mapping[str, Mapping[int, int]], oldest: int, ttl: int
        ) -> dict[str, Buckets]:
            raise ConnectionError("redis down")

    store = MemoryFraudStore()
    counters = minutes()
    counters.add("k", 1.0)
    with pytest.raises(ConnectionError):
        await counters.exchange(Down(), 10.0)
    assert counters.window("k", HOUR, 10.0) == 1
    await counters.exchange(store, 10.0)
    assert counters.window("k", HOUR, 10.0) == 1
    assert (await store.add_counts({"k": {}}, 0, 60))["k"] == {0: 1}


async def test_buckets_past_the_horizon_are_forgotten_by_shard_and_store() -> None:
    store = MemoryFraudStore()
    counters = minutes()
    counters.add("old", 0.0)
    counters.add("kept", 0.0)
    await counters.exchange(store, 0.0)
    counters.add("kept", 7_200.0)
    await counters.exchange(store, 7_200.0)
    assert len(counters) == 1
    assert (await store.add_counts({"kept": {}, "old": {}}, 0, 60)) == {
        "kept": {120: 1},
        "old": {0: 1},  # its key was not counted since: forgotten by its TTL only
    }


events = st.lists(st.tuples(st.integers(0, 1), st.floats(0, 10_000, allow_nan=False)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(events, st.floats(0, 10_000, allow_nan=False), st.integers(60, 3_600))
def test_once_every_shard_exchanged_none_undercounts_a_window(
    happened: list[tuple[int, float]], now: float, seconds: int
) -> None:
    """Every message of any shard within the window is counted; at most one
    bucket's more (those just before its start)."""

    happened = [(shard, at) for shard, at in happened if at <= now]  # none yet to come

    async def run() -> None:
        store = MemoryFraudStore()
        shards = [minutes(), minutes()]
        for shard, at in happened:
            shards[shard].add("k", at)
        for _ in range(2):  # the second round reads what the other added in the first
            for shard in shards:
                shard.window("k", seconds, now)  # looked at, so read back
                await shard.exchange(store, now)
        within = sum(1 for _, at in happened if now - seconds <= at <= now)
        widened = sum(1 for _, at in happened if now - seconds - MINUTE < at <= now)
        for shard in shards:
            assert within <= shard.window("k", seconds, now) <= widened

    asyncio.run(run())


@settings(max_examples=150, deadline=None)
@given(events, st.floats(0, 10_000, allow_nan=False))
def test_before_an_exchange_a_shard_counts_its_own_window(
    happened: list[tuple[int, float]], now: float
) -> None:
    counters = minutes()
    for _, at in happened:
        counters.add("k", at)
    within = sum(1 for _, at in happened if now - HOUR <= at <= now)
    assert counters.window("k", HOUR, now) >= within
