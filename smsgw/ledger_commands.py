"""The ledger's commands of `smsgw`: `migrate`, `ledger reconcile` and `ledger persist`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import asyncpg
from redis.asyncio import Redis

from ledger.config import LedgerConfig, PersisterConfig
from ledger.migrations import MigrationError, migrate
from ledger.persister import Persister
from ledger.pgstore import EventStore
from ledger.reconcile import reconcile


def _database_url(args: argparse.Namespace) -> str:
    url = args.database_url or os.environ.get("SMSGW_DATABASE_URL")
    if not url:
        raise SystemExit("smsgw: no database: pass --database-url or set SMSGW_DATABASE_URL")
    return url


async def _migrate(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        applied = await migrate(connection)
    except MigrationError as error:
        print(f"smsgw migrate: {error}", file=sys.stderr)
        return 1
    finally:
        await connection.close()
    for migration in applied:
        print(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        print("database is up to date")
    return 0


def migrate_command(args: argparse.Namespace) -> int:
    return asyncio.run(_migrate(_database_url(args)))


async def _reconcile(redis_url: str, database_url: str, config: LedgerConfig) -> int:
    redis = Redis.from_url(redis_url)
    connection = await asyncpg.connect(database_url)
    try:
        differences = await reconcile(redis, connection, config)
    finally:
        await connection.close()
        await redis.aclose()
    for difference in differences:
        print(difference)
    if differences:
        print(f"{len(differences)} account(s) differ", file=sys.stderr)
        return 1
    print("redis and postgresql agree")
    return 0


def _redis_and_ledger(args: argparse.Namespace, command: str) -> tuple[str, LedgerConfig]:
    """The Redis URL and ledger layout a `smsgw ledger` command works on."""
    redis_url = args.redis_url or os.environ.get("SMSGW_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        return redis_url, LedgerConfig(namespace=args.namespace, buckets=args.buckets)
    except ValueError as error:
        raise SystemExit(f"smsgw ledger {command}: {error}") from error


def reconcile_command(args: argparse.Namespace) -> int:
    redis_url, config = _redis_and_ledger(args, "reconcile")
    return asyncio.run(_reconcile(redis_url, _database_url(args), config))


async def _persist(redis_url: str, database_url: str, config: LedgerConfig, consumer: str) -> int:
    """Runs until SIGTERM/SIGINT, then finishes the batch in hand and drains what waits."""
    redis = Redis.from_url(redis_url)
    store = EventStore(database_url)
    persister = Persister(redis, store, config, PersisterConfig(consumer=consumer))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, persister.stop)
    print(f"persisting {config.namespace} as {consumer}", flush=True)
    try:
        await persister.run()
        await persister.drain()
    finally:
        await store.close()
        await redis.aclose()
    return 0


def persist_command(args: argparse.Namespace) -> int:
    redis_url, config = _redis_and_ledger(args, "persist")
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        runner = asyncio.run
    return runner(_persist(redis_url, _database_url(args), config, args.consumer))


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `migrate`, `ledger reconcile` and `ledger persist` to the `smsgw` command line."""
    migrate_parser = subparsers.add_parser("migrate", help="apply the PostgreSQL migrations")
    migrate_parser.add_argument("--database-url", help="default: $SMSGW_DATABASE_URL")
    migrate_parser.set_defaults(handler=migrate_command)

    ledger_parser = subparsers.add_parser("ledger", help="credit ledger tools")
    ledger_commands = ledger_parser.add_subparsers(dest="ledger_command", metavar="COMMAND")
    reconcile_parser = ledger_commands.add_parser(
        "reconcile",
        help="compare live Redis balances with PostgreSQL; exit 1 on any difference",
    )
    _add_backend_options(reconcile_parser)
    reconcile_parser.set_defaults(handler=reconcile_command)

    persist_parser = ledger_commands.add_parser(
        "persist",
        help="drain ledger and message events into PostgreSQL (a process of its own)",
    )
    _add_backend_options(persist_parser)
    persist_parser.add_argument(
        "--consumer",
        default="persister-1",
        help="stable name in the consumer group: a restart resumes its own pending events",
    )
    persist_parser.set_defaults(handler=persist_command)


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    """What `_redis_and_ledger` and `_database_url` read."""
    parser.add_argument("--redis-url", help="default: $SMSGW_REDIS_URL")
    parser.add_argument("--database-url", help="default: $SMSGW_DATABASE_URL")
    parser.add_argument("--namespace", default=LedgerConfig().namespace)
    parser.add_argument("--buckets", type=int, default=LedgerConfig().buckets)
