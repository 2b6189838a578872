"""API keys trusted from memory: one store read per key, refreshed ahead of expiry."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from engine.customers.api_keys import ApiKey, MemoryApiKeyStore, TrustedKeys, new_api_key
from tests.clock import FakeClock


class CountingStore(MemoryApiKeyStore):
    """The embedded store, counting reads and failing on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.down = False

    async def get(self, key_id: str) -> ApiKey | None:
        self.reads += 1
        await asyncio.sleep(0.001)
        if self.down:
            raise ConnectionError("key store down")
        return await super().get(key_id)


async def issued(store: CountingStore) -> tuple[ApiKey, str]:
    record, key = new_api_key("bank")
    await store.put(record)
    return record, key


async def test_concurrent_checks_of_one_key_share_one_read() -> None:
    store = CountingStore()
    _, key = await issued(store)
    trusted = TrustedKeys(store, ttl=10.0)
    accounts = await asyncio.gather(*(trusted.account_of(key) for _ in range(50)))
    assert accounts == ["bank"] * 50
    assert store.reads == 1
    assert trusted.trusted(key) == "bank"


async def test_a_key_in_use_is_checked_again_ahead_of_expiry_without_waiting() -> None:
    store = CountingStore()
    record, key = await issued(store)
    clock = FakeClock()
    trusted = TrustedKeys(store, ttl=10.0, clock=clock)
    assert await trusted.account_of(key) == "bank"
    clock.advance(5.0)
    assert trusted.trusted(key) == "bank"
    assert store.reads == 1  # early in its time: no check
    clock.advance(3.0)
    await store.put(msgspec.structs.replace(record, revoked_at=1))  # revoked on another shard
    assert trusted.trusted(key) == "bank"  # answered at once; a check starts behind it
    await asyncio.sleep(0.01)
    assert store.reads == 2
    assert trusted.trusted(key) is None  # the background check saw the revocation


async def test_a_revoked_key_stops_within_the_ttl_and_a_bad_key_is_none() -> None:
    store = CountingStore()
    record, key = await issued(store)
    clock = FakeClock()
    trusted = TrustedKeys(store, ttl=10.0, clock=clock)
    assert await trusted.account_of(key) == "bank"
    await store.put(msgspec.structs.replace(record, revoked_at=1))
    clock.advance(10.0)
    assert trusted.trusted(key) is None
    assert await trusted.account_of(key) is None
    assert await trusted.account_of("sgw_nonsense") is None


async def test_a_store_that_fails_a_background_check_keeps_the_key_until_expiry() -> None:
    store = CountingStore()
    _, key = await issued(store)
    clock = FakeClock()
    trusted = TrustedKeys(store, ttl=10.0, clock=clock)
    assert await trusted.account_of(key) == "bank"
    store.down = True
    clock.advance(9.0)
    assert trusted.trusted(key) == "bank"
    await asyncio.sleep(0.01)  # the background check failed, quietly
    assert trusted.trusted(key) == "bank"
    clock.advance(1.0)
    with pytest.raises(ConnectionError):
        await trusted.account_of(key)
