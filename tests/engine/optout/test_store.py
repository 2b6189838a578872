"""Opt-out stores (memory, a Redis node, a Redis Cluster): a number is listed
once with its first date, lists are apart, and a list is read in slices."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from engine.optout.store import (
    SCAN_COUNT,
    Entry,
    MemoryOptOutStore,
    OptOutStore,
    RedisOptOutStore,
)
from ledger.redis_client import RedisClient
from tests.cluster import ON_BOTH, ON_EACH_BACKEND

FR, IR = "33612345678", "989121234567"


@pytest.fixture
def store(backend: str, redis_client: RedisClient, namespace: str) -> OptOutStore:
    return MemoryOptOutStore() if backend == "memory" else RedisOptOutStore(redis_client, namespace)


async def read(store: OptOutStore, account: str | None) -> list[Entry]:
    return sorted([e async for chunk in store.entries(account) for e in chunk], key=str)


@ON_EACH_BACKEND
async def test_a_number_is_listed_once_and_keeps_its_first_entry(store: OptOutStore) -> None:
    assert await store.add("bank", [Entry(FR, 1, "mo"), Entry(IR, 2, "api")]) == [FR, IR]
    assert await store.add("bank", [Entry(FR, 3, "admin")]) == []
    assert await store.entry("bank", FR) == Entry(FR, 1, "mo")
    assert await store.entry("bank", "33600000000") is None
    assert await read(store, "bank") == [Entry(FR, 1, "mo"), Entry(IR, 2, "api")]
    assert await store.listed("bank", [IR, "1234567", FR]) == [True, False, True]
    assert await store.listed("bank", []) == []


@ON_EACH_BACKEND
async def test_lists_are_apart(store: OptOutStore) -> None:
    await store.add(None, [Entry(FR, 1, "admin")])
    await store.add("shop", [Entry(IR, 1, "import")])
    assert await store.listed("bank", [FR, IR]) == [False, False]
    assert await store.listed(None, [FR, IR]) == [True, False]
    assert await store.listed("shop", [FR, IR]) == [False, True]
    assert await store.accounts() == ["shop"]
    assert await store.entry("shop", FR) is None


@ON_EACH_BACKEND
async def test_removing_counts_what_was_listed(store: OptOutStore) -> None:
    await store.add("bank", [Entry(FR, 1, "mo"), Entry(IR, 1, "mo")])
    assert await store.remove("bank", [FR, "1234567"]) == 1
    assert await store.remove("bank", []) == 0
    assert await store.remove(None, [IR]) == 0
    assert await read(store, "bank") == [Entry(IR, 1, "mo")]


@ON_EACH_BACKEND
async def test_a_long_list_is_written_and_read_in_slices(store: OptOutStore) -> None:
    numbers = [str(33_600_000_000 + i) for i in range(3 * SCAN_COUNT + 7)]
    added = await store.add("bank", [Entry(number, 5, "import") for number in numbers])
    assert added == numbers
    chunks = [chunk async for chunk in store.entries("bank")]
    assert len(chunks) > 1
    assert sorted(entry.number for chunk in chunks for entry in chunk) == numbers


@ON_BOTH
async def test_redis_keeps_one_hash_per_list_each_on_its_own_slot(
    redis_client: Redis, namespace: str
) -> None:
    store = RedisOptOutStore(redis_client, namespace)
    await store.add(None, [Entry(FR, 1_700_000_000_000, "admin")])
    await store.add("bank", [Entry(IR, 7, "mo")])
    assert await redis_client.hgetall(f"{namespace}:{{optout}}:global") == {  # type: ignore[misc]
        FR.encode(): b"1700000000000:admin"
    }
    assert await redis_client.hgetall(f"{namespace}:{{optout:bank}}:account") == {  # type: ignore[misc]
        IR.encode(): b"7:mo"
    }
    assert await redis_client.smembers(f"{namespace}:{{optout}}:accounts") == {b"bank"}  # type: ignore[misc]


@ON_BOTH
async def test_a_damaged_entry_is_named_when_read(redis_client: Redis, namespace: str) -> None:
    store = RedisOptOutStore(redis_client, namespace)
    await redis_client.hset(store.key("bank"), FR, "x:mo")  # type: ignore[misc]
    with pytest.raises(ValueError, match=rf"optout:bank}}:account: field '{FR}' = 'x:mo'"):
        await store.entry("bank", FR)
