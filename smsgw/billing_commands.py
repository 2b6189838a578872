"""`smsgw billing`: CDRs and reconciliation read PostgreSQL directly (like
`smsgw ledger reconcile`); invoices are issued through a running shard's admin
API, which knows the accounts' currencies, taxes and plans (docs/billing.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import BinaryIO

import msgspec

from engine.billing.cdrs import Reporting, export_cdrs
from engine.billing.currencies import check_currency
from engine.billing.periods import Period, month
from engine.billing.rate_store import ExchangeRates, RedisRateStore
from engine.billing.rates import parse_rates_csv
from engine.billing.reconcile import reconcile
from ledger.redis_client import open_redis
from smsgw.admin_client import AdminApi
from smsgw.admin_commands import Action, run_admin
from smsgw.command_settings import (
    CommandError,
    add_config_option,
    command_config,
    database_url,
    redis_url,
    reported,
)
from smsgw.tables import print_json, table


def _admin_command(args: argparse.Namespace) -> int:
    return asyncio.run(run_admin(args))


def _period(text: str) -> Period:
    try:
        return month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def _export(args: argparse.Namespace, out: BinaryIO) -> int:
    """The CDRs, with margins in ``--reporting-currency`` at the rates Redis holds."""
    if args.reporting_currency is None:
        return await export_cdrs(database_url(args), args.month, args.format, out, args.account)
    namespace = command_config(args).ledger.namespace
    redis = await open_redis(redis_url(args), timeout=10.0, connections=2)
    try:
        rates = ExchangeRates(RedisRateStore(redis, namespace))
        await rates.load()
        reporting = Reporting(args.reporting_currency, rates)
        return await export_cdrs(
            database_url(args), args.month, args.format, out, args.account, reporting
        )
    finally:
        await redis.aclose()


def cdrs_command(args: argparse.Namespace) -> int:
    def run() -> int:
        if args.output:
            with open(args.output, "wb") as out:
                written = asyncio.run(_export(args, out))
        else:
            written = asyncio.run(_export(args, sys.stdout.buffer))
        print(f"{written} CDR(s) of {args.month.label}", file=sys.stderr)
        return 0

    return reported("billing cdrs", run)


def _currency(text: str) -> str:
    try:
        return check_currency(text, "--reporting-currency")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def reconcile_command(args: argparse.Namespace) -> int:
    def run() -> int:
        report = asyncio.run(
            reconcile(database_url(args), args.month, require_invoices=args.require_invoices)
        )
        print("\n".join(report.lines()))
        return 0 if report.ok else 1

    return reported("billing reconcile", run)


async def _rates_import(api: AdminApi, args: argparse.Namespace) -> None:
    """Every bad row is said here, with its line, before anything is sent."""
    try:
        with open(args.file, encoding="utf-8-sig") as file:
            records = parse_rates_csv(file.read())
    except OSError as exc:
        raise CommandError(f"{args.file}: {exc.strerror or exc}", 2) from exc
    except ValueError as exc:
        raise CommandError(f"{args.file}:\n{exc}", 2) from exc
    answer = await api.call("POST", "/admin/exchange-rates", msgspec.to_builtins(records))
    if args.json:
        print_json(answer)
    else:
        print(f"{answer['added']} added, {answer['unchanged']} already there")


async def _rates_list(api: AdminApi, args: argparse.Namespace) -> None:
    answer = await api.call("GET", "/admin/exchange-rates")
    if args.json:
        print_json(answer)
        return
    rows = [[r["base"], r["quote"], r["rate"], r["valid_from"]] for r in answer["rates"]]
    print(table(["base", "quote", "rate", "valid_from"], rows))


async def _issue(api: AdminApi, args: argparse.Namespace) -> None:
    body: dict[str, object] = {"month": args.month.label}
    if args.account:
        body["accounts"] = args.account
    answer = await api.call("POST", "/admin/invoices", body)
    if args.json:
        print_json(answer)
        return
    for line in answer.get("issued", []):
        print(f"issued {line['id']} {line['account']} {line['total']} {line['currency']}")
    for line in answer.get("refused", []):
        print(f"refused {line['account']}: {line.get('detail', line.get('code'))}")
    if answer.get("refused") and not answer.get("issued"):
        raise CommandError("no invoice issued")


async def _settle_margins(api: AdminApi, args: argparse.Namespace) -> None:
    """Credits each reseller its margin of the month once (docs/resellers.md)."""
    answer = await api.call("POST", "/admin/resellers/margins", {"month": args.month.label})
    if args.json:
        print_json(answer)
        return
    for line in answer["margins"]:
        extra = f" ({line['open_messages']} open)" if line.get("open_messages") else ""
        print(f"{line['reseller']} {line['month']} {line['amount']} {line['outcome']}{extra}")


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `billing cdrs`, `billing reconcile` and `billing invoices issue`."""
    billing = subparsers.add_parser("billing", help="CDRs, invoices, reconciliation")
    actions = billing.add_subparsers(dest="billing_action", metavar="ACTION", required=True)

    cdrs = actions.add_parser("cdrs", help="export a month's CDRs (one per message part)")
    add_config_option(cdrs)
    cdrs.add_argument("--database-url", help="default: $SMSGW_DATABASE_URL")
    cdrs.add_argument("--month", type=_period, required=True, help="YYYY-MM (UTC)")
    cdrs.add_argument("--account", help="one account's (default: every account's)")
    cdrs.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    cdrs.add_argument("--output", help="a file (default: standard output)")
    cdrs.add_argument(
        "--reporting-currency",
        type=_currency,
        help="add each part's sale, cost and margin in this currency (rates from Redis)",
    )
    cdrs.add_argument("--redis-url", help="default: $SMSGW_REDIS_URL")
    cdrs.set_defaults(handler=cdrs_command)

    check = actions.add_parser(
        "reconcile", help="CDRs = ledger = invoices, per currency; exit 1 on any difference"
    )
    add_config_option(check)
    check.add_argument("--database-url", help="default: $SMSGW_DATABASE_URL")
    check.add_argument("--month", type=_period, required=True, help="YYYY-MM (UTC)")
    check.add_argument(
        "--require-invoices", action="store_true", help="an account not invoiced is a difference"
    )
    check.set_defaults(handler=reconcile_command)

    def through_shard(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        run: Action,
        help: str,
    ) -> argparse.ArgumentParser:
        """An action done by the running shard's admin API (`smsgw.admin_commands`)."""
        parser = group.add_parser(name, help=help)
        add_config_option(parser)
        parser.add_argument("--url", help="the shard's HTTP front (default: $SMSGW_ADMIN_URL)")
        parser.add_argument("--admin-key-file", help="default: the key in $SMSGW_ADMIN_KEY")
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
        command = f"billing {group.dest.removesuffix('_action')} {name}"
        parser.set_defaults(handler=_admin_command, admin_action=run, command_name=command)
        return parser

    invoices = actions.add_parser("invoices", help="issue invoices through a running shard")
    invoice_actions = invoices.add_subparsers(
        dest="invoices_action", metavar="ACTION", required=True
    )
    issue = through_shard(invoice_actions, "issue", _issue, "issue a month's invoices")
    issue.add_argument("--month", type=_period, required=True, help="YYYY-MM (UTC)")
    issue.add_argument("--account", action="append", help="only these (repeat); default: all")

    rates = actions.add_parser("rates", help="exchange rates, through a running shard")
    rate_actions = rates.add_subparsers(dest="rates_action", metavar="ACTION", required=True)
    loading = through_shard(
        rate_actions, "import", _rates_import, "add dated rates from a CSV file"
    )
    loading.add_argument("file", metavar="FILE", help="CSV: base,quote,rate,valid_from")
    through_shard(rate_actions, "list", _rates_list, "every rate record")

    resellers = actions.add_parser("resellers", help="resellers' margins, through a running shard")
    reseller_actions = resellers.add_subparsers(
        dest="resellers_action", metavar="ACTION", required=True
    )
    settle = through_shard(
        reseller_actions, "settle", _settle_margins, "credit each reseller its month's margin once"
    )
    settle.add_argument("--month", type=_period, required=True, help="YYYY-MM (UTC)")
