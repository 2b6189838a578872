"""The ledger's commands of `smsgw`: `migrate`, `ledger reconcile` and `ledger persist`.

They read the shard's config file and environment as `smsgw serve` does
(`smsgw.command_settings`): the namespace and buckets of its ``[ledger]``
unless ``--namespace``/``--buckets`` say otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import asyncpg
import msgspec
from prometheus_client import CollectorRegistry, start_http_server

from engine.gateway_metrics import register_runtime
from engine.loop.collector import settle_collector
from ledger.config import LedgerConfig, PersisterConfig
from ledger.migrations import MigrationError, migrate
from ledger.persister import Persister
from ledger.persister_metrics import PersisterMetrics
from ledger.pgstore import EventStore
from ledger.reconcile import reconcile
from ledger.redis_client import RedisClient, open_redis
from smsgw.command_settings import (
    CommandError,
    add_config_option,
    command_config,
    database_url,
    redis_url,
    reported,
)
from smsgw.logs import configure_logging

COMMAND_TIMEOUT = 30.0
"""Seconds a command's Redis call may take: nobody waits on it but the operator."""


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
    return reported("migrate", lambda: asyncio.run(_migrate(database_url(args))))


async def _reconcile(redis_url: str, database_url: str, config: LedgerConfig) -> int:
    redis = await open_redis(redis_url, timeout=COMMAND_TIMEOUT, connections=2)
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


def ledger_config(args: argparse.Namespace) -> LedgerConfig:
    """The config file's ``[ledger]``, with ``--namespace`` and ``--buckets`` if given."""
    config = command_config(args).ledger
    changes = {
        name: value
        for name in ("namespace", "buckets")
        if (value := getattr(args, name)) is not None
    }
    try:
        return msgspec.structs.replace(config, **changes)
    except ValueError as error:
        raise CommandError(str(error), 2) from error


def reconcile_command(args: argparse.Namespace) -> int:
    def run() -> int:
        config = ledger_config(args)
        return asyncio.run(_reconcile(redis_url(args), database_url(args), config))

    return reported("ledger reconcile", run)


async def _persist(
    redis_url: str,
    database_url: str,
    config: LedgerConfig,
    settings: PersisterConfig,
    metrics: tuple[str, int] | None = None,
    share: tuple[int, int] = (0, 1),
) -> int:
    """Runs until SIGTERM/SIGINT, then finishes the batch in hand and drains
    what waits; serves Prometheus on ``metrics`` (host, port) if given."""
    reading = settings.block_ms / 1000 + COMMAND_TIMEOUT  # a blocking read outlasts a call
    settle_collector()  # a batch allocates thousands of rows and events, as a shard's traffic does
    redis = await open_redis(redis_url, timeout=reading, connections=4)
    store = EventStore(database_url)
    index, processes = share
    buckets = range(config.buckets)[index::processes]
    persister = Persister(redis, store, config, settings, buckets=buckets)
    loop = asyncio.get_running_loop()
    lag = None
    if metrics is not None:
        lag = loop.create_task(_serve_metrics(persister, redis, *metrics))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, persister.stop)
    print(f"persisting {config.namespace} as {settings.consumer}", flush=True)
    try:
        await persister.run()
        await persister.drain()
    finally:
        if lag is not None:
            lag.cancel()
        await store.close()
        await redis.aclose()
    return 0


async def _serve_metrics(persister: Persister, redis: RedisClient, host: str, port: int) -> None:
    """The persister's lag and counters, and the process's own figures, on /metrics."""
    registry = CollectorRegistry()
    register_runtime(registry)
    persister_metrics = PersisterMetrics(persister, redis)
    registry.register(persister_metrics)
    start_http_server(port, host, registry)
    await persister_metrics.run()


def persist_command(args: argparse.Namespace) -> int:
    def run() -> int:
        config = ledger_config(args)
        settings = msgspec.structs.replace(command_config(args).persister, consumer=args.consumer)
        database = database_url(args)
        configure_logging(json=True)
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
            runner = asyncio.run
        metrics = (args.metrics_host, args.metrics_port) if args.metrics_port else None
        persisting = _persist(redis_url(args), database, config, settings, metrics, args.share)
        return runner(persisting)

    return reported("ledger persist", run)


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
    persist_parser.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus /metrics (lag, events persisted) on this port; 0: none",
    )
    persist_parser.add_argument("--metrics-host", default="127.0.0.1")
    persist_parser.add_argument(
        "--share",
        type=share_of,
        default=(0, 1),
        metavar="I/N",
        help="persister I of N processes (from 1), each draining every N-th bucket: "
        "past one core's worth of events; give each its own --consumer",
    )
    persist_parser.set_defaults(handler=persist_command)


def share_of(text: str) -> tuple[int, int]:
    """``I/N`` -> (I - 1, N): which of N persister processes this one is."""
    index, _, processes = text.partition("/")
    try:
        share = int(index) - 1, int(processes)
    except ValueError:
        share = (-1, 0)
    if not 0 <= share[0] < share[1]:
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return share


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    """What `ledger_config`, `redis_url` and `database_url` read."""
    add_config_option(parser)
    parser.add_argument("--redis-url", help="default: $SMSGW_REDIS_URL")
    parser.add_argument("--database-url", help="default: $SMSGW_DATABASE_URL")
    parser.add_argument("--namespace", help="default: the config's [ledger] namespace")
    parser.add_argument("--buckets", type=int, help="default: the config's [ledger] buckets")
