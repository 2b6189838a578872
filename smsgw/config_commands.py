"""`smsgw init` and `smsgw config check`: start a configuration, and check one.

`init` writes the commented example shipped in the package (``example.toml``),
which `smsgw serve` accepts as it is. `config check` loads a file with the very
loader `serve` uses and prints every problem with its place, one per line, so
an operator fixes a file in one pass before a deployment rather than after.
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from engine.config import ConfigError, load_config_file

EXAMPLE = "example.toml"


def example_text() -> str:
    """The commented example configuration, as `smsgw init` writes it."""
    return files("smsgw").joinpath(EXAMPLE).read_text(encoding="utf-8")


def register_commands(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="write a commented example smsgw.toml")
    init.add_argument(
        "path", nargs="?", default="smsgw.toml", help="where to write it; - for standard output"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)

    config = subparsers.add_parser("config", help="work with a configuration file")
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a file; print every error with its place")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_check)


def _init(args: argparse.Namespace) -> int:
    if args.path == "-":  # a container writes nowhere the operator can read
        print(example_text(), end="")
        return 0
    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"{path}: exists; --force overwrites it", file=sys.stderr)
        return 2
    try:
        path.write_text(example_text(), encoding="utf-8")
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}: replace the account's password_hash, then `smsgw config check {path}`")
    return 0


def _check(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        config = load_config_file(path)
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{path}: {len(exc.issues)} error(s)", file=sys.stderr)
        return 2
    routes = len(config.routing.mt_routes) if config.routing else 0
    print(
        f"{path}: ok ({len(config.accounts)} accounts, {len(config.connectors)} connectors, "
        f"{routes} MT routes)"
    )
    return 0
