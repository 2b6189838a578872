"""Top-up records: who paid, how much, how, and with which payment reference.

docs/billing.md, "Payments and top-ups": the money itself is the ledger's
adjust entry of the same account and reference; a `payments` row only
describes it, so recording one twice (a retried request) changes nothing,
and the invoice joins the two on (account, reference).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import asyncpg
import msgspec

from engine.billing.currencies import check_currency
from engine.billing.periods import Period
from ledger.model import MAX_AMOUNT, check_account, check_token
from ledger.postgres.pool import LazyPool

_MAX_ACTOR = 100


class PaymentMethod(StrEnum):
    """How the money came in."""

    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    CASH = "cash"
    CREDIT_NOTE = "credit_note"
    """A credit note's amount given back as balance; its reference names the note."""
    OTHER = "other"


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    """One top-up; `amount` in micro-units of `currency` (the account's)."""

    account: str
    reference: str
    amount: int
    currency: str
    method: PaymentMethod
    actor: str
    """Who recorded it: `admin-api`, `cli:<user>`..."""
    at: datetime

    def __post_init__(self) -> None:
        check_account(self.account)
        check_token("reference", self.reference)
        if type(self.amount) is not int or not 0 < self.amount <= MAX_AMOUNT:
            raise ValueError(f"amount must be an int in 1..{MAX_AMOUNT}, got {self.amount!r}")
        check_currency(self.currency)
        PaymentMethod(self.method)
        if (
            not isinstance(self.actor, str)
            or not 0 < len(self.actor) <= _MAX_ACTOR
            or not self.actor.isprintable()
        ):
            raise ValueError(f"actor must be 1-{_MAX_ACTOR} printable characters")
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise ValueError(f"at must be a datetime with a time zone, got {self.at!r}")


_COLUMNS = "account, reference, amount, currency, method, actor, at"

_INSERT = f"""
INSERT INTO payments ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (account, reference) DO NOTHING
RETURNING account
"""

_ONE = f"SELECT {_COLUMNS} FROM payments WHERE account = $1 AND reference = $2"

_OF_ACCOUNT = f"""
SELECT {_COLUMNS} FROM payments
 WHERE account = $1 AND at >= $2 AND at < $3
 ORDER BY at, reference
"""


def _payment(row: asyncpg.Record) -> Payment:
    return Payment(
        account=row["account"],
        reference=row["reference"],
        amount=row["amount"],
        currency=row["currency"],
        method=PaymentMethod(row["method"]),
        actor=row["actor"],
        at=row["at"],
    )


class Payments:
    """The `payments` table."""

    def __init__(self, database: asyncpg.Pool | str) -> None:
        self._database = LazyPool(database)

    async def record(self, payment: Payment) -> bool:
        """True when recorded, False when this (account, reference) already was
        with the same amount and currency; a ValueError when it was with another."""
        pool = await self._database.pool()
        inserted = await pool.fetchval(
            _INSERT,
            payment.account,
            payment.reference,
            payment.amount,
            payment.currency,
            str(payment.method),
            payment.actor,
            payment.at,
        )
        if inserted is not None:
            return True
        row = await pool.fetchrow(_ONE, payment.account, payment.reference)
        known = _payment(row)
        if (known.amount, known.currency) != (payment.amount, payment.currency):
            raise ValueError(
                f"reference {payment.reference!r} of account {payment.account!r} is already"
                f" recorded as {known.amount} {known.currency}, not"
                f" {payment.amount} {payment.currency}"
            )
        return False

    async def of_account(self, account: str, period: Period) -> list[Payment]:
        """The account's payments made in the period, oldest first."""
        check_account(account)
        pool = await self._database.pool()
        rows = await pool.fetch(_OF_ACCOUNT, account, period.start, period.end)
        return [_payment(row) for row in rows]

    async def close(self) -> None:
        await self._database.close()
