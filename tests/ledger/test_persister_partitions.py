"""Parallel workers, replays, day partitions, retention and the plans of the API's queries."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from redis.asyncio import Redis

from ledger.events import MessageEvent, MessageState
from ledger.message_query import MessageFilter, PgMessageQuery, _list_sql
from ledger.migrations import load_migrations, migrate
from ledger.pgstore import timestamp
from ledger.postgres.partitions import DAY_MS, maintain
from ledger.redis_ledger import RedisLedger
from tests.ledger.helpers import assert_postgres_matches, persister, redis_events, workload

DAY0 = 20_454  # 2026-01-01 in days since the epoch


async def test_parallel_workers_persist_everything_once_and_a_replay_adds_nothing(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    for seed in (21, 22):
        await workload(redis_ledger, accounts=5, messages=60, seed=seed)
    events = await redis_events(redis_client, redis_ledger)
    worker, store = persister(redis_client, database_url, namespace, workers=3, batch_size=7)
    assert await worker.drain() == len(events)
    await store.write(events)  # a whole replay, as after a crash before every XACK
    await store.write(events[: len(events) // 2], lane=2)
    await store.close()
    await assert_postgres_matches(database_url, events, redis_ledger)


async def test_a_receipt_long_after_the_accept_finds_its_message(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    """Beyond the days looked at first, a message is still found (in every day), not doubled."""
    accepted = MessageEvent(
        message_id="late", account="acme", state=MessageState.ACCEPTED, ts_ms=DAY0 * DAY_MS
    )
    delivered = msgspec.structs.replace(
        accepted, state=MessageState.DELIVERED, ts_ms=(DAY0 + 10) * DAY_MS, error_code=0
    )
    worker, store = persister(redis_client, database_url, namespace)
    await redis_ledger.append_message_events([accepted])
    await worker.drain()
    await redis_ledger.append_message_events([delivered])
    await worker.drain()
    await store.close()
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT state, tableoid::regclass::text AS day, history FROM messages"
            " WHERE message_id = 'late'"
        )
    finally:
        await connection.close()
    assert [(row["state"], row["day"]) for row in rows] == [("delivered", "messages_2026_01_01")]
    assert [change[0] for change in json.loads(rows[0]["history"])] == ["accepted", "delivered"]


@pytest.fixture
async def schema_url(postgres_database: str) -> AsyncIterator[str]:
    """An empty schema of its own: no partition another test made shows in a plan."""
    schema = f"parts_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_database)
    await admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_database}?search_path={schema}"
    await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    await admin.close()


@pytest.fixture
async def connection(schema_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a migrated schema of its own."""
    connection = await asyncpg.connect(schema_url)
    await migrate(connection)
    yield connection
    await connection.close()


async def _partitions(connection: asyncpg.Connection, parent: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass ORDER BY 1",
        parent,
    )
    return [row[0] for row in rows]


async def test_retention_drops_whole_old_days_and_keeps_the_ledger(
    connection: asyncpg.Connection,
) -> None:
    await connection.execute("SELECT smsgw_ensure_month_partitions('ledger_entries', $1)",
                             [timestamp(DAY0 * DAY_MS)])  # fmt: skip
    dropped = await maintain(connection, now_ms=DAY0 * DAY_MS, ahead_days=2, retention_days=0)
    assert dropped == []
    days = await _partitions(connection, "messages")
    assert {"messages_2026_01_01", "messages_2026_01_02", "messages_2026_01_03"} <= set(days)
    later = (DAY0 + 10) * DAY_MS + 5_000  # ten days on
    dropped = await maintain(connection, now_ms=later, ahead_days=1, retention_days=8)
    assert dropped == ["messages_2026_01_01", "messages_2026_01_02"]
    days = await _partitions(connection, "messages")
    assert "messages_2026_01_03" in days and "messages_2026_01_12" in days
    assert "ledger_entries_2026_01" in await _partitions(connection, "ledger_entries")


async def _fillfactors(connection: asyncpg.Connection) -> dict[str, list[str] | None]:
    rows = await connection.fetch(
        "SELECT c.relname, c.reloptions FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'messages'::regclass"
    )
    return {row[0]: row[1] for row in rows}


async def test_day_partitions_leave_each_row_room_for_its_update(schema_url: str) -> None:
    """Half-filled pages (0007), on the days made before it and after."""
    connection = await asyncpg.connect(schema_url)
    try:
        await migrate(connection, [m for m in load_migrations() if m.version < 7])
        await connection.execute(
            "SELECT smsgw_ensure_day_partitions('messages', $1)", [timestamp(DAY0 * DAY_MS)]
        )
        assert (await _fillfactors(connection))["messages_2026_01_01"] == ["fillfactor=80"]
        await migrate(connection)
        await connection.execute(
            "SELECT smsgw_ensure_day_partitions('messages', $1)",
            [timestamp((DAY0 + 1) * DAY_MS)],
        )
        fillfactors = await _fillfactors(connection)
    finally:
        await connection.close()
    assert {"messages_2026_01_01", "messages_2026_01_02"} <= set(fillfactors)
    assert all(options == ["fillfactor=50"] for options in fillfactors.values())


async def _fill(connection: asyncpg.Connection, days: int, per_day: int) -> None:
    """`per_day` messages on each of `days` days from DAY0, over 20 accounts, then ANALYZE."""
    await connection.execute(
        "SELECT smsgw_ensure_day_partitions('messages', $1)",
        [timestamp((DAY0 + day) * DAY_MS) for day in range(days)],
    )
    await connection.execute(
        """
        INSERT INTO messages (message_id, account, state, parts, destination, accepted_at,
                              updated_at, created_at, bucket, stream_ms, stream_seq)
        SELECT 'm' || n, 'acct' || (n % 20), 'delivered', 1, '+4179' || (n % 500),
               t, t, t, 0, n, 0
          FROM generate_series(1, $1::integer) AS n,
               LATERAL (SELECT $2::timestamptz + (n % $3::integer) * interval '1 day'
                               + n * interval '1 ms' AS t) AS times
        """,
        days * per_day,
        timestamp(DAY0 * DAY_MS),
        days,
    )
    await connection.execute("ANALYZE messages")


def _nodes(plan: dict[str, object]) -> list[dict[str, object]]:
    nodes = [plan]
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        nodes += _nodes(child)
    return nodes


async def _plan(connection: asyncpg.Connection, sql: str, *args: object) -> list[dict[str, object]]:
    raw = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    return _nodes(json.loads(raw)[0]["Plan"])


async def test_the_api_queries_read_indexes_of_the_days_they_need(
    connection: asyncpg.Connection,
) -> None:
    await _fill(connection, days=4, per_day=2_500)
    get = "SELECT * FROM messages WHERE message_id = $1 AND account = $2"
    nodes = await _plan(connection, get, "m77", "acct17")
    scans = [node for node in nodes if "Relation Name" in node]
    assert len(scans) == 4 and all(node["Node Type"] == "Index Scan" for node in scans)

    sql, _ = _list_sql(MessageFilter(since=(DAY0 + 1) * DAY_MS, until=(DAY0 + 2) * DAY_MS), True)
    args = [timestamp((DAY0 + 1) * DAY_MS), timestamp((DAY0 + 2) * DAY_MS)]
    cursor = [timestamp((DAY0 + 1) * DAY_MS + 50_000), "m5"]
    nodes = await _plan(connection, sql, "acct3", *args, *cursor, 101)
    types = {node["Node Type"] for node in nodes}
    assert "Seq Scan" not in types and "Sort" not in types  # pages straight off the index
    assert {node["Relation Name"] for node in nodes if "Relation Name" in node} == {
        "messages_2026_01_02"
    }

    # Few messages match a recipient, whoever sent them: the recipient's index
    # (0008) finds them, a seq scan never.
    sql, _ = _list_sql(MessageFilter(destination="+417942"), False)
    nodes = await _plan(connection, sql, "acct2", "+417942", 101)
    scans = {node["Node Type"] for node in nodes if "Relation Name" in node}
    assert scans and scans <= {"Index Scan", "Bitmap Heap Scan"}
    assert "messages_destination" in await _indexes(connection, nodes)


async def _indexes(connection: asyncpg.Connection, nodes: list[dict[str, object]]) -> set[str]:
    """The indexes of `messages` the plan reads: a partition's index is named
    after its columns, its parent (the migration's) is what we check."""
    names = [str(node["Index Name"]) for node in nodes if node.get("Index Name")]
    rows = await connection.fetch(
        "SELECT i.inhparent::regclass::text FROM pg_inherits i"
        " WHERE i.inhrelid = ANY($1::regclass[])",
        names,
    )
    return {row[0] for row in rows}


async def test_reads_find_messages_in_their_day_partitions(
    connection: asyncpg.Connection, schema_url: str
) -> None:
    await _fill(connection, days=3, per_day=50)
    query = PgMessageQuery(schema_url)
    try:
        page = await query.list("acct4", MessageFilter(since=(DAY0 + 1) * DAY_MS), limit=1000)
        assert len(page.items) == 5 and page.next_cursor is None
        record = await query.get("acct4", page.items[0].message_id)
        assert record is not None and record.events == []
    finally:
        await query.aclose()


async def test_the_migration_keeps_messages_and_folds_their_events(schema_url: str) -> None:
    connection = await asyncpg.connect(schema_url)
    try:
        before = [m for m in load_migrations() if m.version < 4]
        await migrate(connection, before)
        at = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
        await connection.execute(
            "SELECT smsgw_ensure_month_partitions('message_events', ARRAY[$1::timestamptz])", at
        )
        await connection.execute(
            "INSERT INTO messages (message_id, account, state, parts, accepted_at, updated_at,"
            " bucket, stream_ms, stream_seq)"
            " VALUES ('m1', 'acme', 'delivered', 1, $1, $1, 3, 9, 1),"
            " ('m2', 'acme', 'submitted', 1, NULL, $1, 3, 9, 2)",
            at,
        )
        await connection.execute(
            "INSERT INTO message_events (at, bucket, stream_ms, stream_seq, message_id, account,"
            " state, parts, connector) VALUES ($1, 3, 8, 0, 'm1', 'acme', 'accepted', 1, NULL),"
            " ($1, 3, 9, 1, 'm1', 'acme', 'delivered', 1, 'op-a')",
            at,
        )
        applied = [m.version for m in await migrate(connection)]
        assert applied == [m.version for m in load_migrations() if m.version >= 4]
        rows = await connection.fetch(
            "SELECT message_id, tableoid::regclass::text AS day, history FROM messages ORDER BY 1"
        )
    finally:
        await connection.close()
    ms = int(at.timestamp() * 1000)
    assert [(row["message_id"], row["day"]) for row in rows] == [
        ("m1", "messages_2026_01_31"),
        ("m2", "messages_2026_01_31"),
    ]
    assert json.loads(rows[0]["history"]) == [
        ["accepted", ms, None, None, None],
        ["delivered", ms, "op-a", None, None],
    ]
    assert json.loads(rows[1]["history"]) == []
