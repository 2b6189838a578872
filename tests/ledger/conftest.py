"""Fixtures of the ledger tests: both backends over the real Redis, PostgreSQL per process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.events import Event
from ledger.memory import MemoryLedger
from ledger.protocol import Ledger
from ledger.redis_ledger import RedisLedger
from tests.cluster import (  # noqa: F401  (the Redis tests run on a node and on a cluster)
    redis_either_fixture,
    redis_url_fixture,
)
from tests.ledger.helpers import BUCKETS, FakeClock, redis_events
from tests.services import (  # noqa: F401  (fixtures used by the tests of this folder)
    database_url_fixture,
    namespace_fixture,
    postgres_database_fixture,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def ledger(
    request: pytest.FixtureRequest, clock: FakeClock, redis_client: Redis, namespace: str
) -> AsyncIterator[Ledger]:
    """Each contract test runs once per backend, with a clock the test drives."""
    backend: Ledger
    if request.param == "memory":
        backend = MemoryLedger(LedgerConfig(namespace=namespace), shard="s1", clock=clock)
    else:
        backend = RedisLedger(
            redis_client, LedgerConfig(namespace=namespace), shard="s1", clock=clock
        )
    await backend.start()
    yield backend
    await backend.aclose()


@pytest.fixture
async def redis_ledger(redis_client: Redis, namespace: str) -> AsyncIterator[RedisLedger]:
    """The Redis backend alone, with the persister tests' bucket count."""
    backend = RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=BUCKETS))
    await backend.start()
    yield backend
    await backend.aclose()


@pytest.fixture
def emitted(ledger: Ledger, redis_client: Redis) -> Callable[[], Awaitable[list[Event]]]:
    """Reads back the events the backend under test emitted so far."""

    async def read() -> list[Event]:
        if isinstance(ledger, RedisLedger):
            return await redis_events(redis_client, ledger)
        assert isinstance(ledger, MemoryLedger)
        return list(ledger.events)

    return read
