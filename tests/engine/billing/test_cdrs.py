"""CDRs from real PostgreSQL: a record per part, charges split exactly, in order,
the period's messages only, both formats, and flat memory for a large month."""

from __future__ import annotations

import csv
import io
import json
import secrets
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import asyncpg
import pytest

from engine.billing.cdrs import FIELDS, Cdrs, Reporting, export_cdrs
from engine.billing.periods import month
from engine.billing.rate_store import ExchangeRates, MemoryRateStore
from engine.billing.rates import ExchangeRate
from tests.services import (  # noqa: F401  (fixtures used by this module)
    database_url_fixture,
    postgres_database_fixture,
)

DECEMBER = month("2026-12")

_COLUMNS = (
    "message_id", "account", "state", "parts", "held", "charged", "connector", "error_code",
    "destination", "price_per_part", "accepted_at", "currency", "list_price", "list_currency",
    "exchange_rate", "cost_per_part", "cost_currency", "route_id", "network", "country",
)  # fmt: skip
_AT = f"${_COLUMNS.index('accepted_at') + 1}"
_INSERT = f"""
INSERT INTO messages ({", ".join(_COLUMNS)}, updated_at, created_at, bucket, stream_ms, stream_seq)
VALUES ({", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))}, {_AT}, {_AT}, 0, 0, 0)
"""


def unique_account(prefix: str = "acct") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def message(
    message_id: str,
    account: str,
    accepted_at: datetime,
    *,
    parts: int = 1,
    price_per_part: int = 50_000,
    charged: int | None = -1,
    state: str = "delivered",
    currency: str = "EUR",
) -> dict[str, Any]:
    """A persisted message as the accept priced it; `charged` -1: captured in full."""
    return {
        "message_id": message_id,
        "account": account,
        "state": state,
        "parts": parts,
        "held": price_per_part * parts,
        "charged": price_per_part * parts if charged == -1 else charged,
        "connector": "smsc-a",
        "error_code": None if state == "delivered" else 11,
        "destination": "998901234567",
        "price_per_part": price_per_part,
        "accepted_at": accepted_at,
        "currency": currency,
        "list_price": 4,
        "list_currency": "USD",
        "exchange_rate": "0.925",
        "cost_per_part": 3,
        "cost_currency": "USD",
        "route_id": "uz-mobile",
        "network": "Ucell",
        "country": "UZ",
    }


async def insert_messages(connection: asyncpg.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows straight into `messages` (sql/0004 + 0005), their day partitions first."""
    await connection.execute(
        "SELECT smsgw_ensure_day_partitions('messages', $1)", [r["accepted_at"] for r in rows]
    )
    await connection.executemany(_INSERT, [tuple(r[c] for c in _COLUMNS) for r in rows])


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def cdrs(database_url: str) -> AsyncIterator[Cdrs]:
    service = Cdrs(database_url)
    yield service
    await service.close()


async def read(cdrs: Cdrs, fmt: str, account: str | None = None) -> bytes:
    return b"".join([chunk async for chunk in cdrs.stream(DECEMBER, fmt, account)])  # type: ignore[arg-type]


def parse_csv(body: bytes) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(body.decode(), newline=""))
    assert tuple(reader.fieldnames or ()) == FIELDS
    return list(reader)


def parse_jsonl(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines()]


def at(day: int, hour: int = 12, ms: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC) + timedelta(milliseconds=ms)


async def test_a_record_per_part_with_what_the_accept_priced(
    connection: asyncpg.Connection, cdrs: Cdrs
) -> None:
    account = unique_account()
    await insert_messages(connection, [message("m-1", account, at(3, ms=250), parts=3)])

    records = parse_jsonl(await read(cdrs, "jsonl"))

    assert [r["part"] for r in records] == [1, 2, 3]
    assert records[0] == {
        "message_id": "m-1",
        "part": 1,
        "parts": 3,
        "account": account,
        "accepted_at": "2026-12-03T12:00:00.250Z",
        "final_state": "delivered",
        "destination": "998901234567",
        "country": "UZ",
        "network": "Ucell",
        "connector": "smsc-a",
        "route_id": "uz-mobile",
        "currency": "EUR",
        "price_per_part": 50_000,
        "list_price": 4,
        "list_currency": "USD",
        "exchange_rate": "0.925",
        "cost_per_part": 3,
        "cost_currency": "USD",
        "charged": 50_000,
        "error_code": None,
        "reporting_currency": None,
        "sell_reporting": None,
        "cost_reporting": None,
        "margin_reporting": None,
    }


async def test_margins_in_a_reporting_currency_at_the_rates_of_the_accept(
    connection: asyncpg.Connection, cdrs: Cdrs
) -> None:
    """Sale in EUR, cost in USD, reported in UZS at the rates valid when each
    message was accepted; a message accepted before any rate has none."""
    account = unique_account()
    await insert_messages(
        connection,
        [
            message("r-1", account, at(1), parts=1),  # before the December rate
            message("r-2", account, at(3), parts=2),
        ],
    )
    rates = ExchangeRates(MemoryRateStore())
    since = at(2)
    await rates.add(
        [
            ExchangeRate(base="EUR", quote="UZS", rate="12850.5", valid_from=since),
            ExchangeRate(base="USD", quote="UZS", rate="12000", valid_from=since),
        ]
    )
    reporting = Reporting("UZS", rates)
    body = b"".join([c async for c in cdrs.stream(DECEMBER, "jsonl", account, reporting)])
    records = parse_jsonl(body)
    early, *later = records
    assert (early["sell_reporting"], early["margin_reporting"]) == (None, None)
    for record in later:
        sell = round(Fraction(50_000) * Fraction("12850.5"))  # a part's charge, EUR -> UZS
        cost = 3 * 12_000  # its cost, USD -> UZS
        assert record["reporting_currency"] == "UZS"
        assert (record["sell_reporting"], record["cost_reporting"]) == (sell, cost)
        assert record["margin_reporting"] == sell - cost


@pytest.mark.parametrize(
    ("charged", "parts", "shares"),
    [
        (150_000, 3, [50_000, 50_000, 50_000]),  # price_per_part * parts: each its price
        (10, 3, [3, 3, 4]),  # not divisible: the last part takes the rest
        (1, 4, [0, 0, 0, 1]),
        (0, 2, [0, 0]),
        (None, 2, [None, None]),  # released: nothing captured
    ],
)
async def test_the_parts_share_the_charge_exactly(
    connection: asyncpg.Connection,
    cdrs: Cdrs,
    charged: int | None,
    parts: int,
    shares: list[int | None],
) -> None:
    account = unique_account()
    state = "delivered" if charged is not None else "undeliverable"
    row = message("m-1", account, at(5), parts=parts, charged=charged, state=state)
    await insert_messages(connection, [row])

    records = parse_jsonl(await read(cdrs, "jsonl"))

    assert [r["charged"] for r in records] == shares
    assert {r["final_state"] for r in records} == {state}


async def test_records_come_in_accept_order_then_id_then_part(
    connection: asyncpg.Connection, cdrs: Cdrs
) -> None:
    account = unique_account()
    rows = [
        message("m-c", account, at(20), parts=2),
        message("m-b", account, at(2)),
        message("m-a", account, at(20), parts=2),
        message("m-d", account, at(2, hour=0)),
        message("m-e", account, at(31, hour=23)),
    ]
    await insert_messages(connection, rows)

    records = parse_jsonl(await read(cdrs, "jsonl"))

    assert [(r["message_id"], r["part"]) for r in records] == [
        ("m-d", 1),
        ("m-b", 1),
        ("m-a", 1),
        ("m-a", 2),
        ("m-c", 1),
        ("m-c", 2),
        ("m-e", 1),
    ]


async def test_only_messages_accepted_in_the_period_half_open(
    connection: asyncpg.Connection, cdrs: Cdrs
) -> None:
    account = unique_account()
    rows = [
        message("before", account, DECEMBER.start - timedelta(milliseconds=1)),
        message("first", account, DECEMBER.start),
        message("last", account, DECEMBER.end - timedelta(milliseconds=1)),
        message("after", account, DECEMBER.end),
    ]
    await insert_messages(connection, rows)

    records = parse_jsonl(await read(cdrs, "jsonl"))

    assert [r["message_id"] for r in records] == ["first", "last"]
    assert records[1]["accepted_at"] == "2026-12-31T23:59:59.999Z"


async def test_one_account_or_all(connection: asyncpg.Connection, cdrs: Cdrs) -> None:
    mine, theirs = unique_account("mine"), unique_account("theirs")
    await insert_messages(
        connection, [message("m-1", mine, at(1)), message("m-2", theirs, at(1, ms=1))]
    )

    assert [r["account"] for r in parse_jsonl(await read(cdrs, "jsonl", mine))] == [mine]
    assert [r["account"] for r in parse_jsonl(await read(cdrs, "jsonl"))] == [mine, theirs]


async def test_csv_and_json_lines_say_the_same(connection: asyncpg.Connection, cdrs: Cdrs) -> None:
    account = unique_account()
    awkward = message("m-2", account, at(9), parts=2, charged=7, state="undeliverable")
    awkward["network"] = 'Beeline, "Uzbekistan"\nmobile'  # quoting survives a round trip
    await insert_messages(connection, [message("m-1", account, at(8)), awkward])

    from_csv = parse_csv(await read(cdrs, "csv"))
    from_json = parse_jsonl(await read(cdrs, "jsonl"))

    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in from_json]
    assert from_csv == as_text
    assert len(from_csv) == 3
    assert from_csv[2]["network"] == 'Beeline, "Uzbekistan"\nmobile'
    assert sum(int(r["charged"]) for r in from_csv[1:]) == 7


async def test_an_empty_period_is_a_header_alone_or_nothing(cdrs: Cdrs) -> None:
    assert parse_csv(await read(cdrs, "csv")) == []
    assert await read(cdrs, "jsonl") == b""


async def test_another_format_is_refused(cdrs: Cdrs) -> None:
    with pytest.raises(ValueError, match="format must be one of csv, jsonl"):
        await read(cdrs, "xml")


async def test_export_writes_the_file_and_counts_the_records(
    connection: asyncpg.Connection, database_url: str
) -> None:
    account = unique_account()
    await insert_messages(
        connection, [message("m-1", account, at(1), parts=2), message("m-2", account, at(2))]
    )
    out = io.BytesIO()

    written = await export_cdrs(database_url, DECEMBER, "csv", out, account)

    assert written == 3
    assert [r["message_id"] for r in parse_csv(out.getvalue())] == ["m-1", "m-1", "m-2"]


_INSERT_MANY = """
INSERT INTO messages (message_id, account, state, parts, held, charged, connector, destination,
                      price_per_part, accepted_at, updated_at, created_at, bucket, stream_ms,
                      stream_seq, currency, list_price, list_currency, exchange_rate,
                      cost_per_part, cost_currency, route_id, network, country)
SELECT $1 || '-' || lpad(i::text, 6, '0'), $1, 'delivered', 1 + i % 3, 50000 * (1 + i % 3),
       50000 * (1 + i % 3), 'smsc-a', '99890' || lpad(i::text, 7, '0'), 50000, t, t, t, 0, 0, 0,
       'EUR', 4, 'USD', '0.925', 3, 'USD', 'uz-mobile', 'Ucell', 'UZ'
  FROM generate_series(0, $2 - 1) AS i,
       LATERAL (SELECT $3::timestamptz + i * ($4::bigint * interval '1 ms') AS t) AS moment
"""


async def traced(cdrs: Cdrs, fmt: str, account: str) -> tuple[int, int, int, int]:
    """(peak bytes traced, bytes written, lines, largest chunk) of one stream."""
    written = lines = largest = 0
    tracemalloc.start()
    try:
        async for chunk in cdrs.stream(DECEMBER, fmt, account):  # type: ignore[arg-type]
            written += len(chunk)
            lines += chunk.count(b"\n")
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, written, lines, largest


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_a_large_period_streams_in_flat_memory(
    connection: asyncpg.Connection, cdrs: Cdrs, fmt: str
) -> None:
    """50,000 messages (100,000 parts over the month's days) need no more memory
    than 5,000: the peak stays where a small month puts it, a fraction of the output."""
    small, large = unique_account("small"), unique_account("large")
    days = [DECEMBER.start + timedelta(days=d) for d in range(31)]
    await connection.execute("SELECT smsgw_ensure_day_partitions('messages', $1)", days)
    month_ms = (DECEMBER.end - DECEMBER.start) // timedelta(milliseconds=1)
    for account, count in ((small, 5_000), (large, 50_000)):
        await connection.execute(_INSERT_MANY, account, count, DECEMBER.start, month_ms // count)
    await connection.execute("ANALYZE messages")
    await traced(cdrs, fmt, "nobody")  # the pool opened, the statement prepared

    small_peak, *_ = await traced(cdrs, fmt, small)
    peak, written, lines, largest = await traced(cdrs, fmt, large)

    parts = sum(1 + i % 3 for i in range(50_000))
    assert lines == parts + (1 if fmt == "csv" else 0)
    assert written > 10_000_000
    assert largest < 300_000
    assert peak < small_peak + 500_000, f"peak {peak:,} bytes, {small_peak:,} for a tenth"
    assert peak < written / 4
