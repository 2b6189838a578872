"""`smsgw messages show` and `smsgw audit`: what happened, read from where it is kept.

Both only read, so they go to the stores directly rather than through a
shard: a message's history from PostgreSQL (``$SMSGW_DATABASE_URL``, what the
persister wrote, `ledger.message_query`), the admin changes from the audit
stream in Redis (``$SMSGW_REDIS_URL``, the config's ``[ledger]`` namespace,
`engine.admin.audit`). A message accepted a moment ago may not be in
PostgreSQL yet: the persister is asynchronous.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from redis.exceptions import RedisError

from engine.admin.audit import AuditLog
from ledger.message_query import PgMessageQuery
from ledger.redis_client import open_redis
from smsgw.command_settings import (
    CommandError,
    add_config_option,
    command_config,
    database_url,
    redis_url,
    reported,
)
from smsgw.ledger_commands import COMMAND_TIMEOUT
from smsgw.tables import cell, fields, print_json, table, utc_ms

_MESSAGE_FIELDS = (
    "message_id",
    "account",
    "state",
    "parts",
    "price_per_part",
    "held",
    "charged",
    "connector",
    "operator_message_id",
    "error_code",
    "source",
    "destination",
    "reference",
)


async def _show_message(args: argparse.Namespace) -> int:
    query = PgMessageQuery(database_url(args), max_connections=1)
    try:
        account = args.account or await query.account_of(args.message_id)
        record = await query.get(account, args.message_id) if account else None
    except (OSError, asyncpg.PostgresError) as exc:
        raise CommandError(f"PostgreSQL: {exc}") from exc
    except ValueError as exc:  # an account id that cannot be one
        raise CommandError(str(exc), 2) from exc
    finally:
        await query.aclose()
    if record is None:
        raise CommandError(f"no message {args.message_id!r} in the history")
    if args.json:
        print_json(record)
        return 0
    pairs = [(name, getattr(record, name)) for name in _MESSAGE_FIELDS]
    times = [("accepted_at", utc_ms(record.accepted_at)), ("updated_at", utc_ms(record.updated_at))]
    print(fields(pairs + times))
    print()
    rows = [
        [utc_ms(e.at), e.state, e.connector, e.operator_message_id, e.error_code]
        for e in record.events
    ]
    print(table(["AT", "STATE", "CONNECTOR", "OPERATOR_ID", "ERROR"], rows))
    return 0


async def _audit(args: argparse.Namespace) -> int:
    config = command_config(args)
    try:
        redis = await open_redis(redis_url(args), timeout=COMMAND_TIMEOUT, connections=1)
    except RedisError as exc:
        raise CommandError(f"Redis: {exc}") from exc
    try:
        log = AuditLog(config.ledger.namespace, redis, config.limits.audit_length)
        entries = list(reversed(await log.recent(args.limit)))
    except RedisError as exc:
        raise CommandError(f"Redis: {exc}") from exc
    finally:
        await redis.aclose()
    if args.json:
        print_json(entries)
        return 0
    rows = [[utc_ms(e.at), e.actor, e.action, e.target, _detail(e.detail)] for e in entries]
    print(table(["AT", "ACTOR", "ACTION", "TARGET", "DETAIL"], rows))
    return 0


def _detail(detail: dict[str, object]) -> str:
    return " ".join(f"{name}={cell(value)}" for name, value in detail.items())


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `messages show` and `audit` to the `smsgw` command line."""
    messages = subparsers.add_parser("messages", help="messages and their history (PostgreSQL)")
    actions = messages.add_subparsers(dest="messages_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="one message with its history")
    show.add_argument("message_id")
    show.add_argument("--account", help="whose message (default: looked up by its id)")
    show.add_argument("--database-url", help="default: $SMSGW_DATABASE_URL")
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.set_defaults(handler=_run("messages show", _show_message))

    audit = subparsers.add_parser("audit", help="the last admin changes: who, what, when")
    add_config_option(audit)
    audit.add_argument("--redis-url", help="default: $SMSGW_REDIS_URL")
    audit.add_argument("--limit", type=int, default=50, help="entries, oldest first (default 50)")
    audit.add_argument("--json", action="store_true", help="print JSON for scripts")
    audit.set_defaults(handler=_run("audit", _audit))


def _run(
    command: str, run: Callable[[argparse.Namespace], Awaitable[int]]
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return reported(command, lambda: asyncio.run(run(args)))

    return handler
