"""The time partitions of PostgreSQL's growing tables: made ahead of need, old days dropped.

`messages` has one partition per UTC day (`messages_2026_01_31`), `ledger_entries`
one per month (`ledger_entries_2026_01`). Each batch makes the partitions its rows
need (SQL functions of the migrations, safe when several persisters race); the
persister's maintenance also makes the next days ahead, so the first batch after
midnight does not wait on DDL, and drops whole days of `messages` older than the
retention. Dropping a partition is cheap and leaves no dead rows, where a DELETE
of old rows would bloat the table and the WAL. `ledger_entries` is never dropped
by retention: balances and `smsgw ledger reconcile` depend on every entry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import asyncpg

DAY_MS = 86_400_000
_DAY_PARTITION = re.compile(r"messages_(\d{4})_(\d{2})_(\d{2})")

_ENSURE_DAYS = "SELECT smsgw_ensure_day_partitions($1, $2)"
_ENSURE_MONTHS = "SELECT smsgw_ensure_month_partitions($1, $2)"
_PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'messages'::regclass
"""


def _instant(day: int) -> datetime:
    return datetime.fromtimestamp(day * DAY_MS / 1000, UTC)


async def ensure_days(connection: asyncpg.Connection, table: str, days: set[int]) -> None:
    """Daily partitions of `table` for `days` (days since the epoch)."""
    await connection.execute(_ENSURE_DAYS, table, [_instant(day) for day in sorted(days)])


async def ensure_months(connection: asyncpg.Connection, table: str, days: set[int]) -> None:
    """Monthly partitions of `table` for the months of `days` (days since the epoch)."""
    months = {_instant(day).replace(day=1) for day in days}
    await connection.execute(_ENSURE_MONTHS, table, sorted(months))


async def maintain(
    connection: asyncpg.Connection, *, now_ms: int, ahead_days: int, retention_days: int
) -> list[str]:
    """Makes the `messages` partitions of today and `ahead_days` after it; drops
    those wholly older than `retention_days` (0 keeps every day). Returns the
    partitions dropped."""
    today = now_ms // DAY_MS
    await ensure_days(connection, "messages", set(range(today, today + ahead_days + 1)))
    if retention_days <= 0:
        return []
    first_kept = today - retention_days
    dropped = []
    for row in await connection.fetch(_PARTITIONS):
        name = row["relname"]
        match = _DAY_PARTITION.fullmatch(name)
        if match is None:
            continue
        day = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
        if int(day.timestamp() * 1000) // DAY_MS < first_kept:
            await connection.execute(f'DROP TABLE "{name}"')
            dropped.append(name)
    return sorted(dropped)
