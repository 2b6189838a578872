"""Events per second from the Redis streams into PostgreSQL: the persister's drain.

`python -m bench.persister --json` writes what `--count` messages leave in
the bucket streams of a throwaway namespace (per message: its hold and its
capture, and the accepted, submitted and delivered message events, as the
engine writes them), then times one `Persister.drain()` of all of it into a
throwaway database (created, migrated, dropped). It prints events and
messages per second, the persister's own CPU per event, and what PostgreSQL
holds afterwards. The rest of the wall time is PostgreSQL's and Redis's work:
whether the persister keeps up with a shard's peak is this figure against the
shard's messages per second. `--workers` sets the persister's parallel workers,
`--processes` runs that many persister processes over disjoint buckets, as
`smsgw ledger persist --share I/N` does, past what one core's Python drains;
PostgreSQL's CPU per event is read from its server processes (/proc) of the
persister's connections, so other load on the machine does not count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time

import asyncpg
import orjson
import uvloop
from redis.asyncio import Redis

from bench.costs import process_cpu_seconds
from bench.e2e import delete_namespace, throwaway_database
from bench.output import print_report
from engine.loop.collector import settle_collector
from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import MessageEvent, MessageState
from ledger.model import AcceptRequest, AccountLimits
from ledger.persister import Persister
from ledger.pgstore import EventStore
from ledger.redis_ledger import RedisLedger
from smsgw.ledger_commands import share_of as _share

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


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these local processes (PostgreSQL's backends)."""
    return sum(process_cpu_seconds(pid) for pid in pids)


async def _rows(database_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(database_url)
    try:
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("ledger_entries", "messages")
        }
    finally:
        await connection.close()


class _Drain:
    """One persister over its share of the buckets, connected before the clock starts."""

    def __init__(
        self,
        redis: Redis,
        database_url: str,
        config: LedgerConfig,
        share: int,
        of: int,
        workers: int,
    ) -> None:
        self.store = EventStore(database_url)
        settings = PersisterConfig(workers=workers, consumer=f"bench-{share}")
        buckets = range(config.buckets)[share::of]
        self.persister = Persister(redis, self.store, config, settings, buckets=buckets)
        self.workers = workers

    async def connect(self) -> None:
        await self.persister.prepare()
        for lane in range(self.workers):
            await self.store.connect(lane)

    async def run(self) -> dict[str, float]:
        """Events drained, and the CPU seconds of this process and of its PostgreSQL backends."""
        backends = self.store.backend_pids()
        pg_cpu, cpu = _cpu_seconds(backends), time.process_time()
        events = await self.persister.drain()
        cpu, pg_cpu = time.process_time() - cpu, _cpu_seconds(backends) - pg_cpu
        await self.store.close()
        return {"events": events, "cpu": cpu, "pg_cpu": pg_cpu}


async def _drain_share(args: argparse.Namespace) -> None:
    """A child of ``--processes``: says "ready" once connected, drains on a line of stdin."""
    share, of = args.drain_share
    settle_collector()  # as `smsgw ledger persist` does
    redis = Redis.from_url(args.redis_url)
    drain = _Drain(
        redis, args.database_url, LedgerConfig(namespace=args.namespace), share, of, args.workers
    )
    await drain.connect()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(orjson.dumps(await drain.run()).decode(), flush=True)
    await redis.aclose()


async def _drain_in_processes(
    args: argparse.Namespace, namespace: str, database_url: str
) -> tuple[float, list[dict[str, float]]]:
    """Wall seconds of ``--processes`` persister processes draining their shares at once."""
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.persister",
            "--drain-share",
            f"{share + 1}/{args.processes}",
            "--namespace",
            namespace,
            "--database-url",
            database_url,
            "--redis-url",
            args.redis_url,
            "--workers",
            str(args.workers),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for share in range(args.processes)
    ]
    for child in children:
        assert child.stdout is not None
        if (await child.stdout.readline()).strip() != b"ready":
            raise RuntimeError("a persister process did not start")
    wall = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    results = []
    for child in children:
        assert child.stdout is not None
        results.append(orjson.loads(await child.stdout.readline()))
        await child.wait()
    return time.perf_counter() - wall, results


async def run(args: argparse.Namespace) -> dict[str, object]:
    namespace = f"bench-{secrets.token_hex(4)}"
    redis = Redis.from_url(args.redis_url)
    config = LedgerConfig(namespace=namespace)
    ledger = RedisLedger(redis, config, shard="bench")
    try:
        async with throwaway_database(args.database_url) as database_url:
            await ledger.start()
            await _fill(ledger, args.count)
            if args.processes > 1:
                wall, drains = await _drain_in_processes(args, namespace, database_url)
            else:
                drain = _Drain(redis, database_url, config, 0, 1, args.workers)
                await drain.connect()
                wall = time.perf_counter()
                drains = [await drain.run()]
                wall = time.perf_counter() - wall
            rows = await _rows(database_url)
    finally:
        await ledger.aclose()
        await delete_namespace(redis, namespace)
        await redis.aclose()
    events = sum(d["events"] for d in drains)
    cpu = sum(d["cpu"] for d in drains)
    pg_cpu = sum(d["pg_cpu"] for d in drains)
    return {
        "messages": args.count,
        "events": events,
        "events_per_s": round(events / wall),
        "messages_per_s": round(args.count / wall),
        "processes": args.processes,
        "workers": args.workers,
        "persister_cpu_us_per_event": round(cpu / events * 1e6, 2),
        "postgres_cpu_us_per_event": round(pg_cpu / events * 1e6, 2),
        "cpu_us_per_message": round((cpu + pg_cpu) / args.count * 1e6, 1),
        "wall_us_per_event": round(wall / events * 1e6, 2),
        "elapsed_s": round(wall, 3),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.persister", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--count", type=int, default=20_000, help="messages")
    parser.add_argument("--workers", type=int, default=PersisterConfig().workers)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="persister processes, each draining every N-th bucket (smsgw ledger persist --share)",
    )
    parser.add_argument("--drain-share", type=_share, help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)
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
    if args.drain_share is not None:
        uvloop.run(_drain_share(args))
        return
    print_report(uvloop.run(run(args)), args.json)


if __name__ == "__main__":
    main()
