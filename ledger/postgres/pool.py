"""A PostgreSQL pool given to share, or opened on first use from a URL.

The history reader, the usage query and the billing records each need a
few connections now and then; a pool opened lazily costs a process that
never asks nothing, and one given by the caller is shared and left open.
"""

from __future__ import annotations

import asyncio

import asyncpg


class LazyPool:
    def __init__(self, database: asyncpg.Pool | str, max_connections: int = 4) -> None:
        self._database = database
        self._max_connections = max_connections
        self._pool: asyncpg.Pool | None = database if isinstance(database, asyncpg.Pool) else None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    assert isinstance(self._database, str)
                    self._pool = await asyncpg.create_pool(
                        self._database, min_size=1, max_size=self._max_connections
                    )
        return self._pool

    async def close(self) -> None:
        """Closes the pool opened here; a pool that was given stays open."""
        if self._pool is not None and self._pool is not self._database:
            pool, self._pool = self._pool, None
            await pool.close()
