"""The persister against the real Redis and PostgreSQL: once and only once, through crashes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg
import pytest
from redis.asyncio import Redis

from ledger import persister as persister_module
from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import MessageEvent, MessageState
from ledger.model import AcceptRequest, AccountLimits
from ledger.persister import Persister
from ledger.pgstore import EventStore, timestamp
from ledger.redis_ledger import RedisLedger
from ledger.scripts import LuaScript
from tests.ledger.helpers import (
    BUCKETS,
    CrashAfterCommit,
    FakeClock,
    assert_postgres_matches,
    persister,
    redis_events,
    workload,
)


async def test_events_reach_postgres_once(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await workload(redis_ledger, accounts=3, messages=40, seed=1)
    events = await redis_events(redis_client, redis_ledger)
    worker, store = persister(redis_client, database_url, namespace)
    assert await worker.drain() == len(events)
    assert await worker.drain() == 0
    await store.write(events)  # the same batch applied twice changes nothing
    await store.close()
    await assert_postgres_matches(database_url, events, redis_ledger)


async def test_postgres_rows_say_what_happened_to_a_message(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await redis_ledger.set_account("acme", AccountLimits(credit_limit=5))
    await redis_ledger.adjust("acme", 100, reason="top-up", reference="tx-1")
    await redis_ledger.accept(AcceptRequest(message_id="m1", account="acme", parts=2, price=10))
    await redis_ledger.capture("m1", "acme", 15)
    submitted = MessageEvent(
        message_id="m1", account="acme", state=MessageState.SUBMITTED, ts_ms=1, parts=2,
        connector="op-a", operator_message_id="X1",
    )  # fmt: skip
    delivered = MessageEvent(
        message_id="m1", account="acme", state=MessageState.DELIVERED, ts_ms=2, error_code=0
    )
    await redis_ledger.append_message_events([submitted, delivered])
    worker, store = persister(redis_client, database_url, namespace)
    await worker.drain()
    await store.close()
    connection = await asyncpg.connect(database_url)
    try:
        entries = await connection.fetch(
            "SELECT kind, amount, balance_delta, held_delta, balance_after, held_after, reference"
            " FROM ledger_entries ORDER BY stream_ms, stream_seq"
        )
        assert [tuple(row) for row in entries] == [
            ("adjust", 100, 100, 0, 100, 0, "tx-1"),
            ("hold", 20, 0, 20, 100, 20, None),
            ("capture", 15, -15, -15, 85, 5, None),
            ("release", 5, 0, -5, 85, 0, None),
        ]
        message = await connection.fetchrow("SELECT * FROM messages WHERE message_id = 'm1'")
        assert (message["state"], message["held"], message["charged"]) == ("delivered", 20, 15)
        assert (message["connector"], message["operator_message_id"]) == ("op-a", "X1")
        assert message["error_code"] == 0 and message["parts"] == 2
        assert [change[0] for change in json.loads(message["history"])] == [
            "submitted",
            "delivered",
        ]
        account = await connection.fetchrow("SELECT * FROM accounts WHERE account = 'acme'")
        assert (account["credit_limit"], account["quota_period"]) == (5, "day")
    finally:
        await connection.close()


async def drained_then_fetched(
    redis_client: Redis, database_url: str, namespace: str, query: str
) -> list[asyncpg.Record]:
    """What ``query`` finds in PostgreSQL once a persister drained the streams."""
    worker, store = persister(redis_client, database_url, namespace)
    await worker.drain()
    await store.close()
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch(query)
    finally:
        await connection.close()


async def test_the_newest_event_gives_the_state_of_many_messages_in_one_batch(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    """A CTE's ORDER BY does not order a later aggregate: with enough rows the
    planner hashes them. The newest event must win by its stream position."""
    await redis_ledger.set_account("acme", AccountLimits())
    states = (MessageState.ACCEPTED, MessageState.SUBMITTED, MessageState.DELIVERED)
    events = [
        MessageEvent(message_id=f"m{i}", account="acme", state=state, ts_ms=1)
        for state in states
        for i in range(2_000)
    ]
    await redis_ledger.append_message_events(events)
    query = "SELECT state, count(*) FROM messages GROUP BY state"
    rows = await drained_then_fetched(redis_client, database_url, namespace, query)
    assert {row["state"]: row["count"] for row in rows} == {"delivered": 2_000}


async def test_rows_land_in_monthly_partitions(
    redis_client: Redis, namespace: str, database_url: str
) -> None:
    clock = FakeClock(datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC).timestamp())
    ledger = RedisLedger(
        redis_client, LedgerConfig(namespace=namespace, buckets=BUCKETS), clock=clock
    )
    await ledger.set_account("acme", AccountLimits())
    await ledger.adjust("acme", 10, reason="top-up", reference="january")
    clock.advance(1)
    await ledger.adjust("acme", 10, reason="top-up", reference="february")
    worker, store = persister(redis_client, database_url, namespace)
    await worker.drain()
    await store.close()
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT tableoid::regclass::text AS part, reference FROM ledger_entries ORDER BY at"
        )
        assert [tuple(row) for row in rows] == [
            ("ledger_entries_2026_01", "january"),
            ("ledger_entries_2026_02", "february"),
        ]
    finally:
        await connection.close()


async def test_acknowledged_entries_are_trimmed_pending_ones_kept(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await workload(redis_ledger, accounts=2, messages=20, seed=2)
    worker, store = persister(redis_client, database_url, namespace)
    await worker.drain()
    await store.close()
    for bucket in range(BUCKETS):
        assert (
            await redis_client.xlen(redis_ledger.keys.events(bucket)) <= 1
        )  # the last delivered one
    await redis_ledger.adjust("acct2-0", 5, reason="top-up", reference="after")
    bucket = redis_ledger.keys.bucket_of("acct2-0")
    assert await redis_client.xlen(redis_ledger.keys.events(bucket)) == 2


async def test_event_times_reach_postgres_to_the_millisecond(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    """Rows are staged with milliseconds; PostgreSQL turns them into the same instants."""
    times = [0, 999, 1_712_345_678_901, 4_102_444_799_999, 253_402_300_799_999]
    events = [
        MessageEvent(message_id=f"m{i}", account="acme", state=MessageState.ACCEPTED, ts_ms=ms)
        for i, ms in enumerate(times)
    ]
    await redis_ledger.append_message_events(events)
    query = "SELECT created_at, history FROM messages ORDER BY created_at"
    rows = await drained_then_fetched(redis_client, database_url, namespace, query)
    assert [row["created_at"] for row in rows] == [timestamp(ms) for ms in times]
    assert [json.loads(row["history"])[0][1] for row in rows] == times


async def test_a_redis_without_the_ack_script_gets_it_and_every_entry_is_acknowledged(
    redis_ledger: RedisLedger,
    redis_client: Redis,
    namespace: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As after a restart or SCRIPT FLUSH: a script Redis has never seen (its own
    text for this test), and more ids in one stream than one XACK of it takes."""
    unseen = LuaScript("ack_events", f"{persister_module._ACK.source}-- {namespace}\n")
    monkeypatch.setattr(persister_module, "_ACK", unseen)
    events = [
        MessageEvent(message_id=f"m{i}", account="acme", state=MessageState.ACCEPTED, ts_ms=1)
        for i in range(1_500)
    ]
    await redis_ledger.append_message_events(events)
    worker, store = persister(redis_client, database_url, namespace)
    assert await worker.drain() == len(events)
    await store.close()
    stream = redis_ledger.keys.events(redis_ledger.keys.bucket_of("acme"))
    assert (await redis_client.xpending(stream, "persister"))["pending"] == 0
    assert await redis_client.xlen(stream) <= 1  # trimmed but the last delivered one


class CrashBeforeCommit(EventStore):
    """Dies after the COPY into staging, before the transaction commits."""

    async def _apply(self, connection: asyncpg.Connection, batch: object, *, replay: bool) -> None:
        raise asyncio.CancelledError


async def test_a_crash_after_commit_redelivers_without_duplicates(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await workload(redis_ledger, accounts=3, messages=30, seed=3)
    events = await redis_events(redis_client, redis_ledger)
    store = EventStore(database_url)
    config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    with pytest.raises(asyncio.CancelledError):
        await CrashAfterCommit(redis_client, store, config).drain()
    await store.close()
    pending = entries = 0
    for bucket in range(BUCKETS):
        stream = redis_ledger.keys.events(bucket)
        pending += (await redis_client.xpending(stream, "persister"))["pending"]
        entries += await redis_client.xlen(stream)
    assert pending == entries  # committed, never acknowledged (message events pack several)
    worker, store = persister(redis_client, database_url, namespace)
    assert await worker.drain() == len(events)
    await store.close()
    await assert_postgres_matches(database_url, events, redis_ledger)


async def test_a_crash_between_copy_and_commit_leaves_nothing_half_done(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    await workload(redis_ledger, accounts=3, messages=30, seed=4)
    events = await redis_events(redis_client, redis_ledger)
    crashing = CrashBeforeCommit(database_url)
    config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    with pytest.raises(asyncio.CancelledError):
        await Persister(redis_client, crashing, config).drain()
    await crashing.close()
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM ledger_entries") == 0
    finally:
        await connection.close()
    worker, store = persister(redis_client, database_url, namespace)
    assert await worker.drain() == len(events)
    await store.close()
    await assert_postgres_matches(database_url, events, redis_ledger)


class RestingPersister(Persister):
    """Says how long `run()` rests after each round, and stops after `rounds` of them."""

    def __init__(self, *args: object, rounds: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rests: list[tuple[float, int]] = []
        self._rounds = rounds

    async def _rest(self, seconds: float) -> None:
        self.rests.append((seconds, self.persisted))
        if len(self.rests) == self._rounds:
            self.stop()
        await asyncio.sleep(0)


async def test_run_lingers_after_a_round_that_filled_no_batch_and_never_with_more_waiting(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    """A round that filled no stream's batch is followed by `linger_ms`, an empty
    one by `block_ms`, a full one by the next round at once."""
    events = [
        MessageEvent(message_id=f"m{n}", account="acme", state=MessageState.ACCEPTED, ts_ms=1)
        for n in range(3)
    ]
    for event in events:  # three writes: three entries in acme's stream
        await redis_ledger.append_message_events([event])
    store = EventStore(database_url)
    config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    settings = PersisterConfig(batch_size=2, block_ms=100, linger_ms=250, workers=1)
    worker = RestingPersister(redis_client, store, config, settings, rounds=2)
    await worker.prepare()
    await worker.run()
    await store.close()
    # round 1 reads 2 entries (a full batch: no rest), round 2 the third (a
    # partial one: linger), round 3 nothing (block).
    assert worker.rests == [(0.25, 3), (0.1, 3)]
