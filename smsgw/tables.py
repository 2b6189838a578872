"""What the operator commands print: aligned tables for people, JSON for scripts.

Money is printed as the integer minor units the ledger keeps, never rounded
into a decimal; times as UTC ISO 8601.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec


def print_json(value: Any) -> None:
    print(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns as wide as their widest cell, two spaces apart; an empty table
    is its header alone."""
    cells = [[cell(value) for value in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """One ``name  value`` line per field, names aligned."""
    pairs = list(pairs)
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name.ljust(width)}  {cell(value)}".rstrip() for name, value in pairs)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(cell(item) for item in value) or "-"
    return str(value)


def utc(seconds: float | None) -> str | None:
    """Unix seconds as ``2025-01-31T12:00:00Z``; None stays None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_ms(milliseconds: int | None) -> str | None:
    return None if milliseconds is None else utc(milliseconds / 1000)
