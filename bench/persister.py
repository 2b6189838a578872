"""Events per second from the Redis streams into PostgreSQL: the persister's drain.

`python -m bench.persister --json` writes what `--count` messages leave in
the bucket streams of a throwaway namespace (per message: its hold and its
capture, and the accepted, submitted and delivered message events, as the
engine writes them), then times one `Persister.drain()` of all of it into a
throwaway database (created, migrated, dropped). It prints events and
messages per second, the persister's own CPU per event, and what PostgreSQL
holds afterwards. The rest of the wall time is PostgreSQL's and Redis's work:
whether the persister keeps up with a shard's peak is this figure against the
shard's messages per second.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time

import asyncpg
import uvloop
from redis.asyncio import Redis

from bench.e2e import delete_namespace, throwaway_database
from bench.output import print_report
from ledger.config import LedgerConfig
from ledger.events import MessageEvent, MessageState
from ledger.model import AcceptRequest, AccountLimits
from ledger.persister import Persister
from ledger.pgstore import EventStore
from ledger.redis_ledger import RedisLedger

_ACCOUNTS = 64
_CHUNK = 1_000
"""Messages written per ledger call while filling the streams."""


def _lifecycle(message_id: str, account: str, at_ms: int) -> list[MessageEvent]:
    """The message events of one delivered message, as the pipeline records them."""
    described = MessageEvent(
        message_id=message_id,
        account=account,
        state=MessageState.ACCEPTED,
        ts_ms=at_ms,
        parts=1,
        destination="33612345678",
        source="BANK",
        price_per_part=40_000,
    )
    submitted = MessageEvent(
        message_id=message_id,
        account=account,
        state=MessageState.SUBMITTED,
        ts_ms=at_ms + 5,
        connector="op-0",
        operator_message_id=f"op-{message_id}",
    )
    delivered = MessageEvent(
        message_id=message_id,
        account=account,
        state=MessageState.DELIVERED,
        ts_ms=at_ms + 20,
        connector="op-0",
        operator_message_id=f"op-{message_id}",
    )
    return [described, submitted, delivered]


async def _fill(ledger: RedisLedger, count: int) -> None:
    accounts = [f"bench{i}" for i in range(_ACCOUNTS)]
    for account in accounts:
        await ledger.set_account(account, AccountLimits())
        await ledger.adjust(account, 10**14, reason="bench", reference="bench")
    now_ms = int(time.time() * 1000)
    for start in range(0, count, _CHUNK):
        ids = [(f"m{n}", accounts[n % _ACCOUNTS]) for n in range(start, min(count, start + _CHUNK))]
        await ledger.accept_many(
            [AcceptRequest(message_id=m, account=a, parts=1, price=40_000) for m, a in ids]
        )
        await ledger.capture_many([(m, a, 40_000, "") for m, a in ids])
        await ledger.append_message_events(
            [event for m, a in ids for event in _lifecycle(m, a, now_ms)]
        )


async def _rows(database_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(database_url)
    try:
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("ledger_entries", "message_events", "messages")
        }
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    namespace = f"bench-{secrets.token_hex(4)}"
    redis = Redis.from_url(args.redis_url)
    config = LedgerConfig(namespace=namespace)
    ledger = RedisLedger(redis, config, shard="bench")
    try:
        async with throwaway_database(args.database_url) as database_url:
            await ledger.start()
            await _fill(ledger, args.count)
            store = EventStore(database_url)
            persister = Persister(redis, store, config)
            await persister.prepare()
            wall, cpu = time.perf_counter(), time.process_time()
            events = await persister.drain()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            await store.close()
            rows = await _rows(database_url)
    finally:
        await ledger.aclose()
        await delete_namespace(redis, namespace)
        await redis.aclose()
    return {
        "messages": args.count,
        "events": events,
        "events_per_s": round(events / wall),
        "messages_per_s": round(args.count / wall),
        "persister_cpu_us_per_event": round(cpu / events * 1e6, 2),
        "wall_us_per_event": round(wall / events * 1e6, 2),
        "elapsed_s": round(wall, 3),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.persister", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--count", type=int, default=20_000, help="messages")
    parser.add_argument(
        "--redis-url", default=os.environ.get("SMSGW_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "SMSGW_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="where to create (and drop) the throwaway database",
    )
    args = parser.parse_args()
    print_report(uvloop.run(run(args)), args.json)


if __name__ == "__main__":
    main()
