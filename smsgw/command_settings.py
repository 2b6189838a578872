"""What the operator commands read, as `smsgw serve` reads it: the config file
(``--config``, else ``$SMSGW_CONFIG``, else ``smsgw.toml``) and the backends'
URLs (``$SMSGW_REDIS_URL``, ``$SMSGW_DATABASE_URL``), so a command run next to
a shard works on that shard's ledger namespace without repeating it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from engine.config import ConfigError, GatewayConfig, load_config_file

DEFAULT_CONFIG = "smsgw.toml"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class CommandError(Exception):
    """A command that cannot go on: its one-line reason and exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def reported(command: str, run: Callable[[], int]) -> int:
    """``run``'s exit status; a `CommandError` is said in one line on stderr."""
    try:
        return run()
    except CommandError as exc:
        return report(command, exc)


def report(command: str, error: CommandError) -> int:
    print(f"smsgw {command}: {error}", file=sys.stderr)
    return error.status


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        help=f"the shard's config file (default: $SMSGW_CONFIG, else {DEFAULT_CONFIG} if present)",
    )


def command_config(args: argparse.Namespace) -> GatewayConfig:
    """The config named by ``--config`` or ``$SMSGW_CONFIG`` (which must load);
    without either, ``smsgw.toml`` when it exists, else the defaults."""
    path = getattr(args, "config", None) or os.environ.get("SMSGW_CONFIG")
    if path is None:
        if not Path(DEFAULT_CONFIG).exists():
            return GatewayConfig()
        path = DEFAULT_CONFIG
    try:
        return load_config_file(path)
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}", 2) from exc
    except ConfigError as exc:
        raise CommandError(f"{path}: {exc}", 2) from exc


def redis_url(args: argparse.Namespace) -> str:
    return getattr(args, "redis_url", None) or os.environ.get("SMSGW_REDIS_URL", DEFAULT_REDIS_URL)


def database_url(args: argparse.Namespace) -> str:
    url = getattr(args, "database_url", None) or os.environ.get("SMSGW_DATABASE_URL")
    if not url:
        raise CommandError("no database: pass --database-url or set SMSGW_DATABASE_URL", 2)
    return url
