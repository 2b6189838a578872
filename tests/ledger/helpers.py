"""Shared pieces of the ledger tests: a clock tests drive, a workload, reading events back."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import asyncpg
from redis.asyncio import Redis

from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import Event, LedgerEvent, MessageEvent, MessageState, decode_events
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits
from ledger.persister import Entry, Persister
from ledger.pgstore import EventStore
from ledger.redis_ledger import RedisLedger

START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
BUCKETS = 8
"""Fewer buckets than production: every persister round reads each bucket's stream."""


class FakeClock:
    """Seconds since the epoch, moved only by the test."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def redis_events(redis: Redis, ledger: RedisLedger) -> list[Event]:
    """Every event still in the ledger's bucket streams, bucket by bucket, in stream order."""
    events: list[Event] = []
    for bucket in range(ledger.config.buckets):
        for entry_id, fields in await redis.xrange(ledger.keys.events(bucket)):
            events.extend(decode_events(bucket, entry_id.decode(), fields))
    return events


async def events_by_place(redis: Redis, ledger: RedisLedger) -> dict[tuple[object, ...], Event]:
    """`redis_events` by where each sits (its entry, then its place in a packed
    entry), so events read again before and after a drain count once."""
    placed: dict[tuple[object, ...], Event] = {}
    for event in await redis_events(redis, ledger):
        at = event.position
        index = sum(1 for place in placed if place[0] == at)
        placed[(at, index)] = event
    return placed


def without_position(events: list[Event]) -> list[tuple[object, ...]]:
    """Events as comparable tuples: everything but where they sit in a stream."""
    return [
        tuple(getattr(event, name) for name in event.__struct_fields__ if name != "position")
        for event in events
    ]


def persister(
    redis: Redis, database_url: str, namespace: str, **config: object
) -> tuple[Persister, EventStore]:
    store = EventStore(database_url)
    ledger_config = LedgerConfig(namespace=namespace, buckets=BUCKETS)
    return Persister(redis, store, ledger_config, PersisterConfig(**config)), store  # type: ignore[arg-type]


async def workload(ledger: RedisLedger, *, accounts: int, messages: int, seed: int) -> None:
    """Accounts topped up, messages accepted, some captured (in part), some released."""
    choice = random.Random(seed)
    names = [f"acct{seed}-{n}" for n in range(accounts)]
    for name in names:
        await ledger.set_account(name, AccountLimits(credit_limit=50))
        await ledger.adjust(name, 10_000, reason="top-up", reference=f"fund-{seed}")
    requests = [
        AcceptRequest(
            message_id=f"m{seed}-{n}",
            account=choice.choice(names),
            parts=choice.randint(1, 3),
            price=choice.randint(0, 9),
        )
        for n in range(messages)
    ]
    results = await ledger.accept_many(requests)
    states = []
    for request, result in zip(requests, results, strict=True):
        assert result.outcome is AcceptOutcome.OK
        fate = choice.random()
        if fate < 0.5:
            await ledger.capture(request.message_id, request.account, request.amount // 2)
            states.append((request, MessageState.DELIVERED))
        elif fate < 0.8:
            await ledger.release(request.message_id, request.account)
            states.append((request, MessageState.UNDELIVERABLE))
    await ledger.append_message_events(
        [
            MessageEvent(
                message_id=r.message_id,
                account=r.account,
                state=state,
                ts_ms=1_767_225_600_000 + n,
                connector="op-a",
                operator_message_id=f"op{n}",
                parts=r.parts,
            )
            for n, (r, state) in enumerate(states)
        ]
    )


async def assert_postgres_matches(
    database_url: str, events: list[Event], ledger: RedisLedger
) -> None:
    """PostgreSQL holds every event exactly once and the balances Redis holds."""
    money = [e for e in events if isinstance(e, LedgerEvent)]
    history = [e for e in events if isinstance(e, MessageEvent)]
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch("SELECT bucket, stream_ms, stream_seq FROM ledger_entries")
        assert sorted(tuple(row) for row in rows) == sorted(
            (p.bucket, p.ms, p.seq) for p in (e.position for e in money) if p is not None
        )
        changes = "SELECT coalesce(sum(jsonb_array_length(history)), 0) FROM messages"
        assert await connection.fetchval(changes) == len(history)
        balances = await connection.fetch("SELECT account, balance, held FROM balances")
        for row in balances:
            state = await ledger.get_account(row["account"])
            assert state is not None and (row["balance"], row["held"]) == (
                state.balance,
                state.held,
            )
        accounts = {e.account for e in money}
        assert {row["account"] for row in balances} == accounts
        message_ids = {e.message_id for e in money if e.message_id}
        assert await connection.fetchval("SELECT count(*) FROM messages") == len(message_ids)
    finally:
        await connection.close()


class CrashAfterCommit(Persister):
    """Dies after its first commit, before the XACK."""

    async def acknowledge(self, entries: list[Entry]) -> None:
        raise asyncio.CancelledError
