"""`smsgw ledger persist`: the persister as a process of its own, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from redis.asyncio import Redis

from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import BUCKETS, assert_postgres_matches, redis_events, workload

ROOT = Path(__file__).resolve().parents[2]


async def test_persists_everything_and_drains_on_sigterm(
    redis_ledger: RedisLedger,
    redis_client: Redis,
    redis_url: str,
    namespace: str,
    database_url: str,
) -> None:
    for seed in (3, 4):
        await workload(redis_ledger, accounts=4, messages=200, seed=seed)
    events = await redis_events(redis_client, redis_ledger)  # before trimming after persisting
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgw.cli", "ledger", "persist",
        "--redis-url", redis_url, "--database-url", database_url,
        "--namespace", namespace, "--buckets", str(BUCKETS),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert (await process.stdout.readline()).startswith(b"persisting ")
    process.send_signal(signal.SIGTERM)  # whatever it has not done yet, the drain does
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await assert_postgres_matches(database_url, events, redis_ledger)
