"""Migrations: applied in order, once, safely in parallel, and never silently edited."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ledger.migrations import Migration, MigrationError, load_migrations, migrate
from smsgw.cli import main


@pytest.fixture
async def schema_url(postgres_database: str) -> AsyncIterator[str]:
    """The test database with an empty schema first on the search path."""
    schema = f"migrations_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_database)
    await admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_database}?search_path={schema}"
    await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    await admin.close()


def test_shipped_migrations_are_numbered_in_order() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "accounts_and_ledger"


async def test_migrate_applies_each_migration_once(schema_url: str) -> None:
    connection = await asyncpg.connect(schema_url)
    try:
        applied = await migrate(connection)
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        assert await migrate(connection) == []
        rows = await connection.fetch("SELECT version, checksum FROM schema_migrations")
        assert sorted(tuple(r) for r in rows) == [(m.version, m.checksum) for m in applied]
    finally:
        await connection.close()


async def test_concurrent_runs_apply_everything_exactly_once(schema_url: str) -> None:
    connections = [await asyncpg.connect(schema_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*[migrate(c) for c in connections])
        assert sorted(len(applied) for applied in results) == [0, 0, len(load_migrations())]
    finally:
        for connection in connections:
            await connection.close()


async def test_an_edited_migration_is_refused(schema_url: str) -> None:
    first = Migration(1, "first", "CREATE TABLE t (x int)")
    connection = await asyncpg.connect(schema_url)
    try:
        await migrate(connection, [first])
        edited = Migration(1, "first", "CREATE TABLE t (x bigint)")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(connection, [edited])
        with pytest.raises(MigrationError, match="unknown here"):
            await migrate(connection, [])
    finally:
        await connection.close()


async def test_a_failing_migration_leaves_no_trace(schema_url: str) -> None:
    good = Migration(1, "good", "CREATE TABLE t (x int)")
    bad = Migration(2, "bad", "CREATE TABLE u (x int); SELECT no_such_function()")
    connection = await asyncpg.connect(schema_url)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(connection, [good, bad])
        assert await connection.fetchval("SELECT to_regclass('u')") is None
        assert await connection.fetchval("SELECT count(*) FROM schema_migrations") == 1
    finally:
        await connection.close()


def test_smsgw_migrate_command(schema_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", schema_url]) == 0
    assert "applied 0001_accounts_and_ledger" in capsys.readouterr().out
    assert main(["migrate", "--database-url", schema_url]) == 0
    assert capsys.readouterr().out == "database is up to date\n"
