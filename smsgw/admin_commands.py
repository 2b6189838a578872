"""`smsgw accounts`, `credit`, `keys`, `connectors` and `hash-admin-key`:
administration from the command line, through the admin API of a running shard (`smsgw.admin_client`
says why and how it is found), so every change is the admin API's own and is
audited as ``cli:<OS user>``. Tables by default, ``--json`` for scripts; a
refusal is one line on stderr and exit status 1, bad input exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from engine.admin.views import PriorityName
from engine.customers.api_keys import key_digest
from smsgw.admin_client import AdminApi
from smsgw.command_settings import CommandError, add_config_option, command_config, report
from smsgw.tables import cell, fields, print_json, table

Action = Callable[[AdminApi, argparse.Namespace], Awaitable[None]]
_PRIORITIES: tuple[PriorityName, ...] = ("otp", "express", "normal", "bulk")


async def run_admin(
    args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """Run the parsed admin command ``args`` against its shard (``transport``:
    tests); its exit status."""
    try:
        api = AdminApi.from_args(args, command_config(args), transport)
        try:
            await args.admin_action(api, args)
        finally:
            await api.aclose()
    except CommandError as exc:
        return report(args.command_name, exc)
    return 0


def _admin_command(args: argparse.Namespace) -> int:
    return asyncio.run(run_admin(args))


def amount(text: str, *, negative: bool) -> int:
    """An integer of minor units: ``1500000``, never ``1.5``; never 0."""
    try:
        value = int(text, 10)
    except ValueError:
        raise CommandError(
            f"AMOUNT is an integer of minor units (e.g. 1500000), got {text!r}", 2
        ) from None
    if value == 0 or (value < 0 and not negative):
        wanted = "not 0" if negative else "greater than 0 (`credit adjust` debits)"
        raise CommandError(f"AMOUNT must be {wanted}, got {text!r}", 2)
    return value


# -- accounts --------------------------------------------------------------------------

_ACCOUNT_COLUMNS = ("id", "enabled", "groups", "priority", "credit_limit", "throughput", "binds")


async def _accounts_list(api: AdminApi, args: argparse.Namespace) -> None:
    accounts = (await api.call("GET", "/admin/accounts"))["accounts"]
    if args.json:
        print_json(accounts)
        return
    headers = [name.upper() for name in (*_ACCOUNT_COLUMNS, "in_ledger")]
    rows = [[a[name] for name in (*_ACCOUNT_COLUMNS, "in_ledger")] for a in accounts]
    print(table(headers, rows))


async def _accounts_show(api: AdminApi, args: argparse.Namespace) -> None:
    await _show_account(api, args, await api.call("GET", f"/admin/accounts/{args.account}"))


async def _show_account(
    api: AdminApi, args: argparse.Namespace, view: dict[str, Any], password: str | None = None
) -> None:
    """The account with its balance (when the ledger knows it)."""
    account = view["id"]
    balance = None
    if view["in_ledger"]:
        balance = await api.call("GET", f"/admin/accounts/{account}/balance")
    if args.json:
        print_json({"account": view, "balance": balance, "smpp_password": password})
        return
    pairs = list(view.items())
    if balance is not None:
        pairs += [(name, balance[name]) for name in ("balance", "held", "available", "currency")]
    if password is not None:
        pairs.append(("smpp_password", f"{password}  (shown once: only its hash is kept)"))
    print(fields(pairs))


async def _accounts_create(api: AdminApi, args: argparse.Namespace) -> None:
    options = {
        "groups": args.group,
        "priority": args.priority,
        "credit_limit": args.credit_limit,
        "throughput": args.throughput,
        "bind_throughput": args.bind_throughput,
        "max_binds": args.max_binds,
        "window": args.window,
        "webhook_url": args.webhook_url,
    }
    body = {"id": args.account} | {k: v for k, v in options.items() if v is not None}
    view = await api.call("POST", "/admin/accounts", body)
    password = None
    if args.smpp_password:
        answer = await api.call("PUT", f"/admin/accounts/{args.account}/smpp-password", {})
        password = answer["password"]
        view = await api.call("GET", f"/admin/accounts/{args.account}")
    await _show_account(api, args, view, password)


def _switch(enabled: bool) -> Action:
    async def switch(api: AdminApi, args: argparse.Namespace) -> None:
        body = {"enabled": enabled}
        view = await api.call("PATCH", f"/admin/accounts/{args.account}", body)
        if args.json:
            print_json(view)
        else:
            print(f"{view['id']}: {'enabled' if view['enabled'] else 'disabled'}")

    return switch


# -- credit ----------------------------------------------------------------------------


async def _credit_balance(api: AdminApi, args: argparse.Namespace) -> None:
    balance = await api.call("GET", f"/admin/accounts/{args.account}/balance")
    if args.json:
        print_json(balance)
    else:
        print(fields([("account", args.account), *balance.items()]))


def _adjust(negative: bool) -> Action:
    async def adjust(api: AdminApi, args: argparse.Namespace) -> None:
        body = {
            "amount": amount(args.amount, negative=negative),
            "reason": args.reason,
            "reference": args.reference,
            "method": args.method,
        }
        answer = await api.call("POST", f"/admin/accounts/{args.account}/balance/adjustments", body)
        if args.json:
            print_json(answer)
            return
        outcome = answer["outcome"]
        if outcome == "duplicate":
            outcome = "duplicate: this reference was applied before, nothing changed"
        pairs = [("account", args.account), ("amount", body["amount"])]
        pairs += [(name, answer[name]) for name in ("reference", "balance", "held", "currency")]
        print(fields([*pairs, ("outcome", outcome)]))

    return adjust


# -- API keys --------------------------------------------------------------------------


async def _keys_issue(api: AdminApi, args: argparse.Namespace) -> None:
    issued = await api.call(
        "POST", f"/admin/accounts/{args.account}/api-keys", {"label": args.label}
    )
    if args.json:
        print_json(issued)
        return
    print(fields([("account", args.account), ("key_id", issued["key_id"]), ("key", issued["key"])]))
    print("The key is shown this once: only its SHA-256 is kept.")


async def _keys_list(api: AdminApi, args: argparse.Namespace) -> None:
    keys = (await api.call("GET", f"/admin/accounts/{args.account}/api-keys"))["api_keys"]
    if args.json:
        print_json(keys)
        return
    rows = [[k["key_id"], k["label"], k["created_at"], k["revoked_at"] or "active"] for k in keys]
    print(table(["KEY_ID", "LABEL", "CREATED", "REVOKED"], rows))


async def _keys_revoke(api: AdminApi, args: argparse.Namespace) -> None:
    await api.call("DELETE", f"/admin/accounts/{args.account}/api-keys/{args.key_id}")
    if args.json:
        print_json({"account": args.account, "key_id": args.key_id, "revoked": True})
    else:
        print(f"{args.account}: key {args.key_id} revoked")


# -- connectors ------------------------------------------------------------------------


async def _connectors_list(api: AdminApi, args: argparse.Namespace) -> None:
    connectors = (await api.call("GET", "/admin/connectors"))["connectors"]
    if args.json:
        print_json(connectors)
        return
    print(table(_CONNECTOR_HEADERS, [_connector_row(c) for c in connectors]))


_CONNECTOR_HEADERS = ("ID", "RUNNING", "BINDS", "ROUTING", "QUEUE", "IN_FLIGHT", "SUBMITTED")


def _connector_row(view: dict[str, Any]) -> list[Any]:
    return [
        view["id"],
        view["running"],
        view["binds"],
        view["health"]["routing"],
        view["queue_depth"],
        view["in_flight"],
        view["submitted"],
    ]


def _start_or_stop(verb: str) -> Action:
    async def start_or_stop(api: AdminApi, args: argparse.Namespace) -> None:
        view = await api.call("POST", f"/admin/connectors/{args.connector}/{verb}")
        if args.json:
            print_json(view)
            return
        state = "running" if view["running"] else "stopped"
        print(f"{view['id']}: {state} on {api.url} (binds {cell(view['binds'])})")

    return start_or_stop


# -- the admin key ---------------------------------------------------------------------

_MIN_ADMIN_KEY = 16
_GENERATED_KEY_BYTES = 32


def _hash_admin_key(args: argparse.Namespace) -> int:
    """The SHA-256 that ``[api] admin_key_hash`` holds (`Engine.is_admin_key`)."""
    if args.generate:
        key = secrets.token_urlsafe(_GENERATED_KEY_BYTES)
        print(f"admin key (give it to the operators; shown once): {key}")
        print(f'admin_key_hash = "{key_digest(key)}"  # in [api]')
        return 0
    key = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("admin key: ")
    if len(key) < _MIN_ADMIN_KEY:
        print(f"smsgw hash-admin-key: use at least {_MIN_ADMIN_KEY} characters", file=sys.stderr)
        return 2
    print(key_digest(key))
    return 0


# -- the parsers -----------------------------------------------------------------------


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `accounts`, `credit`, `keys` and `connectors` to the `smsgw` command line."""
    shard = argparse.ArgumentParser(add_help=False)
    add_config_option(shard)
    shard.add_argument("--url", help="the shard's HTTP front (default: $SMSGW_ADMIN_URL, [api])")
    shard.add_argument("--admin-key-file", help="default: the key in $SMSGW_ADMIN_KEY")
    shard.add_argument("--json", action="store_true", help="print JSON for scripts")

    def group(name: str, help: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        parser = subparsers.add_parser(name, help=help)
        return parser.add_subparsers(dest=f"{name}_action", metavar="ACTION", required=True)

    def action(
        actions: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        run: Action,
        help: str,
        *arguments: str,
    ) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help, parents=[shard])
        for argument in arguments:
            parser.add_argument(argument, metavar=argument.upper())
        command = f"{actions.dest.removesuffix('_action')} {name}"
        parser.set_defaults(handler=_admin_command, admin_action=run, command_name=command)
        return parser

    accounts = group("accounts", "customer accounts of the running shards")
    action(accounts, "list", _accounts_list, "every account with its ledger state")
    action(accounts, "show", _accounts_show, "one account and its balance", "account")
    _create_options(action(accounts, "create", _accounts_create, "create an account", "account"))
    action(accounts, "disable", _switch(False), "refuse its messages on every shard", "account")
    action(accounts, "enable", _switch(True), "accept its messages again", "account")

    credit = group("credit", "balances: show, top up, adjust (integers of minor units)")
    action(credit, "balance", _credit_balance, "balance, held and available credit", "account")
    for name, negative, help in (
        ("topup", False, "add credit"),
        ("adjust", True, "add (positive) or debit (negative) credit"),
    ):
        parser = action(credit, name, _adjust(negative), help, "account", "amount")
        parser.add_argument("--reason", required=True, help="recorded with the ledger entry")
        parser.add_argument(
            "--reference",
            required=True,
            help="makes it idempotent: the same reference again changes nothing",
        )
        parser.add_argument(
            "--method",
            choices=("bank_transfer", "card", "cash", "credit_note", "other"),
            default="other",
            help="how a top-up was paid, kept with its payment record (docs/billing.md)",
        )

    keys = group("keys", "HTTP API keys of an account")
    issue = action(keys, "issue", _keys_issue, "issue a key (shown once)", "account")
    issue.add_argument("--label", default="")
    action(keys, "list", _keys_list, "the account's keys (never the keys themselves)", "account")
    action(keys, "revoke", _keys_revoke, "revoke a key", "account", "key_id")

    connectors = group("connectors", "operator connectors of one shard (the one --url names)")
    action(connectors, "list", _connectors_list, "every connector with its state")
    action(connectors, "enable", _start_or_stop("start"), "start a stopped connector", "connector")
    action(connectors, "disable", _start_or_stop("stop"), "stop it; its queue stays", "connector")

    hashing = subparsers.add_parser(
        "hash-admin-key", help="the SHA-256 of an admin key (stdin) for [api] admin_key_hash"
    )
    hashing.add_argument("--generate", action="store_true", help="make a new key and its hash")
    hashing.set_defaults(handler=_hash_admin_key)


def _create_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", action="append", help="repeat for each group")
    parser.add_argument("--priority", choices=_PRIORITIES)
    parser.add_argument("--credit-limit", type=int, help="minor units it may go below zero")
    parser.add_argument("--throughput", type=int, help="parts per second, every shard; 0: no limit")
    parser.add_argument("--bind-throughput", type=int)
    parser.add_argument("--max-binds", type=int)
    parser.add_argument("--window", type=int)
    parser.add_argument("--webhook-url")
    parser.add_argument(
        "--smpp-password",
        action="store_true",
        help="generate an SMPP password and show it once (without one it cannot bind)",
    )
