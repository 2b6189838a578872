"""Accepts per second through the Redis ledger, batched and one call per message.

`python -m bench.ledger --json` runs both modes in one process against the
same Redis, with the same fixed number of concurrent callers, a warm-up and a
fixed measuring time, in a throwaway namespace that is deleted afterwards.
Each caller loops `accept` of a one-part message on one of many accounts; in
the batched mode the ledger coalesces them (one script call per bucket per
loop turn), in the other mode `max_batch=1` makes every message its own call.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import statistics
import time

import uvloop
from redis.asyncio import Redis

from bench.output import print_report
from ledger.config import LedgerConfig
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits
from ledger.redis_ledger import RedisLedger

_PAYLOAD = bytes(140)  # one SMS worth of user data


async def _measure(
    redis: Redis, config: LedgerConfig, args: argparse.Namespace, label: str
) -> dict[str, float]:
    ledger = RedisLedger(redis, config, shard=f"bench-{label}")
    await ledger.start()
    accounts = [f"bench{i}" for i in range(args.accounts)]
    for account in accounts:
        await ledger.set_account(account, AccountLimits())
        await ledger.adjust(account, 10**14, reason="bench", reference="bench")
    ids = itertools.count()
    measuring = False
    accepted = 0
    latencies: list[float] = []

    async def caller(worker: int) -> None:
        nonlocal accepted
        account = accounts[worker % len(accounts)]
        while True:
            request = AcceptRequest(
                message_id=f"{label}{next(ids)}",
                account=account,
                parts=1,
                price=1,
                payload=_PAYLOAD,
            )
            started = time.perf_counter()
            result = await ledger.accept(request)
            if measuring:
                latencies.append(time.perf_counter() - started)
                accepted += result.outcome is AcceptOutcome.OK

    tasks = [asyncio.create_task(caller(worker)) for worker in range(args.concurrency)]
    await asyncio.sleep(args.warmup)
    measuring = True
    started = time.perf_counter()
    await asyncio.sleep(args.seconds)
    elapsed = time.perf_counter() - started
    measuring = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await ledger.aclose()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "accepts_per_s": round(accepted / elapsed),
        "latency_p50_ms": round(cuts[49] * 1000, 3),
        "latency_p99_ms": round(cuts[98] * 1000, 3),
    }


async def _delete_namespace(redis: Redis, namespace: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=10_000)]
    for start in range(0, len(keys), 10_000):
        await redis.unlink(*keys[start : start + 10_000])


async def run(args: argparse.Namespace) -> dict[str, object]:
    namespace = f"bench-{secrets.token_hex(4)}"
    redis = Redis.from_url(args.redis_url)
    batched_config = LedgerConfig(namespace=namespace, max_batch=args.max_batch)
    single_config = LedgerConfig(namespace=namespace, max_batch=1, max_in_flight=args.concurrency)
    try:
        batched = await _measure(redis, batched_config, args, "batched")
        single = await _measure(redis, single_config, args, "single")
    finally:
        await _delete_namespace(redis, namespace)
        await redis.aclose()
    return {
        "batched_accepts_per_s": batched["accepts_per_s"],
        "single_accepts_per_s": single["accepts_per_s"],
        "ratio": round(batched["accepts_per_s"] / max(single["accepts_per_s"], 1), 2),
        "goal_accepts_per_s": 50_000,
        "batched_latency_p50_ms": batched["latency_p50_ms"],
        "batched_latency_p99_ms": batched["latency_p99_ms"],
        "single_latency_p50_ms": single["latency_p50_ms"],
        "single_latency_p99_ms": single["latency_p99_ms"],
        "concurrency": args.concurrency,
        "accounts": args.accounts,
        "max_batch": args.max_batch,
        "warmup_s": args.warmup,
        "seconds": args.seconds,
        "payload_bytes": len(_PAYLOAD),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--redis-url", default=os.environ.get("SMSGW_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--accounts", type=int, default=64)
    parser.add_argument("--max-batch", type=int, default=512)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print_report(uvloop.run(run(args)), args.json)


if __name__ == "__main__":
    main()
