"""The staff's search and `find` on both backends (the contract of
`MessageQuery.search`), and the plans PostgreSQL picks for the search queries."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis

from ledger.events import MessageState
from ledger.message_query import MAX_PAGE, MessageQuery, MessageSearch, StateChange, search_sql
from ledger.migrations import migrate
from ledger.pgstore import timestamp
from ledger.postgres.partitions import DAY_MS
from ledger.redis_ledger import RedisLedger
from tests.ledger.test_message_query import (
    T0,
    History,
    MemoryHistory,
    PostgresHistory,
    accepted,
    moved,
)
from tests.ledger.test_persister_partitions import DAY0, _fill, _indexes, _plan


@pytest.fixture(params=["memory", "postgres"])
async def history(
    request: pytest.FixtureRequest,
    redis_ledger: RedisLedger,
    redis_client: Redis,
    namespace: str,
    database_url: str,
) -> AsyncIterator[History]:
    """Each backend, written by its production path (as in test_message_query)."""
    if request.param == "memory":
        yield MemoryHistory()
        return
    backend = PostgresHistory(redis_ledger, redis_client, database_url, namespace)
    yield backend
    await backend.aclose()


@pytest.fixture
async def connection(postgres_database: str) -> AsyncIterator[asyncpg.Connection]:
    """A migrated schema of its own: no partition another test made shows in a plan."""
    schema = f"search_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_database)
    await admin.execute(f"CREATE SCHEMA {schema}")
    connection = await asyncpg.connect(f"{postgres_database}?search_path={schema}")
    try:
        await migrate(connection)
        yield connection
    finally:
        await connection.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def found(query: MessageQuery, search: MessageSearch, limit: int = 2) -> list[str]:
    """Every message id the search finds, page by page, checking each page's size."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await query.search(search, cursor, limit)
        assert len(page.items) <= limit
        ids += [item.message_id for item in page.items]
        if page.next_cursor is None:
            return ids
        assert len(page.items) == limit
        cursor = page.next_cursor


async def _three_accounts(history: History) -> None:
    await history.write(
        [
            accepted("a0", T0, account="acme", destination="+41790000001"),
            accepted("b0", T0 + 10, account="bank", destination="+41790000001"),
            accepted("c0", T0 + 10, account="shop", destination="+41790000002"),
            accepted("a1", T0 + 20, account="acme", destination="+41790000002"),
            accepted("b1", T0 + 30, account="bank", destination="+41790000001"),
            moved("a9", MessageState.SUBMITTED, T0 + 40),  # never accepted: never found
        ]
    )


async def test_search_spans_accounts_newest_first(history: History) -> None:
    await _three_accounts(history)
    everything = ["b1", "a1", "c0", "b0", "a0"]  # c0 and b0 share a millisecond: id orders
    for limit in (1, 2, 5, MAX_PAGE):
        assert await found(history.query, MessageSearch(), limit) == everything


async def test_search_filters(history: History) -> None:
    await _three_accounts(history)
    query = history.query
    number = "+41790000001"
    assert await found(query, MessageSearch(destination=number)) == ["b1", "b0", "a0"]
    assert await found(query, MessageSearch(destination=number, account="bank")) == ["b1", "b0"]
    assert await found(query, MessageSearch(account="acme")) == ["a1", "a0"]
    assert await found(query, MessageSearch(since=T0 + 10, until=T0 + 30)) == ["a1", "c0", "b0"]
    assert await found(query, MessageSearch(destination=number, since=T0 + 1)) == ["b1", "b0"]
    assert await found(query, MessageSearch(message_id="c0")) == ["c0"]
    assert await found(query, MessageSearch(message_id="c0", account="acme")) == []
    assert await found(query, MessageSearch(message_id="a9")) == []  # not accepted
    assert await found(query, MessageSearch(message_id="not an id!")) == []
    assert await found(query, MessageSearch(account="nobody")) == []


async def test_search_refuses_what_it_cannot_read(history: History) -> None:
    with pytest.raises(ValueError, match="limit"):
        await history.query.search(MessageSearch(), None, 0)
    with pytest.raises(ValueError, match="cursor"):
        await history.query.search(MessageSearch(), "%%%", 10)
    with pytest.raises(ValueError, match="since"):
        MessageSearch(since=T0 + 1, until=T0)
    with pytest.raises(ValueError, match="account"):
        MessageSearch(account="no spaces")
    with pytest.raises(ValueError, match="destination"):
        MessageSearch(destination="")


async def test_find_gives_any_accounts_message_with_its_history(history: History) -> None:
    await history.write(
        [
            accepted("m1", T0, account="acme"),
            moved("m1", MessageState.SUBMITTED, T0 + 5, connector="op-a", operator_message_id="X1"),
            moved("m1", MessageState.UNDELIVERABLE, T0 + 900, error_code=34),
        ]
    )
    record = await history.query.find("m1")
    assert record is not None and record.account == "acme"
    assert record.price_per_part == 35_000 and record.destination == "+41790000001"
    assert record.events == [
        StateChange(state=MessageState.ACCEPTED, at=T0),
        StateChange(
            state=MessageState.SUBMITTED, at=T0 + 5, connector="op-a", operator_message_id="X1"
        ),
        StateChange(state=MessageState.UNDELIVERABLE, at=T0 + 900, error_code=34),
    ]
    assert await history.query.find("nope") is None
    assert await history.query.find("not an id!") is None


# -- the plans -----------------------------------------------------------------------


def _scans(nodes: list[dict[str, object]]) -> list[dict[str, object]]:
    return [node for node in nodes if "Relation Name" in node]


async def test_the_search_queries_read_indexes(connection: asyncpg.Connection) -> None:
    await _fill(connection, days=4, per_day=2_500)

    # Every account, newest first: straight off messages_accepted, no sort, no seq scan.
    sql, _ = search_sql(MessageSearch(), False)
    nodes = await _plan(connection, sql, 101)
    types = {node["Node Type"] for node in nodes}
    assert "Seq Scan" not in types and "Sort" not in types
    assert await _indexes(connection, nodes) == {"messages_accepted"}

    # A recipient across accounts: its own index.
    sql, _ = search_sql(MessageSearch(destination="+417942"), False)
    nodes = await _plan(connection, sql, "+417942", 101)
    assert "Seq Scan" not in {node["Node Type"] for node in nodes}
    assert await _indexes(connection, nodes) == {"messages_destination"}

    # A time range with a cursor: only the days it covers, off the index.
    search = MessageSearch(since=(DAY0 + 1) * DAY_MS, until=(DAY0 + 2) * DAY_MS)
    sql, _ = search_sql(search, True)
    args = [timestamp((DAY0 + 1) * DAY_MS), timestamp((DAY0 + 2) * DAY_MS)]
    cursor = [timestamp((DAY0 + 1) * DAY_MS + 50_000), "m5"]
    nodes = await _plan(connection, sql, *args, *cursor, 101)
    assert "Seq Scan" not in {node["Node Type"] for node in nodes}
    assert {node["Relation Name"] for node in _scans(nodes)} == {"messages_2026_01_02"}
    assert await _indexes(connection, nodes) == {"messages_accepted"}

    # A message id: the primary key of each day.
    sql, _ = search_sql(MessageSearch(message_id="m77"), False)
    nodes = await _plan(connection, sql, "m77", 101)
    assert await _indexes(connection, nodes) == {"messages_pkey"}
