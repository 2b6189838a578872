"""Reconciliation: exact while traffic runs and the persister lags, loud on any difference."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from redis.asyncio import Redis

from ledger.config import LedgerConfig
from ledger.model import AcceptRequest, AccountLimits
from ledger.persister import Persister
from ledger.pgstore import EventStore
from ledger.reconcile import Difference, Money, reconcile
from ledger.redis_ledger import RedisLedger
from smsgw.cli import main
from tests.ledger.helpers import BUCKETS, CrashAfterCommit, workload


async def drain(redis: Redis, database_url: str, config: LedgerConfig) -> None:
    store = EventStore(database_url)
    await Persister(redis, store, config).drain()
    await store.close()


async def differences(redis: Redis, database_url: str, config: LedgerConfig) -> list[Difference]:
    connection = await asyncpg.connect(database_url)
    try:
        return await reconcile(redis, connection, config)
    finally:
        await connection.close()


async def test_agrees_when_everything_is_persisted(
    redis_ledger: RedisLedger, redis_client: Redis, database_url: str
) -> None:
    await workload(redis_ledger, accounts=4, messages=60, seed=20)
    await drain(redis_client, database_url, redis_ledger.config)
    assert await differences(redis_client, database_url, redis_ledger.config) == []


async def test_agrees_while_the_persister_lags_or_crashed_before_its_ack(
    redis_ledger: RedisLedger, redis_client: Redis, database_url: str
) -> None:
    await workload(redis_ledger, accounts=3, messages=40, seed=21)
    store = EventStore(database_url)
    with pytest.raises(asyncio.CancelledError):
        await CrashAfterCommit(redis_client, store, redis_ledger.config).drain()
    await store.close()
    await workload(redis_ledger, accounts=3, messages=40, seed=22)  # not persisted at all
    assert await differences(redis_client, database_url, redis_ledger.config) == []


async def test_agrees_while_traffic_and_the_persister_run(
    redis_ledger: RedisLedger, redis_client: Redis, database_url: str
) -> None:
    await workload(redis_ledger, accounts=3, messages=30, seed=23)
    accounts = [f"acct23-{n}" for n in range(3)]

    async def traffic() -> None:
        for n in range(200):
            account = accounts[n % 3]
            await redis_ledger.accept(
                AcceptRequest(message_id=f"live{n}", account=account, parts=1, price=3)
            )
            if n % 2:
                await redis_ledger.capture(f"live{n}", account, 2)

    found, *_ = await asyncio.gather(
        differences(redis_client, database_url, redis_ledger.config),
        traffic(),
        drain(redis_client, database_url, redis_ledger.config),
    )
    assert found == []


async def test_reports_every_account_that_differs(
    redis_ledger: RedisLedger, redis_client: Redis, database_url: str
) -> None:
    await workload(redis_ledger, accounts=4, messages=40, seed=24)
    await drain(redis_client, database_url, redis_ledger.config)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "UPDATE ledger_entries SET balance_delta = balance_delta + 7"
            " WHERE account = 'acct24-0' AND kind = 'adjust'"
        )
        await connection.execute(
            "INSERT INTO accounts VALUES ('ghost', true, 0, 0, 0, 'day', 0, 0, 0, 0, now())"
        )
    finally:
        await connection.close()
    await redis_client.hincrby(redis_ledger.keys.account("acct24-1"), "held", -1)
    found = await differences(redis_client, database_url, redis_ledger.config)
    assert [d.account for d in found] == ["acct24-0", "acct24-1", "ghost"]
    ghost = found[2]
    assert ghost == Difference("ghost", None, Money(0, 0))
    assert found[0].postgres is not None and found[0].redis is not None
    assert found[0].postgres.balance == found[0].redis.balance + 7
    assert "redis missing" in str(ghost)


async def test_smsgw_ledger_reconcile_command(
    redis_ledger: RedisLedger,
    redis_client: Redis,
    redis_url: str,
    namespace: str,
    database_url: str,
) -> None:
    await workload(redis_ledger, accounts=2, messages=20, seed=25)
    await drain(redis_client, database_url, redis_ledger.config)
    command = [
        "ledger", "reconcile", "--redis-url", redis_url, "--database-url", database_url,
        "--namespace", namespace, "--buckets", str(BUCKETS),
    ]  # fmt: skip
    assert await asyncio.to_thread(main, command) == 0
    await redis_ledger.set_account("newcomer", AccountLimits())
    await redis_client.hset(redis_ledger.keys.account("newcomer"), "balance", 5)
    assert await asyncio.to_thread(main, command) == 1
