"""The PostgreSQL pool the billing records share: given, or opened on first use.

Payments and invoices are read and written a few times a month, not per
message, so a small pool opened lazily costs a process without billing nothing.
"""

from __future__ import annotations

import asyncio

import asyncpg

_MAX_CONNECTIONS = 4


class Database:
    """A pool to share (closed by its owner), or a URL: then `close` closes
    the pool opened here."""

    def __init__(self, database: asyncpg.Pool | str) -> None:
        self._database = database
        self._pool: asyncpg.Pool | None = database if isinstance(database, asyncpg.Pool) else None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    assert isinstance(self._database, str)
                    self._pool = await asyncpg.create_pool(
                        self._database, min_size=1, max_size=_MAX_CONNECTIONS
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None and self._pool is not self._database:
            pool, self._pool = self._pool, None
            await pool.close()
