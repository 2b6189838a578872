"""Console users and sessions, the same on memory and on Redis (node and cluster)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from engine.console import (
    ConsoleUser,
    ConsoleUserStore,
    MemoryConsoleUserStore,
    RedisConsoleUserStore,
    Session,
)
from ledger.redis_client import RedisClient
from tests.cluster import redis_either_fixture, redis_url_fixture  # noqa: F401
from tests.services import namespace_fixture  # noqa: F401


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_client: RedisClient, namespace: str
) -> AsyncIterator[ConsoleUserStore]:
    if request.param == "memory":
        yield MemoryConsoleUserStore()
    else:
        yield RedisConsoleUserStore(redis_client, namespace)
        await redis_client.delete(f"{namespace}:console:users")


async def test_users_round_trip_sorted_by_name(store: ConsoleUserStore) -> None:
    admin = ConsoleUser(name="zed", role="admin", password_hash="h1")
    customer = ConsoleUser(name="amy", role="customer", password_hash="h2", account="bank")
    await store.put(admin)
    await store.put(customer)
    assert await store.get("amy") == customer
    assert await store.get("nobody") is None
    assert [user.name for user in await store.users()] == ["amy", "zed"]


async def test_a_session_lives_until_dropped(store: ConsoleUserStore) -> None:
    session = Session(user="amy", csrf="c" * 32, expires_at=time.time() + 600)
    await store.put_session("s1", session)
    assert await store.get_session("s1") == session
    await store.drop_session("s1")
    assert await store.get_session("s1") is None


async def test_a_totp_step_is_claimed_once_per_user(store: ConsoleUserStore) -> None:
    assert await store.claim_code("amy", 100, 120)
    assert not await store.claim_code("amy", 100, 120)
    assert await store.claim_code("amy", 101, 120)
    assert await store.claim_code("zed", 100, 120)
