"""Sender-ID stores (memory, a Redis node, a Redis Cluster): one entry per
account and sender, created once, replaced by a decision, read whole."""

from __future__ import annotations

import pytest

from engine.senders.model import SenderId
from engine.senders.store import SCAN_COUNT, MemorySenderStore, RedisSenderStore, SenderStore
from ledger.redis_client import RedisClient
from tests.cluster import ON_EACH_BACKEND

pytestmark = ON_EACH_BACKEND


@pytest.fixture
def store(backend: str, redis_client: RedisClient, namespace: str) -> SenderStore:
    if backend == "memory":
        return MemorySenderStore()
    return RedisSenderStore(redis_client, namespace)


def requested(account: str, sender: str, at: int = 1) -> SenderId:
    return SenderId(account=account, sender=sender, state="requested", requested_at=at)


async def test_an_entry_is_created_once_then_replaced(store: SenderStore) -> None:
    first = requested("bank", "MyBank", 1)
    assert await store.create(first)
    assert not await store.create(requested("bank", "MyBank", 2))
    assert await store.get("bank", "MyBank") == first
    approved = SenderId(
        account="bank", sender="MyBank", state="approved", decided_by="admin", decided_at=3
    )
    await store.put(approved)
    assert await store.get("bank", "MyBank") == approved


async def test_accounts_and_cases_are_apart(store: SenderStore) -> None:
    await store.create(requested("bank", "MyBank"))
    await store.create(requested("shop", "MyBank"))
    await store.create(requested("bank", "MYBANK"))
    assert await store.get("shop", "MYBANK") is None
    assert await store.get("bank", "mybank") is None
    found = sorted((e.account, e.sender) for e in await store.all())
    assert found == [("bank", "MYBANK"), ("bank", "MyBank"), ("shop", "MyBank")]


async def test_the_registry_is_read_whole_in_slices(store: SenderStore) -> None:
    count = SCAN_COUNT + 5
    for i in range(count):
        await store.put(requested(f"a{i}", "Shop"))
    assert len(await store.all()) == count
