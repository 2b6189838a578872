"""What describes a message (recipient, sender, reference, price): its events and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from ledger.events import (
    EventSchemaError,
    MessageEvent,
    MessageState,
    Position,
    decode_events,
    message_events_body,
)
from ledger.model import MAX_AMOUNT
from ledger.redis_ledger import RedisLedger
from smsgw.cli import main
from tests.ledger.helpers import persister, redis_events

PRINTABLE = st.text(
    st.characters(codec="utf-8", exclude_categories=("C", "Z")) | st.just(" "),
    min_size=1,
    max_size=64,
).filter(str.isprintable)


@settings(max_examples=200, deadline=None)
@given(
    destination=st.just("") | PRINTABLE,
    source=st.just("") | PRINTABLE,
    reference=st.just("") | PRINTABLE,
    price_per_part=st.integers(0, MAX_AMOUNT),
    ms=st.integers(0, 2**48),
)
def test_message_details_survive_the_stream(
    destination: str, source: str, reference: str, price_per_part: int, ms: int
) -> None:
    event = MessageEvent(
        message_id="m1", account="acme", state=MessageState.ACCEPTED, ts_ms=1, parts=1,
        destination=destination, source=source, reference=reference,
        price_per_part=price_per_part,
    )  # fmt: skip
    wire = {b"kind": b"messages", b"body": message_events_body([event])}
    decoded = decode_events(3, f"{ms}-0", wire)
    assert decoded == [msgspec.structs.replace(event, position=Position(3, ms, 0))]


@pytest.mark.parametrize(
    "body",
    [
        b"\xc1",  # not msgpack
        msgspec.msgpack.encode([1, "m1", "acme"]),  # too short
        msgspec.msgpack.encode([1, "m1", "acme", "gone", 1, "", "", None, "", "", "", 0]),
        msgspec.msgpack.encode([1, "m1", "acme", "submitted", 1, "", "", None, "", "", "", -5]),
        msgspec.msgpack.encode([1, "m 1", "acme", "submitted", 1, "", "", None, "", "", "", 0]),
    ],
)
def test_a_bad_message_body_is_an_error_not_skipped(body: bytes) -> None:
    with pytest.raises(EventSchemaError):
        decode_events(3, "1-0", {b"kind": b"message", b"body": body})
    packed = b"\x91" + body  # the same record as the one element of a packed entry
    with pytest.raises(EventSchemaError):
        decode_events(3, "1-0", {b"kind": b"messages", b"body": packed})


@pytest.mark.parametrize(
    "fields",
    [
        {"destination": "+4179\n"},
        {"destination": "1" * 65},
        {"destination": None},
        {"source": "\x00"},
        {"source": 41},
        {"reference": "r" * 65},
        {"reference": "bell\x07"},
        {"price_per_part": -1},
        {"price_per_part": MAX_AMOUNT + 1},
        {"price_per_part": 0.0},
        {"price_per_part": True},
        {"account": "not valid"},
        {"account": ["acme"]},
        {"message_id": "m 1"},
        {"message_id": b"m1"},
        {"state": "lost"},
        {"state": ["accepted"]},
        {"connector": "op a"},
        {"connector": None},
        {"operator_message_id": "has space"},
    ],
)
def test_message_events_reject_bad_input(fields: dict[str, object]) -> None:
    valid: dict[str, object] = {
        "message_id": "m1", "account": "acme", "state": MessageState.ACCEPTED, "ts_ms": 1,
    }  # fmt: skip
    with pytest.raises(ValueError):
        MessageEvent(**{**valid, **fields})  # type: ignore[arg-type]


def test_a_value_that_passed_once_is_still_checked_by_type() -> None:
    """The remembered accounts and connectors never let another type through."""
    MessageEvent(message_id="m1", account="acme", state=MessageState.ACCEPTED, ts_ms=1,
                 connector="op-a")  # fmt: skip
    with pytest.raises(ValueError):
        MessageEvent(message_id="m1", account=b"acme", state="accepted", ts_ms=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MessageEvent(message_id="m1", account="acme", state="accepted", ts_ms=1, connector=b"op-a")  # type: ignore[arg-type]


async def test_postgres_keeps_the_details_of_the_accepted_event(
    redis_ledger: RedisLedger, redis_client: Redis, namespace: str, database_url: str
) -> None:
    accepted = MessageEvent(
        message_id="m1", account="acme", state=MessageState.ACCEPTED, ts_ms=1_000, parts=2,
        destination="+41790000001", source="ACME Bank", reference="order 7",
        price_per_part=35_000,
    )  # fmt: skip
    submitted = MessageEvent(
        message_id="m1", account="acme", state=MessageState.SUBMITTED, ts_ms=1_005,
        connector="op-a",
    )  # fmt: skip
    delivered = msgspec.structs.replace(submitted, state=MessageState.DELIVERED, ts_ms=1_900)
    worker, store = persister(redis_client, database_url, namespace)
    await redis_ledger.append_message_events([accepted, submitted])
    await worker.drain()
    await redis_ledger.append_message_events([delivered])  # a later batch without them
    events = await redis_events(redis_client, redis_ledger)
    await worker.drain()
    await store.write(events)  # applied again: nothing changes
    await store.close()
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT state, destination, source, reference, price_per_part, accepted_at"
            " FROM messages WHERE message_id = 'm1'"
        )
        history = await connection.fetchval("SELECT history FROM messages WHERE message_id = 'm1'")
    finally:
        await connection.close()
    assert tuple(row)[:5] == ("delivered", "+41790000001", "ACME Bank", "order 7", 35_000)
    assert row["accepted_at"].timestamp() == 1.0
    assert [change[0] for change in json.loads(history)] == ["accepted", "submitted", "delivered"]


@pytest.fixture
async def empty_schema_url(postgres_database: str) -> AsyncIterator[str]:
    schema = f"details_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_database)
    await admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_database}?search_path={schema}"
    await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    await admin.close()


def test_smsgw_migrate_adds_the_details_and_list_indexes(
    empty_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database-url", empty_schema_url]) == 0
    assert "applied 0003_message_details" in capsys.readouterr().out
    columns, indexes = asyncio.run(_details_schema(empty_schema_url))
    assert {(r["table_name"], r["column_name"], r["data_type"]) for r in columns} >= {
        (table, column, "bigint" if column == "price_per_part" else "text")
        for table in ("messages",)  # message_events folded into messages.history by 0004
        for column in ("destination", "source", "reference", "price_per_part")
    }
    definitions = {r["indexname"]: r["indexdef"] for r in indexes}
    assert (
        "(account, accepted_at DESC, message_id DESC)" in definitions["messages_account_accepted"]
    )
    assert "WHERE (reference IS NOT NULL)" in definitions["messages_account_reference"]
    assert "messages_account_destination" not in definitions  # dropped by 0008


async def _details_schema(url: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    connection = await asyncpg.connect(url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = ANY($1)",
            ["destination", "source", "reference", "price_per_part"],
        )
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = 'messages'"
        )
    finally:
        await connection.close()
    return columns, indexes
