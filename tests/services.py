"""The real Redis and PostgreSQL for integration tests, isolated so suites can share them.

Other engineers and CI run tests against the same servers at the same time,
so every test gets its own Redis key namespace (deleted afterwards) and every
pytest process its own PostgreSQL database (created, migrated, dropped).
Import the `*_fixture` functions into a conftest.py to use the fixtures
`redis_client`, `namespace`, `postgres_database` and `database_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from redis.asyncio import Redis

from ledger.migrations import migrate

REDIS_URL = os.environ.get("SMSGW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get(
    "SMSGW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_DATA_TABLES = ("accounts", "balances", "ledger_entries", "messages")


def random_namespace() -> str:
    return f"test-{secrets.token_hex(6)}"


async def delete_namespace(redis: Redis, namespace: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=10_000)]
    for start in range(0, len(keys), 10_000):
        await redis.unlink(*keys[start : start + 10_000])


def database_url_for(name: str) -> str:
    """DATABASE_URL pointing at another database of the same server."""
    parts = urlsplit(DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(name="redis_client")
async def redis_client_fixture() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture(name="namespace")
async def namespace_fixture(redis_client: Redis) -> AsyncIterator[str]:
    """A fresh key namespace, deleted after the test."""
    name = random_namespace()
    yield name
    await delete_namespace(redis_client, name)


async def _create_database(name: str) -> None:
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    connection = await asyncpg.connect(database_url_for(name))
    try:
        await migrate(connection)
    finally:
        await connection.close()


async def _drop_database(name: str) -> None:
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(name="postgres_database", scope="session")
def postgres_database_fixture() -> Iterator[str]:
    """A migrated database for this pytest process; yields its URL."""
    name = f"smsgw_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_create_database(name))
    yield database_url_for(name)
    asyncio.run(_drop_database(name))


@pytest.fixture(name="database_url")
async def database_url_fixture(postgres_database: str) -> str:
    """The process's database with every data table emptied for this test."""
    connection = await asyncpg.connect(postgres_database)
    try:
        await connection.execute(f"TRUNCATE {', '.join(_DATA_TABLES)}")
    finally:
        await connection.close()
    return postgres_database


class TcpProxy:
    """Forwards a local port to a server and can play an outage.

    `stop()` closes the listener and every forwarded connection, as when the
    server goes down; `start()` (again) listens on the same port. `pause()`
    plays a server that hangs: connections still open, but what they carry is
    held until `resume()` delivers it, late, as a stalled server would take it.
    """

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.port = 0

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        if self._pipes:
            await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65_536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        sink.close()
        self._writers.discard(sink)
        with contextlib.suppress(OSError):
            await sink.wait_closed()
