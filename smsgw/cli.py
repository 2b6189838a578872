"""The `smsgw` command line."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from smsgw.admin_commands import register_commands as register_admin_commands
from smsgw.billing_commands import register_commands as register_billing_commands
from smsgw.commands import register_commands as register_engine_commands
from smsgw.config_commands import register_commands as register_config_commands
from smsgw.console_commands import register_commands as register_console_commands
from smsgw.ledger_commands import register_commands as register_ledger_commands
from smsgw.record_commands import register_commands as register_record_commands


def _version() -> str:
    try:
        return version("smsgw")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsgw", description="smsgw SMS gateway")
    parser.add_argument("--version", action="version", version=f"smsgw {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_engine_commands(subparsers)
    register_ledger_commands(subparsers)
    register_admin_commands(subparsers)
    register_record_commands(subparsers)
    register_config_commands(subparsers)
    register_billing_commands(subparsers)
    register_console_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
