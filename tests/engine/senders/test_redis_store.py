"""What only the Redis store can meet (a node, a Cluster): an entry damaged
in Redis is named with its key and field, not taken as another."""

from __future__ import annotations

import pytest

from engine.senders.store import RedisSenderStore
from ledger.redis_client import RedisClient
from tests.cluster import ON_BOTH

pytestmark = ON_BOTH


async def test_a_damaged_entry_is_named(redis_client: RedisClient, namespace: str) -> None:
    store = RedisSenderStore(redis_client, namespace)
    await redis_client.hset(store.key, "bank\nMyBank", b"{not json")  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"\{senders\}:registry: field .*MyBank"):
        await store.all()
