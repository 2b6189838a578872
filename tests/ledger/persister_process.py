"""A persister in its own process, for the test that SIGKILLs it while it works.

It prints `ready` once started and `acked <n>` after every acknowledged batch,
so the test can kill it in the middle of its work without guessing at timing.
"""

from __future__ import annotations

import argparse
import asyncio

from redis.asyncio import Redis

from ledger.config import LedgerConfig, PersisterConfig
from ledger.persister import Entry, Persister
from ledger.pgstore import EventStore


class AnnouncingPersister(Persister):
    async def acknowledge(self, entries: list[Entry]) -> None:
        await super().acknowledge(entries)
        print(f"acked {len(entries)}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--redis-url", "--database-url", "--namespace", "--consumer"):
        parser.add_argument(option, required=True)
    parser.add_argument("--buckets", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    args = parser.parse_args()
    persister = AnnouncingPersister(
        Redis.from_url(args.redis_url),
        EventStore(args.database_url),
        LedgerConfig(namespace=args.namespace, buckets=args.buckets),
        PersisterConfig(consumer=args.consumer, batch_size=args.batch_size),
    )
    print("ready", flush=True)
    await persister.run()


if __name__ == "__main__":
    asyncio.run(main())
