"""Writes a batch of ledger and message events into PostgreSQL, in one transaction, idempotently.

Rows are COPYed into per-connection temporary tables and moved into the real
tables with `INSERT ... ON CONFLICT DO NOTHING` on the event position, so a
batch applied twice (a persister killed after its commit, before its XACK)
changes nothing. Snapshots (`balances`, `accounts`, `messages`) only move
forward: an older event never overwrites what a newer one set.

The staged rows carry their time as milliseconds since the epoch, and a view
over them (named as the statements below read it) turns that into the
`timestamptz` of the real tables: asyncpg spent 0.85 us of a row's 1.4 us of
COPY encoding a datetime, and PostgreSQL does it exactly for next to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import asyncpg

from ledger.events import AccountEvent, Event, LedgerEvent, MessageEvent, Position

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LEDGER_COLUMNS = (
    "at", "bucket", "stream_ms", "stream_seq", "kind", "account", "amount", "balance_delta",
    "held_delta", "balance_after", "held_after", "message_id", "parts", "reference", "reason",
)  # fmt: skip
MESSAGE_EVENT_COLUMNS = (
    "at", "bucket", "stream_ms", "stream_seq", "message_id", "account", "state", "parts",
    "connector", "operator_message_id", "error_code", "destination", "source", "reference",
    "price_per_part",
)  # fmt: skip


_AT = "timestamptz 'epoch' + at / 1000000 * interval '1000 s' + at % 1000000 * interval '1 ms'"
"""Milliseconds `at` as a timestamptz. Two terms, because an interval times a
number goes through a double: one term is exact only up to 2**53 microseconds
(the year 2255), these two up to the year 9999. Time intervals, not days, so the
session's time zone plays no part."""


def _staging(stage: str, table: str, columns: tuple[str, ...]) -> str:
    """A temporary table `<stage>_rows` shaped like `table` but for `at` (bigint
    milliseconds), and the view `<stage>` that reads it as `table` is shaped.
    `columns` are `table`'s, `at` first."""
    rest = ", ".join(columns[1:])
    return f"""
CREATE TEMP TABLE IF NOT EXISTS {stage}_rows (LIKE {table}) ON COMMIT DELETE ROWS;
ALTER TABLE {stage}_rows ALTER COLUMN at TYPE bigint USING 0;
CREATE OR REPLACE TEMP VIEW {stage} AS SELECT {_AT} AS at, {rest} FROM {stage}_rows;
"""


_CREATE_STAGING = _staging("stage_ledger", "ledger_entries", LEDGER_COLUMNS) + _staging(
    "stage_message_events", "message_events", MESSAGE_EVENT_COLUMNS
)

_INSERT_LEDGER = "INSERT INTO ledger_entries SELECT * FROM stage_ledger ON CONFLICT DO NOTHING"

_UPSERT_BALANCES_FROM_LEDGER = """
INSERT INTO balances AS b (account, balance, held, bucket, stream_ms, stream_seq, updated_at)
SELECT DISTINCT ON (account)
       account, balance_after, held_after, bucket, stream_ms, stream_seq, at
  FROM stage_ledger
 ORDER BY account, stream_ms DESC, stream_seq DESC
ON CONFLICT (account) DO UPDATE
   SET balance = EXCLUDED.balance, held = EXCLUDED.held, bucket = EXCLUDED.bucket,
       stream_ms = EXCLUDED.stream_ms, stream_seq = EXCLUDED.stream_seq,
       updated_at = EXCLUDED.updated_at
 WHERE (b.stream_ms, b.stream_seq) < (EXCLUDED.stream_ms, EXCLUDED.stream_seq)
"""

_UPSERT_MESSAGES_FROM_HOLDS = """
INSERT INTO messages (message_id, account, state, parts, held, accepted_at, updated_at,
                      bucket, stream_ms, stream_seq)
SELECT DISTINCT ON (message_id)
       message_id, account, 'accepted', parts, amount, at, at, bucket, stream_ms, stream_seq
  FROM stage_ledger
 WHERE kind = 'hold'
 ORDER BY message_id, stream_ms DESC, stream_seq DESC
ON CONFLICT (message_id) DO UPDATE
   SET held = EXCLUDED.held, accepted_at = EXCLUDED.accepted_at
"""

_SET_MESSAGES_CHARGED = """
UPDATE messages m SET charged = s.amount
  FROM stage_ledger s
 WHERE s.kind = 'capture' AND m.message_id = s.message_id
"""

_INSERT_MESSAGE_EVENTS = (
    "INSERT INTO message_events SELECT * FROM stage_message_events ON CONFLICT DO NOTHING"
)

# One row per message from all its events in the batch: the newest state, and
# of each detail (connector, operator id, error) the newest one that was set.
# What describes the message (destination, source, reference, price) and when
# it was accepted are kept once set: a later event without them changes nothing.
_UPSERT_MESSAGES_FROM_EVENTS = """
WITH latest AS (
    SELECT message_id,
           (array_agg(account ORDER BY stream_ms DESC, stream_seq DESC))[1] AS account,
           (array_agg(state ORDER BY stream_ms DESC, stream_seq DESC))[1] AS state,
           max(parts) AS parts,
           (array_agg(connector ORDER BY stream_ms DESC, stream_seq DESC)
               FILTER (WHERE connector IS NOT NULL))[1] AS connector,
           (array_agg(operator_message_id ORDER BY stream_ms DESC, stream_seq DESC)
               FILTER (WHERE operator_message_id IS NOT NULL))[1] AS operator_message_id,
           (array_agg(error_code ORDER BY stream_ms DESC, stream_seq DESC)
               FILTER (WHERE error_code IS NOT NULL))[1] AS error_code,
           (array_agg(destination ORDER BY stream_ms, stream_seq)
               FILTER (WHERE destination IS NOT NULL))[1] AS destination,
           (array_agg(source ORDER BY stream_ms, stream_seq)
               FILTER (WHERE source IS NOT NULL))[1] AS source,
           (array_agg(reference ORDER BY stream_ms, stream_seq)
               FILTER (WHERE reference IS NOT NULL))[1] AS reference,
           (array_agg(price_per_part ORDER BY stream_ms, stream_seq)
               FILTER (WHERE price_per_part IS NOT NULL))[1] AS price_per_part,
           (array_agg(at ORDER BY stream_ms, stream_seq)
               FILTER (WHERE state = 'accepted'))[1] AS accepted_at,
           (array_agg(at ORDER BY stream_ms DESC, stream_seq DESC))[1] AS at,
           (array_agg(bucket ORDER BY stream_ms DESC, stream_seq DESC))[1] AS bucket,
           max(stream_ms) AS stream_ms,
           (array_agg(stream_seq ORDER BY stream_ms DESC, stream_seq DESC))[1] AS stream_seq
      FROM stage_message_events
     GROUP BY message_id
)
INSERT INTO messages AS m (message_id, account, state, parts, connector, operator_message_id,
                           error_code, destination, source, reference, price_per_part,
                           accepted_at, updated_at, bucket, stream_ms, stream_seq)
SELECT message_id, account, state, parts, connector, operator_message_id, error_code,
       destination, source, reference, price_per_part, accepted_at, at,
       bucket, stream_ms, stream_seq
  FROM latest
ON CONFLICT (message_id) DO UPDATE
   SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at,
       parts = GREATEST(m.parts, EXCLUDED.parts),
       connector = COALESCE(EXCLUDED.connector, m.connector),
       operator_message_id = COALESCE(EXCLUDED.operator_message_id, m.operator_message_id),
       error_code = COALESCE(EXCLUDED.error_code, m.error_code),
       destination = COALESCE(m.destination, EXCLUDED.destination),
       source = COALESCE(m.source, EXCLUDED.source),
       reference = COALESCE(m.reference, EXCLUDED.reference),
       price_per_part = COALESCE(m.price_per_part, EXCLUDED.price_per_part),
       accepted_at = COALESCE(m.accepted_at, EXCLUDED.accepted_at),
       bucket = EXCLUDED.bucket, stream_ms = EXCLUDED.stream_ms, stream_seq = EXCLUDED.stream_seq
 WHERE (m.stream_ms, m.stream_seq) < (EXCLUDED.stream_ms, EXCLUDED.stream_seq)
"""

_UPSERT_ACCOUNT = """
INSERT INTO accounts AS a (account, enabled, credit_limit, throughput, quota, quota_period,
                           bucket, stream_ms, stream_seq, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (account) DO UPDATE
   SET enabled = EXCLUDED.enabled, credit_limit = EXCLUDED.credit_limit,
       throughput = EXCLUDED.throughput, quota = EXCLUDED.quota,
       quota_period = EXCLUDED.quota_period, bucket = EXCLUDED.bucket,
       stream_ms = EXCLUDED.stream_ms, stream_seq = EXCLUDED.stream_seq,
       updated_at = EXCLUDED.updated_at
 WHERE (a.stream_ms, a.stream_seq) < (EXCLUDED.stream_ms, EXCLUDED.stream_seq)
"""

_UPSERT_BALANCE = """
INSERT INTO balances AS b (account, balance, held, bucket, stream_ms, stream_seq, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (account) DO UPDATE
   SET balance = EXCLUDED.balance, held = EXCLUDED.held, bucket = EXCLUDED.bucket,
       stream_ms = EXCLUDED.stream_ms, stream_seq = EXCLUDED.stream_seq,
       updated_at = EXCLUDED.updated_at
 WHERE (b.stream_ms, b.stream_seq) < (EXCLUDED.stream_ms, EXCLUDED.stream_seq)
"""


@lru_cache(maxsize=4096)
def timestamp(ts_ms: int) -> datetime:
    """Milliseconds since the epoch as an exact UTC datetime (no float rounding).

    Remembered: the events of a batch share a few milliseconds, and building
    the datetime twice per event was 3% of an engine running its persister.
    """
    return _EPOCH + timedelta(milliseconds=ts_ms)


def _month(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _position_of(position: Position | None) -> Position:
    if position is None:
        raise ValueError("only events read from a stream (with a position) can be stored")
    return position


def ledger_row(event: LedgerEvent) -> tuple[object, ...]:
    """A row of `stage_ledger_rows` (`at` in milliseconds)."""
    p = _position_of(event.position)
    return (
        event.ts_ms, p.bucket, p.ms, p.seq, str(event.kind), event.account,
        event.amount, event.balance_delta, event.held_delta, event.balance, event.held,
        event.message_id or None, event.parts or None, event.reference or None,
        event.reason or None,
    )  # fmt: skip


def message_event_row(event: MessageEvent) -> tuple[object, ...]:
    """A row of `stage_message_events_rows` (`at` in milliseconds)."""
    p = _position_of(event.position)
    return (
        event.ts_ms, p.bucket, p.ms, p.seq, event.message_id, event.account,
        str(event.state), event.parts, event.connector or None,
        event.operator_message_id or None, event.error_code, event.destination or None,
        event.source or None, event.reference or None, event.price_per_part or None,
    )  # fmt: skip


class EventStore:
    """One PostgreSQL connection of a persister; reconnects after a failure."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._connection: asyncpg.Connection | None = None

    async def _connect(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            connection = await asyncpg.connect(self._database_url)
            await connection.execute(_CREATE_STAGING)
            self._connection = connection
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def reset(self) -> None:
        """Drops the connection after a failure; the next write connects again."""
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None

    async def write(self, events: Sequence[Event]) -> None:
        """Applies the events in one transaction; applying them again changes nothing."""
        connection = await self._connect()
        ledger: list[tuple[object, ...]] = []
        messages: list[tuple[object, ...]] = []
        accounts: list[AccountEvent] = []
        for event in events:  # one pass, not one per kind: 0.47 -> 0.32 us an event
            if isinstance(event, MessageEvent):
                messages.append(message_event_row(event))
            elif isinstance(event, LedgerEvent):
                ledger.append(ledger_row(event))
            elif isinstance(event, AccountEvent):
                accounts.append(event)
        async with connection.transaction():
            if ledger:
                await self._ensure_partitions(connection, "ledger_entries", ledger)
                await connection.copy_records_to_table(
                    "stage_ledger_rows", records=ledger, columns=LEDGER_COLUMNS
                )
            if messages:
                await self._ensure_partitions(connection, "message_events", messages)
                await connection.copy_records_to_table(
                    "stage_message_events_rows", records=messages, columns=MESSAGE_EVENT_COLUMNS
                )
            await self._apply(connection, ledger=bool(ledger), messages=bool(messages))
            if accounts:
                await connection.executemany(_UPSERT_ACCOUNT, [_account_row(e) for e in accounts])
                await connection.executemany(_UPSERT_BALANCE, [_balance_row(e) for e in accounts])

    @staticmethod
    async def _ensure_partitions(
        connection: asyncpg.Connection, table: str, rows: list[tuple[object, ...]]
    ) -> None:
        instants = {row[0] for row in rows}
        months = sorted({_month(timestamp(ms)) for ms in instants})  # type: ignore[arg-type]
        await connection.execute("SELECT smsgw_ensure_month_partitions($1, $2)", table, months)

    async def _apply(self, connection: asyncpg.Connection, *, ledger: bool, messages: bool) -> None:
        """Moves the staged rows into the real tables (still inside the transaction)."""
        if ledger:
            await connection.execute(_INSERT_LEDGER)
            await connection.execute(_UPSERT_BALANCES_FROM_LEDGER)
            await connection.execute(_UPSERT_MESSAGES_FROM_HOLDS)
            await connection.execute(_SET_MESSAGES_CHARGED)
        if messages:
            await connection.execute(_INSERT_MESSAGE_EVENTS)
            await connection.execute(_UPSERT_MESSAGES_FROM_EVENTS)


def _account_row(event: AccountEvent) -> tuple[object, ...]:
    p = _position_of(event.position)
    limits = event.limits
    return (
        event.account, limits.enabled, limits.credit_limit, limits.throughput, limits.quota,
        str(limits.quota_period), p.bucket, p.ms, p.seq, timestamp(event.ts_ms),
    )  # fmt: skip


def _balance_row(event: AccountEvent) -> tuple[object, ...]:
    p = _position_of(event.position)
    return (event.account, event.balance, event.held, p.bucket, p.ms, p.seq, timestamp(event.ts_ms))
