"""Usage from the persister's `messages` table: one GROUP BY per query, the
window bounding `created_at` too so PostgreSQL reads only its days'
partitions (sql/0004_messages_by_day.sql)."""

from __future__ import annotations

from datetime import date

import asyncpg

from ledger.events import MessageState
from ledger.model import check_account
from ledger.pgstore import timestamp
from ledger.postgres.pool import LazyPool
from ledger.usage.model import Usage, UsageCell, usage_window

_USAGE = """
SELECT to_char(accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
       state,
       COALESCE(connector, '') AS connector,
       count(*) AS messages,
       COALESCE(sum(parts), 0)::bigint AS parts,
       COALESCE(sum(charged), 0)::bigint AS charged
  FROM messages
 WHERE account = $1
   AND accepted_at >= $2 AND accepted_at < $3
   AND created_at >= $2 AND created_at < $3
 GROUP BY 1, 2, 3
"""


class PgUsageQuery:
    """`UsageQuery` over PostgreSQL: a pool to share, or a database URL, for
    which it opens a small pool of its own on first use (`aclose` closes it)."""

    def __init__(self, database: asyncpg.Pool | str, *, max_connections: int = 2) -> None:
        self._database = LazyPool(database, max_connections)

    async def _connections(self) -> asyncpg.Pool:
        return await self._database.pool()

    async def aclose(self) -> None:
        """Closes the pool it opened; a pool it was given stays open."""
        await self._database.close()

    async def usage(self, account: str, first: date, last: date) -> Usage:
        check_account(account)
        since, until = usage_window(first, last)
        pool = await self._connections()
        rows = await pool.fetch(_USAGE, account, timestamp(since), timestamp(until))
        cells = [
            UsageCell(
                day=row["day"],
                state=MessageState(row["state"]),
                connector=row["connector"],
                messages=row["messages"],
                parts=row["parts"],
                charged=row["charged"],
            )
            for row in rows
        ]
        return Usage.of(account, first, last, cells)
