"""The persister through outages: SIGKILL mid-batch, PostgreSQL down, Redis down or reset."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from redis.asyncio import Redis

from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import LedgerEvent, decode_entry
from ledger.persister import Entry, Persister
from ledger.pgstore import EventStore
from ledger.redis_ledger import RedisLedger
from ledger.retry import Backoff
from tests.ledger.helpers import (
    BUCKETS,
    assert_postgres_matches,
    events_by_place,
    persister,
    redis_events,
    workload,
)
from tests.services import REDIS_URL, TcpProxy

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.parametrize("redis_url", ["node"], indirect=True)
"""Outages of one Redis node, played through a proxy in front of it."""


async def test_a_killed_persister_process_loses_and_duplicates_nothing(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    for seed in range(10, 16):
        await workload(redis_ledger, accounts=6, messages=400, seed=seed)
    events = await redis_events(redis_client, redis_ledger)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.ledger.persister_process",
        "--redis-url", REDIS_URL, "--database-url", database_url, "--namespace", namespace,
        "--consumer", "killable", "--buckets", str(BUCKETS), "--batch-size", "20",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert await process.stdout.readline() == b"ready\n"
    for _ in range(3):
        assert (await process.stdout.readline()).startswith(b"acked ")
    process.send_signal(signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL
    connection = await asyncpg.connect(database_url)
    try:
        persisted = await connection.fetchval("SELECT count(*) FROM ledger_entries")
    finally:
        await connection.close()
    money = sum(isinstance(e, LedgerEvent) for e in events)
    assert 0 < persisted < money  # killed in the middle of its work
    worker, store = persister(redis_client, database_url, namespace, consumer="killable")
    await worker.drain()
    await store.close()
    await assert_postgres_matches(database_url, events, redis_ledger)


class RestoringBackoff(Backoff):
    """Brings the server back after a number of failed attempts (of any one
    worker), once `allowed`."""

    def __init__(self, proxy: TcpProxy, failures: int) -> None:
        super().__init__(base=0.001, cap=0.001)
        self.proxy = proxy
        self.failures = failures
        self.allowed = asyncio.Event()
        self.allowed.set()
        self.restoring: asyncio.Task[int] | None = None

    def compute(self, failures: int) -> float:
        if failures == self.failures and self.restoring is None:  # once, whichever worker
            self.restoring = asyncio.ensure_future(self._restore())
        return 0.0

    async def _restore(self) -> int:
        await self.allowed.wait()
        return await self.proxy.start()


async def test_catches_up_after_postgres_was_down(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    parts = urlsplit(database_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    port = await proxy.start()
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))
    store = EventStore(via_proxy)
    backoff = RestoringBackoff(proxy, failures=3)
    config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    worker = Persister(redis_client, store, config, backoff=backoff)
    await workload(redis_ledger, accounts=2, messages=20, seed=5)
    events = await events_by_place(redis_client, redis_ledger)
    await worker.drain()
    await proxy.stop()  # PostgreSQL goes away, with the persister's open connection
    await workload(redis_ledger, accounts=2, messages=20, seed=6)
    events.update(await events_by_place(redis_client, redis_ledger))
    await worker.drain()
    assert worker.database_failures >= 3
    await store.close()
    await proxy.stop()
    await assert_postgres_matches(database_url, list(events.values()), redis_ledger)


class CountingPersister(Persister):
    """Lets a test await progress of `run()`: how many events were acknowledged."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.acked = 0
        self.progress = asyncio.Event()

    async def acknowledge(self, entries: list[Entry]) -> None:
        await super().acknowledge(entries)
        self.acked += sum(len(decode_entry(*entry)) for entry in entries if entry[2])
        self.progress.set()

    async def wait_for(self, acked: int) -> None:
        async with asyncio.timeout(30):  # a guard against hanging, not a timing assert
            while self.acked < acked:
                self.progress.clear()
                await self.progress.wait()


async def test_run_survives_a_redis_outage(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(REDIS_URL).port or 6379)
    port = await proxy.start()
    via_proxy = Redis.from_url(f"redis://127.0.0.1:{port}/{urlsplit(REDIS_URL).path[1:] or 0}")
    backoff = RestoringBackoff(proxy, failures=1)
    store = EventStore(database_url)
    config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    worker = CountingPersister(
        via_proxy, store, config, PersisterConfig(block_ms=100), backoff=backoff
    )
    await workload(redis_ledger, accounts=2, messages=20, seed=7)
    events = await events_by_place(redis_client, redis_ledger)
    running = asyncio.create_task(worker.run())
    await worker.wait_for(len(events))
    backoff.allowed.clear()  # back once the test has read the new events: the persister trims
    await proxy.stop()  # Redis goes away under the persister's blocking read
    await workload(redis_ledger, accounts=2, messages=20, seed=8)
    events.update(await events_by_place(redis_client, redis_ledger))
    backoff.allowed.set()
    await worker.wait_for(len(events))
    worker.stop()
    await running
    assert backoff.restoring is not None
    await store.close()
    await via_proxy.aclose()
    await proxy.stop()
    await assert_postgres_matches(database_url, list(events.values()), redis_ledger)


async def test_run_recreates_a_lost_consumer_group(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    store = EventStore(database_url)
    config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    worker = CountingPersister(
        redis_client, store, config, PersisterConfig(block_ms=100), backoff=Backoff(0.001, 0.001)
    )
    await workload(redis_ledger, accounts=2, messages=20, seed=9)
    events = await events_by_place(redis_client, redis_ledger)
    running = asyncio.create_task(worker.run())
    await worker.wait_for(len(events))
    leftovers = len(await redis_events(redis_client, redis_ledger))
    for bucket in range(BUCKETS):  # as after a Redis restart that kept the streams only
        await redis_client.xgroup_destroy(redis_ledger.keys.events(bucket), "persister")
    await worker.wait_for(len(events) + leftovers)  # recreated from 0: the rest read again
    worker.stop()
    await running
    await workload(redis_ledger, accounts=2, messages=20, seed=10)
    events.update(await events_by_place(redis_client, redis_ledger))
    assert await worker.drain() > 0
    await store.close()
    await assert_postgres_matches(database_url, list(events.values()), redis_ledger)
