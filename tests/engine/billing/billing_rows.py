"""Rows of `messages` and `ledger_entries` written directly, as the persister
would have written them (ledger.pgstore, sql/0001-0005), for billing tests."""

from __future__ import annotations

import itertools
from datetime import datetime

import asyncpg

_positions = itertools.count(1)


class BillingRows:
    """Writes rows of one database; each row gets a stream position of its own."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def message(
        self,
        account: str,
        message_id: str,
        *,
        accepted_at: datetime,
        parts: int,
        held: int | None,
        charged: int | None,
        state: str = "delivered",
        country: str | None = "UZ",
        network: str | None = "Beeline",
        connector: str | None = "smsc-a",
        currency: str | None = "EUR",
    ) -> None:
        price = charged // parts if charged else held // parts if held else 0
        await self.connection.execute(
            "SELECT smsgw_ensure_day_partitions('messages', $1::timestamptz[])", [accepted_at]
        )
        await self.connection.execute(
            """
            INSERT INTO messages (message_id, account, state, parts, held, charged, connector,
                                  destination, price_per_part, accepted_at, updated_at,
                                  created_at, bucket, stream_ms, stream_seq, currency,
                                  list_price, list_currency, exchange_rate, network, country)
            VALUES ($1, $2, $3, $4, $5, $6, $7, '998901234567', $8, $9, $9, $9, 0, $10, 0,
                    $11, $8, $11, '1', $12, $13)
            """,
            message_id, account, state, parts, held, charged, connector, price, accepted_at,
            next(_positions), currency, network, country,
        )  # fmt: skip

    async def entry(
        self,
        account: str,
        kind: str,
        amount: int,
        *,
        at: datetime,
        reference: str | None = None,
        reason: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """A ledger entry; balances after it are not tracked (billing never reads them)."""
        await self.connection.execute(
            "SELECT smsgw_ensure_month_partitions('ledger_entries', $1::timestamptz[])", [at]
        )
        balance_delta = amount if kind == "adjust" else -amount if kind == "capture" else 0
        await self.connection.execute(
            """
            INSERT INTO ledger_entries (at, bucket, stream_ms, stream_seq, kind, account, amount,
                                        balance_delta, held_delta, balance_after, held_after,
                                        message_id, reference, reason)
            VALUES ($1, 0, $2, 0, $3, $4, $5, $6, 0, 0, 0, $7, $8, $9)
            """,
            at, next(_positions), kind, account, amount, balance_delta, message_id, reference,
            reason,
        )  # fmt: skip

    async def payment(
        self, account: str, reference: str, amount: int, *, at: datetime, method: str
    ) -> None:
        await self.connection.execute(
            "INSERT INTO payments (account, reference, amount, currency, method, actor, at)"
            " VALUES ($1, $2, $3, 'EUR', $4, 'admin-api', $5)",
            account, reference, amount, method, at,
        )  # fmt: skip
