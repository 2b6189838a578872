"""`smsgw console users`: the web console's users, managed on the config's
Redis directly (the store `smsgw serve` reads), so the first admin can be
made before any console exists to make it in. Changes are audited as
``cli:<OS user>`` in the same log as the console's (docs/console.md)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from engine.admin.audit import AuditLog, acting_as
from engine.console import ROLES, ConsoleUser, ConsoleUsers, RedisConsoleUserStore, UserRefused
from engine.customers.logins import Logins
from ledger.redis_client import open_redis
from smsgw.admin_client import cli_actor
from smsgw.command_settings import (
    CommandError,
    add_config_option,
    command_config,
    redis_url,
    reported,
)
from smsgw.tables import print_json, table

COMMAND_TIMEOUT = 10.0


def _password(args: argparse.Namespace) -> str:
    """From standard input (``--password-stdin``, one line) or asked twice at a prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask the password: use --password-stdin", 2)
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the passwords differ", 2)
    return first


async def _on_users(args: argparse.Namespace, action: str) -> int:
    config = command_config(args)
    namespace = config.ledger.namespace
    redis = await open_redis(redis_url(args), timeout=COMMAND_TIMEOUT, connections=2)
    logins = Logins(config.security)
    try:
        audit = AuditLog(namespace, redis, config.limits.audit_length)
        users = ConsoleUsers(RedisConsoleUserStore(redis, namespace), logins, audit=audit)
        with acting_as(cli_actor()):
            return await _act(users, args, action)
    except UserRefused as refused:
        raise CommandError(f"{refused.field}: {refused}", 1) from None
    finally:
        logins.close()
        await redis.aclose()


async def _act(users: ConsoleUsers, args: argparse.Namespace, action: str) -> int:
    if action == "add":
        user = await users.create(args.name, args.password, args.role, args.account)
        print(f"added {user.name} ({user.role})")
    elif action == "list":
        found = await users.users()
        if args.json:
            print_json([_row(u) for u in found])
        else:
            headers = ["name", "role", "account", "disabled", "totp"]
            print(table(headers, [list(_row(u).values()) for u in found]))
    else:
        user = await users.set_disabled(cli_actor(), args.name, action == "disable")
        print(f"{action}d {user.name}")
    return 0


def _row(user: ConsoleUser) -> dict[str, object]:
    return {
        "name": user.name,
        "role": user.role,
        "account": user.account or "",
        "disabled": user.disabled,
        "totp": user.totp_secret is not None,
    }


def users_command(args: argparse.Namespace) -> int:
    action = args.users_action

    def run() -> int:
        if action == "add":
            args.password = _password(args)
        return asyncio.run(_on_users(args, action))

    return reported(f"console users {action}", run)


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `console users add|list|disable|enable`."""
    console = subparsers.add_parser("console", help="the web console's users")
    groups = console.add_subparsers(dest="console_action", metavar="ACTION", required=True)
    users = groups.add_parser("users", help="add, list, disable and enable console users")
    actions = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help)
        add_config_option(parser)
        parser.add_argument("--redis-url", help="default: $SMSGW_REDIS_URL")
        parser.set_defaults(handler=users_command)
        return parser

    add = action("add", "a new user; the password is asked, or read with --password-stdin")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--account", help="the account of a customer or reseller user")
    add.add_argument("--password-stdin", action="store_true", help="read one line from stdin")
    listing = action("list", "every user, its role, account, state and TOTP")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    for name, help in (("disable", "refuse the user's logins"), ("enable", "allow them again")):
        action(name, help).add_argument("name", metavar="NAME")
