"""`smsgw ledger reconcile`: live Redis balances against PostgreSQL, account by account.

Redis is the system of record for live balances and PostgreSQL for history
(DESIGN.md, "Persist"), so they must agree: for every account, Redis's balance
and holds equal PostgreSQL's opening balance plus the sum of its entries.

They are compared at each account's own cut-off, the id of the account's
latest event (`last_event`, written with its balance), so traffic need not
stop. What the persister has not committed yet still sits in the bucket
streams, and is counted from there. The order of the reads makes this exact:
first the balances, then the streams, then PostgreSQL in one snapshot. An
event up to a cut-off was either still in its stream when the streams were
read, or was trimmed before, which happens only after its commit, so
PostgreSQL's snapshot has it; one found in both is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ledger.config import LedgerConfig
from ledger.events import MONEY_KINDS, LedgerEvent, Position, decode_events
from ledger.layout import AccountField, LedgerKeys
from ledger.redis_client import RedisClient

_PAGE = 10_000

_SUMS_UP_TO_CUTOFF = """
SELECT c.account,
       coalesce(sum(e.balance_delta), 0)::bigint AS balance,
       coalesce(sum(e.held_delta), 0)::bigint AS held
  FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS c(account, ms, seq)
  LEFT JOIN ledger_entries e
         ON e.account = c.account AND (e.stream_ms, e.stream_seq) <= (c.ms, c.seq)
 GROUP BY c.account
"""

_PERSISTED_AMONG = """
SELECT e.bucket, e.stream_ms, e.stream_seq
  FROM ledger_entries e
  JOIN unnest($1::smallint[], $2::bigint[], $3::bigint[]) AS s(bucket, ms, seq)
    ON (e.bucket, e.stream_ms, e.stream_seq) = (s.bucket, s.ms, s.seq)
"""

_KNOWN_ACCOUNTS = """
SELECT account, opening_balance FROM accounts
UNION
SELECT account, 0 FROM balances WHERE account NOT IN (SELECT account FROM accounts)
"""


@dataclass(frozen=True)
class Money:
    balance: int
    held: int


@dataclass(frozen=True)
class Difference:
    """An account whose live Redis state and PostgreSQL history disagree (None: missing)."""

    account: str
    redis: Money | None
    postgres: Money | None

    def __str__(self) -> str:
        def show(money: Money | None) -> str:
            return "missing" if money is None else f"balance={money.balance} held={money.held}"

        return f"{self.account}: redis {show(self.redis)}, postgresql {show(self.postgres)}"


async def _live_balances(redis: RedisClient, keys: LedgerKeys) -> dict[str, tuple[Money, Position]]:
    live: dict[str, tuple[Money, Position]] = {}
    fields = (AccountField.BALANCE, AccountField.HELD, AccountField.LAST_EVENT)
    for bucket in range(keys.buckets):
        accounts = [a.decode() async for a in redis.sscan_iter(keys.accounts(bucket), count=_PAGE)]
        async with redis.pipeline(transaction=False) as pipe:
            for account in accounts:
                pipe.hmget(keys.account(account), fields)
            replies = await pipe.execute()
        for account, (balance, held, last_event) in zip(accounts, replies, strict=True):
            cutoff = Position.parse(bucket, last_event.decode())
            live[account] = (Money(int(balance), int(held)), cutoff)
    return live


async def _stream_events(redis: RedisClient, keys: LedgerKeys) -> list[LedgerEvent]:
    """The money events still in the bucket streams (not yet trimmed by the persister)."""
    events = []
    for bucket in range(keys.buckets):
        start = "-"
        while True:
            page = await redis.xrange(keys.events(bucket), start, "+", count=_PAGE)
            for entry_id, fields in page:
                for event in decode_events(bucket, entry_id.decode(), fields):
                    if isinstance(event, LedgerEvent) and event.kind in MONEY_KINDS:
                        events.append(event)
            if len(page) < _PAGE:
                break
            start = "(" + page[-1][0].decode()
    return events


async def reconcile(
    redis: RedisClient, connection: asyncpg.Connection, config: LedgerConfig
) -> list[Difference]:
    """Every account on which Redis and PostgreSQL disagree; empty when they agree."""
    keys = LedgerKeys(config.namespace, config.buckets)
    live = await _live_balances(redis, keys)
    in_streams = await _stream_events(redis, keys)
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        positions = [e.position for e in in_streams if e.position is not None]
        persisted = {
            Position(row["bucket"], row["stream_ms"], row["stream_seq"])
            for row in await connection.fetch(
                _PERSISTED_AMONG,
                [p.bucket for p in positions],
                [p.ms for p in positions],
                [p.seq for p in positions],
            )
        }
        accounts = list(live)
        sums = await connection.fetch(
            _SUMS_UP_TO_CUTOFF,
            accounts,
            [live[a][1].ms for a in accounts],
            [live[a][1].seq for a in accounts],
        )
        known = await connection.fetch(_KNOWN_ACCOUNTS)
    opening = {row["account"]: row["opening_balance"] for row in known}
    expected = {row["account"]: [row["balance"], row["held"]] for row in sums}
    for event in in_streams:
        entry = live.get(event.account)
        if entry is None or event.position in persisted or event.position > entry[1]:  # type: ignore[operator]
            continue
        expected[event.account][0] += event.balance_delta
        expected[event.account][1] += event.held_delta
    differences = []
    for account in sorted(set(live) | set(opening)):
        redis_money = live[account][0] if account in live else None
        postgres_money = None
        if account in opening or account in expected:
            balance, held = expected.get(account, [0, 0])
            postgres_money = Money(opening.get(account, 0) + balance, held)
        if redis_money != postgres_money:
            differences.append(Difference(account, redis_money, postgres_money))
    return differences
