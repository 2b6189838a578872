"""Writes a batch of ledger and message events into PostgreSQL, in one transaction, idempotently.

Rows are COPYed into per-connection temporary tables and moved into the real
tables by a few set statements per batch. Ledger entries go in by a plain
INSERT: a batch applied twice (a persister killed after its commit, before its
XACK) meets the primary key on the event position, and the whole batch is then
applied again with `ON CONFLICT DO NOTHING` (checking every row for a conflict
cost 30% more on the path taken every time). Messages are folded to one row per
message first (ledger.postgres.message_rows) and found before they are inserted: an
update appends to a message's history only changes newer than the newest it
holds, and its snapshot fields only move forward, so a replay changes nothing.

`messages` is partitioned by day of `created_at`, so its primary key cannot be
the message id alone: a transaction takes its buckets' advisory locks first,
so two persisters given the same bucket by mistake take turns rather than
insert one message twice. A message is looked up in the days around the batch
(`_LOOKBACK_MS`), then, for the few not found there, in every day.

The staged rows carry their times as milliseconds since the epoch, and a view
over them (named as the statements below read it) turns that into the
`timestamptz` of the real tables: asyncpg spent 0.85 us of a row's 1.4 us of
COPY encoding a datetime, and PostgreSQL does it exactly for next to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import asyncpg

from ledger.events import DELTAS, AccountEvent, Event, LedgerEvent, MessageEvent, Position
from ledger.postgres.message_rows import MESSAGE_STAGE_COLUMNS, PRICING_COLUMNS, MessageRows
from ledger.postgres.partitions import DAY_MS, ensure_days, ensure_months, maintain

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_LOOKBACK_MS = 3 * DAY_MS
"""How far before a batch's oldest event its messages are looked for first: a
message's changes come within its validity period (SMPP's is days at most)."""
_LAST_MS = 253_402_300_799_999
"""The last millisecond a datetime holds (9999-12-31)."""
_MAINTENANCE_LANE = -1
"""Partition upkeep has a connection of its own: a lane's may be mid-write."""
_LOCK_SPACE = 0x736D_7370  # "smsp": the advisory locks of bucket numbers

LEDGER_COLUMNS = (
    "at", "bucket", "stream_ms", "stream_seq", "kind", "account", "amount", "balance_delta",
    "held_delta", "balance_after", "held_after", "message_id", "parts", "reference", "reason",
)  # fmt: skip


def _time(column: str) -> str:
    """Milliseconds `column` as a timestamptz. Two terms, because an interval times
    a number goes through a double: one term is exact only up to 2**53 microseconds
    (the year 2255), these two up to the year 9999. Time intervals, not days, so
    the session's time zone plays no part."""
    return (
        f"timestamptz 'epoch' + {column} / 1000000 * interval '1000 s'"
        f" + {column} % 1000000 * interval '1 ms'"
    )


_PRICING = ", ".join(PRICING_COLUMNS)
_KEEP_PRICING = ", ".join(f"{c} = COALESCE(m.{c}, s.{c})" for c in PRICING_COLUMNS)
"""The accept's pricing, like what else describes a message, is kept once set."""

_CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS stage_ledger_rows (LIKE ledger_entries) ON COMMIT DELETE ROWS;
ALTER TABLE stage_ledger_rows ALTER COLUMN at TYPE bigint USING 0;
CREATE OR REPLACE TEMP VIEW stage_ledger AS
SELECT {_time("at")} AS at, {", ".join(LEDGER_COLUMNS[1:])} FROM stage_ledger_rows;

CREATE TEMP TABLE IF NOT EXISTS stage_messages_rows (
    message_id text, account text, state text, parts smallint, held bigint, charged bigint,
    connector text, operator_message_id text, error_code integer, destination text,
    source text, reference text, price_per_part bigint, accepted_at bigint, by_hold boolean,
    accepted_here boolean, updated_at bigint, first_at bigint, history jsonb,
    history_ms bigint, history_seq bigint, bucket smallint, stream_ms bigint, stream_seq bigint,
    currency text, list_price bigint, list_currency text, exchange_rate text,
    cost_per_part bigint, cost_currency text, route_id text, network text, country text
) ON COMMIT DELETE ROWS;
CREATE OR REPLACE TEMP VIEW stage_messages AS
SELECT message_id, account, state, parts, held, charged, connector, operator_message_id,
       error_code, destination, source, reference, price_per_part,
       {_time("accepted_at")} AS accepted_at, by_hold, accepted_here,
       {_time("updated_at")} AS updated_at, {_time("first_at")} AS first_at,
       history, history_ms, history_seq, bucket, stream_ms, stream_seq, {_PRICING}
  FROM stage_messages_rows;
"""

_LOCK_BUCKETS = f"SELECT pg_advisory_xact_lock({_LOCK_SPACE}, b) FROM unnest($1::integer[]) AS b"

_INSERT_LEDGER = "INSERT INTO ledger_entries SELECT * FROM stage_ledger"
_REPLAY_LEDGER = _INSERT_LEDGER + " ON CONFLICT DO NOTHING"

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

_NEWER = "s.stream_ms IS NOT NULL AND (m.stream_ms, m.stream_seq) < (s.stream_ms, s.stream_seq)"
_ACCEPTED_AT = (
    "CASE WHEN s.by_hold THEN s.accepted_at ELSE COALESCE(m.accepted_at, s.accepted_at) END"
)
# Every SET reads the row as it was: the newest change of the batch wins where it
# is newer than what the row holds; what describes the message is kept once set;
# the history grows only by changes it does not hold yet (a replay adds nothing).
_SET_MESSAGE = f"""
   SET state = CASE WHEN {_NEWER} THEN s.state ELSE m.state END,
       updated_at = CASE WHEN {_NEWER} THEN s.updated_at ELSE m.updated_at END,
       connector = CASE WHEN {_NEWER} THEN COALESCE(s.connector, m.connector)
                        ELSE m.connector END,
       operator_message_id = CASE WHEN {_NEWER}
                                  THEN COALESCE(s.operator_message_id, m.operator_message_id)
                                  ELSE m.operator_message_id END,
       error_code = CASE WHEN {_NEWER} THEN COALESCE(s.error_code, m.error_code)
                         ELSE m.error_code END,
       bucket = CASE WHEN {_NEWER} THEN s.bucket ELSE m.bucket END,
       stream_ms = CASE WHEN {_NEWER} THEN s.stream_ms ELSE m.stream_ms END,
       stream_seq = CASE WHEN {_NEWER} THEN s.stream_seq ELSE m.stream_seq END,
       history = CASE WHEN s.history_ms IS NOT NULL
                       AND (m.stream_ms, m.stream_seq) < (s.history_ms, s.history_seq)
                      THEN m.history || s.history ELSE m.history END,
       parts = GREATEST(m.parts, s.parts),
       held = COALESCE(s.held, m.held),
       charged = COALESCE(s.charged, m.charged),
       destination = COALESCE(m.destination, s.destination),
       source = COALESCE(m.source, s.source),
       reference = COALESCE(m.reference, s.reference),
       price_per_part = COALESCE(m.price_per_part, s.price_per_part),
       {_KEEP_PRICING},
       accepted_at = {_ACCEPTED_AT},
       created_at = COALESCE({_ACCEPTED_AT}, m.created_at)
  FROM stage_messages s
"""

_INSERT_MESSAGES = f"""
INSERT INTO messages (message_id, account, state, parts, held, charged, connector,
                      operator_message_id, error_code, destination, source, reference,
                      price_per_part, accepted_at, updated_at, created_at, history,
                      bucket, stream_ms, stream_seq, {_PRICING})
SELECT message_id, account, state, parts, held, charged, connector, operator_message_id,
       error_code, destination, source, reference, price_per_part, accepted_at, updated_at,
       COALESCE(accepted_at, first_at), COALESCE(history, '[]'), bucket, stream_ms, stream_seq,
       {_PRICING}
  FROM stage_messages s
"""

# Messages of the batch found in the days around it are updated; those it
# accepts and that are not there are new; the ids of the rest come back.
_APPLY_MESSAGES = f"""
WITH near AS (
    UPDATE messages m {_SET_MESSAGE}
     WHERE m.message_id = s.message_id AND m.message_id = ANY($3::text[])
       AND m.created_at >= $1 AND m.created_at < $2
    RETURNING m.message_id
), fresh AS (
    {_INSERT_MESSAGES}
     WHERE s.accepted_here AND s.message_id NOT IN (SELECT message_id FROM near)
)
SELECT s.message_id FROM stage_messages_rows s
 WHERE NOT s.accepted_here AND s.message_id NOT IN (SELECT message_id FROM near)
"""

# The rest: looked for in every day; inserted when unknown and the batch knows a state.
_APPLY_FAR_MESSAGES = f"""
WITH far AS (
    UPDATE messages m {_SET_MESSAGE}
     WHERE m.message_id = s.message_id AND m.message_id = ANY($1::text[])
    RETURNING m.message_id
)
{_INSERT_MESSAGES}
 WHERE s.message_id = ANY($1::text[]) AND s.state IS NOT NULL
   AND s.message_id NOT IN (SELECT message_id FROM far)
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


def _position_of(position: Position | None) -> Position:
    if position is None:
        raise ValueError("only events read from a stream (with a position) can be stored")
    return position


def ledger_row(event: LedgerEvent) -> tuple[object, ...]:
    """A row of `stage_ledger_rows` (`at` in milliseconds)."""
    p = _position_of(event.position)
    kind, amount = event.kind, event.amount
    balance_sign, held_sign = DELTAS[kind]  # not the properties: 0.53 -> 0.31 us a row
    return (
        event.ts_ms, p.bucket, p.ms, p.seq, str(kind), event.account,
        amount, balance_sign * amount, held_sign * amount, event.balance, event.held,
        event.message_id or None, event.parts or None, event.reference or None,
        event.reason or None,
    )  # fmt: skip


class _Batch:
    """A batch's rows, sorted by table, built once whether it is applied once or twice."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.ledger: list[tuple[object, ...]] = []
        self.messages = MessageRows()
        self.accounts: list[AccountEvent] = []
        buckets: set[int] = set()
        first = last = None
        for event in events:  # one pass, not one per kind
            position = _position_of(event.position)
            buckets.add(position.bucket)
            at = event.ts_ms
            if first is None or at < first:
                first = at
            if last is None or at > last:
                last = at
            if isinstance(event, MessageEvent):
                self.messages.add_change(event)
            elif isinstance(event, LedgerEvent):
                self.ledger.append(ledger_row(event))
                self.messages.add_money(event)
            elif isinstance(event, AccountEvent):
                self.accounts.append(event)
        self.buckets = sorted(buckets)
        self.first_ms = first or 0
        self.last_ms = last or 0


class EventStore:
    """The PostgreSQL connections of a persister, one per worker (`lane`);
    each reconnects after a failure."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._connections: dict[int, asyncpg.Connection] = {}

    async def connect(self, lane: int = 0) -> asyncpg.Connection:
        """The lane's connection, opened (with its staging tables) if need be."""
        connection = self._connections.get(lane)
        if connection is None or connection.is_closed():
            connection = await asyncpg.connect(self._database_url)
            await connection.execute(_CREATE_STAGING)
            self._connections[lane] = connection
        return connection

    async def close(self) -> None:
        connections, self._connections = self._connections, {}
        for connection in connections.values():
            await connection.close()

    async def reset(self, lane: int = 0) -> None:
        """Drops a lane's connection after a failure; its next write connects again."""
        connection = self._connections.pop(lane, None)
        if connection is not None:
            connection.terminate()

    def backend_pids(self) -> list[int]:
        """The PostgreSQL server processes of the open lanes (for CPU accounting)."""
        return [connection.get_server_pid() for connection in self._connections.values()]

    async def maintain(self, *, now_ms: int, ahead_days: int, retention_days: int) -> list[str]:
        """Partitions made ahead and old days dropped (ledger.postgres.partitions.maintain)."""
        connection = await self.connect(_MAINTENANCE_LANE)
        return await maintain(
            connection, now_ms=now_ms, ahead_days=ahead_days, retention_days=retention_days
        )

    async def write(self, events: Sequence[Event], lane: int = 0) -> None:
        """Applies the events in one transaction; applying them again changes nothing."""
        connection = await self.connect(lane)
        batch = _Batch(events)
        try:
            await self._write(connection, batch, replay=False)
        except asyncpg.UniqueViolationError:
            await self._write(connection, batch, replay=True)

    async def _write(self, connection: asyncpg.Connection, batch: _Batch, *, replay: bool) -> None:
        async with connection.transaction():
            await connection.execute(_LOCK_BUCKETS, batch.buckets)
            if batch.ledger:
                days = {row[0] // DAY_MS for row in batch.ledger}  # type: ignore[operator]
                await ensure_months(connection, "ledger_entries", days)
                await connection.copy_records_to_table(
                    "stage_ledger_rows", records=batch.ledger, columns=LEDGER_COLUMNS
                )
            if batch.messages:
                await ensure_days(connection, "messages", batch.messages.days())
                await connection.copy_records_to_table(
                    "stage_messages_rows",
                    records=batch.messages.rows(),
                    columns=MESSAGE_STAGE_COLUMNS,
                )
            await self._apply(connection, batch, replay=replay)
            if batch.accounts:
                await connection.executemany(
                    _UPSERT_ACCOUNT, [_account_row(e) for e in batch.accounts]
                )
                await connection.executemany(
                    _UPSERT_BALANCE, [_balance_row(e) for e in batch.accounts]
                )

    async def _apply(self, connection: asyncpg.Connection, batch: _Batch, *, replay: bool) -> None:
        """Moves the staged rows into the real tables (still inside the transaction)."""
        if batch.ledger:
            await connection.execute(_REPLAY_LEDGER if replay else _INSERT_LEDGER)
            await connection.execute(_UPSERT_BALANCES_FROM_LEDGER)
        if batch.messages:
            since = timestamp(max(0, batch.first_ms - _LOOKBACK_MS))
            until = timestamp(min(_LAST_MS, batch.last_ms + DAY_MS))
            rows = await connection.fetch(_APPLY_MESSAGES, since, until, batch.messages.ids)
            if rows:
                await connection.execute(_APPLY_FAR_MESSAGES, [row[0] for row in rows])


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
