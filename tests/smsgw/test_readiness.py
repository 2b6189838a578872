"""How far PostgreSQL holds the events, read from the real bucket streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.persister import Persister
from ledger.pgstore import EventStore
from ledger.redis_ledger import RedisLedger
from smsgw.readiness import persisted_through
from tests.services import (  # noqa: F401  (fixtures)
    database_url_fixture,
    namespace_fixture,
    postgres_database_fixture,
    redis_client_fixture,
)

ROUNDING = timedelta(milliseconds=2)


async def test_events_waiting_for_the_persister_hold_the_instant_back(
    redis_client: Redis, namespace: str, database_url: str
) -> None:
    config = LedgerConfig(namespace=namespace, buckets=4)
    through = persisted_through(redis_client, config)
    store = EventStore(database_url)
    persister = Persister(redis_client, store, config)
    try:
        await persister.prepare()
        before = datetime.now(UTC)
        assert await through() >= before  # nothing waits: PostgreSQL holds all
        ledger = RedisLedger(redis_client, config, shard="s1")
        await ledger.adjust("bank", 100, reason="top-up", reference="r1")
        written = datetime.now(UTC)
        # Stream ids and Redis's clock count whole milliseconds: 2 ms of rounding.
        assert await through() <= written + ROUNDING  # the top-up waits in Redis
        await persister.drain()
        drained = datetime.now(UTC)
        assert await through() >= drained
    finally:
        await store.close()
