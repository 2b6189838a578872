"""CDRs: one record per message part of a period, as CSV or JSON lines.

docs/billing.md, "CDRs". A month may hold a hundred million parts, so rows
come from a server-side cursor inside one read-only transaction (one
consistent snapshot), a few hundred at a time, and leave as bytes chunk by
chunk: the exporter's memory is the same for any month.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator
from typing import BinaryIO, Literal

import asyncpg
import msgspec

from engine.billing.periods import Period
from engine.billing.pricing import RateSource

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")

CHUNK_RECORDS = 500
"""Records per chunk, and rows per cursor fetch: few enough to keep memory
flat, enough that a round trip and a write carry real work."""


class Cdr(msgspec.Struct, frozen=True, kw_only=True):
    """One message part; the field order is the CSV's column order.

    Amounts are micro-units: `price_per_part` and `charged` in `currency` (the
    account's), `list_price` in `list_currency`, `cost_per_part` in
    `cost_currency`. `charged` is this part's share of the message's capture
    (the last part takes what does not divide evenly, so the parts sum to it
    exactly); None while nothing is captured (open, or released).
    """

    message_id: str
    part: int
    parts: int
    account: str
    accepted_at: str
    """ISO 8601, UTC, milliseconds: 2026-12-01T10:00:00.000Z."""
    final_state: str
    destination: str | None
    country: str | None
    network: str | None
    connector: str | None
    route_id: str | None
    currency: str | None
    price_per_part: int | None
    list_price: int | None
    list_currency: str | None
    exchange_rate: str | None
    cost_per_part: int | None
    cost_currency: str | None
    charged: int | None
    error_code: int | None
    reporting_currency: str | None = None
    """Asked for (`Reporting`): the part's sale (its charge), its cost and the
    margin between them in this currency, each converted at the rates valid
    at the accept (rate records are never edited, so the figures never
    change) and rounded half to even once; None where no rate was valid."""
    sell_reporting: int | None = None
    cost_reporting: int | None = None
    margin_reporting: int | None = None


class Reporting(msgspec.Struct, frozen=True):
    """The currency margins are reported in, and where the rates come from."""

    currency: str
    rates: RateSource


FIELDS: tuple[str, ...] = Cdr.__struct_fields__

# `created_at` equals `accepted_at` once the acceptance is known (sql/0004):
# bounding it too lets PostgreSQL skip the days out of the period. One
# account's rows come in order from its index (`messages_account_accepted`,
# read backwards); all accounts' through PostgreSQL's sort, which spills to
# the server's disk, never to us. A message of the period has at least one
# part (its hold says how many): GREATEST keeps a charge from vanishing
# should a row say 0.
_SELECT = """
SELECT m.message_id, GREATEST(m.parts, 1) AS parts, m.account,
       to_char(m.accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS accepted_at,
       m.state, m.destination, m.country, m.network, m.connector, m.route_id, m.currency,
       m.price_per_part, m.list_price, m.list_currency, m.exchange_rate, m.cost_per_part,
       m.cost_currency, m.charged, m.error_code,
       (extract(epoch FROM m.accepted_at) * 1000)::bigint AS accepted_ms
  FROM messages m
 WHERE m.accepted_at >= $1 AND m.accepted_at < $2
   AND m.created_at >= $1 AND m.created_at < $2{account}
 ORDER BY m.accepted_at, m.message_id
"""
_ALL_ACCOUNTS = _SELECT.format(account="")
_ONE_ACCOUNT = _SELECT.format(account=" AND m.account = $3")


def _parts(row: asyncpg.Record, reporting: Reporting | None) -> Iterator[Cdr]:
    """The records of a message's parts, its charge split so the parts sum to it."""
    parts, charged = row["parts"], row["charged"]
    share, rest = divmod(charged, parts) if charged is not None else (None, 0)
    for part in range(1, parts + 1):
        sold = None if share is None else share + (rest if part == parts else 0)
        cdr = Cdr(
            message_id=row["message_id"],
            part=part,
            parts=parts,
            account=row["account"],
            accepted_at=row["accepted_at"],
            final_state=row["state"],
            destination=row["destination"],
            country=row["country"],
            network=row["network"],
            connector=row["connector"],
            route_id=row["route_id"],
            currency=row["currency"],
            price_per_part=row["price_per_part"],
            list_price=row["list_price"],
            list_currency=row["list_currency"],
            exchange_rate=row["exchange_rate"],
            cost_per_part=row["cost_per_part"],
            cost_currency=row["cost_currency"],
            charged=sold,
            error_code=row["error_code"],
        )
        yield cdr if reporting is None else _reported(cdr, row["accepted_ms"], reporting)


def _reported(cdr: Cdr, accepted_ms: int, reporting: Reporting) -> Cdr:
    at = accepted_ms / 1000
    sell = _converted(cdr.charged or 0, cdr.currency, reporting, at)
    cost = _converted(cdr.cost_per_part or 0, cdr.cost_currency, reporting, at)
    margin = None if sell is None or cost is None else sell - cost
    return msgspec.structs.replace(
        cdr,
        reporting_currency=reporting.currency,
        sell_reporting=sell,
        cost_reporting=cost,
        margin_reporting=margin,
    )


def _converted(amount: int, currency: str | None, reporting: Reporting, at: float) -> int | None:
    if currency is None:
        return None
    if currency == reporting.currency or amount == 0:
        return amount
    found = reporting.rates.rate_at(currency, reporting.currency, at)
    return None if found is None else round(amount * found[0])


def _csv_encoder() -> Callable[[Iterable[tuple[object, ...]]], bytes]:
    """RFC 4180 rows through one writer over a buffer emptied per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def encode(rows: Iterable[tuple[object, ...]]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        return buffer.getvalue().encode()

    return encode


def _encoder(fmt: Format) -> tuple[bytes, Callable[[list[Cdr]], bytes]]:
    """What the stream starts with (the CSV header), and how a chunk is written."""
    if fmt == "csv":
        encode = _csv_encoder()
        return encode([FIELDS]), lambda batch: encode(map(msgspec.structs.astuple, batch))
    if fmt == "jsonl":
        return b"", msgspec.json.Encoder().encode_lines
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


class Cdrs:
    """The CDRs of the messages PostgreSQL holds (what the persister wrote).

    Each stream holds one connection of a small pool of its own (opened on
    first use) for as long as it is read: the pool's size bounds how many
    exports run at once.
    """

    def __init__(self, database_url: str, *, max_connections: int = 2) -> None:
        self._database_url = database_url
        self._max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._database_url, min_size=0, max_size=self._max_connections
                )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _encoded(
        self, period: Period, fmt: Format, account: str | None, reporting: Reporting | None
    ) -> AsyncIterator[tuple[bytes, int]]:
        """Chunks of bytes in order (accepted_at, message_id, part), with the
        number of records each holds; the first comes once the snapshot is
        open, so an unreachable database fails before anything is written."""
        head, encode = _encoder(fmt)
        sql, args = (_ALL_ACCOUNTS, ()) if account is None else (_ONE_ACCOUNT, (account,))
        pool = await self._connections()
        async with (
            pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            if head:
                yield head, 0
            batch: list[Cdr] = []
            rows = connection.cursor(sql, period.start, period.end, *args, prefetch=CHUNK_RECORDS)
            async for row in rows:
                batch.extend(_parts(row, reporting))
                if len(batch) >= CHUNK_RECORDS:
                    yield encode(batch), len(batch)
                    batch = []
            if batch:
                yield encode(batch), len(batch)

    async def stream(
        self,
        period: Period,
        fmt: Format,
        account: str | None = None,
        reporting: Reporting | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """The CDRs of messages accepted in `period` (of one account, or all),
        as CSV with a header row or as JSON lines; ValueError for another format."""
        async for chunk, _ in self._encoded(period, fmt, account, reporting):
            yield chunk


async def export_cdrs(
    database_url: str,
    period: Period,
    fmt: Format,
    out: BinaryIO,
    account: str | None = None,
    reporting: Reporting | None = None,
) -> int:
    """Writes the period's CDRs to `out` (`smsgw billing cdrs`); returns how many records."""
    cdrs = Cdrs(database_url, max_connections=1)
    written = 0
    try:
        async for chunk, records in cdrs._encoded(period, fmt, account, reporting):
            out.write(chunk)
            written += records
    finally:
        await cdrs.close()
    return written
