"""The SQL of invoicing: what a period holds, and gapless numbering in one transaction.

A number is taken by the issuing transaction itself (`invoice_series` row
incremented, locked until commit), so an issue that fails rolls its number
back: no holes (sql/0005). Issues of one account take turns on an advisory
lock, so two overlapping periods can never both be invoiced.

`created_at` equals `accepted_at` once the acceptance is known (sql/0004):
bounding it too lets PostgreSQL skip the days out of the period.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import msgspec

from engine.billing.invoice_model import (
    Document,
    Invoice,
    InvoiceKind,
    Movement,
    RebateLine,
    UsageLine,
    VolumeTier,
)
from engine.billing.invoice_refusals import (
    AlreadyIssued,
    CreditExceeded,
    NotAnInvoice,
    UnknownInvoice,
)
from engine.billing.periods import Period
from engine.billing.rebates import ordered, rebate_line, tier_bounds
from ledger.postgres.pool import LazyPool

SERIES_PREFIX = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN"}
_LOCK_SPACE = 0x736D_6976  # "smiv": the advisory locks of accounts being invoiced

_PERIOD = (
    "account = $1 AND accepted_at >= $2 AND accepted_at < $3"
    " AND created_at >= $2 AND created_at < $3"
)

# Open: held and neither captured nor released (a hold of 0 needs neither).
_OPEN = f"""
SELECT count(*) FILTER (
           WHERE m.charged IS NULL AND COALESCE(m.held, 1) <> 0
             AND NOT EXISTS (SELECT 1 FROM ledger_entries l
                              WHERE l.message_id = m.message_id AND l.kind = 'release')
       ) AS open,
       count(*) FILTER (WHERE m.currency <> $4) AS foreign
  FROM messages m
 WHERE {_PERIOD}
"""

_USAGE = f"""
SELECT country, network, connector, state, count(*) AS messages,
       sum(parts)::bigint AS parts, sum(charged)::bigint AS amount
  FROM messages
 WHERE {_PERIOD} AND charged > 0
 GROUP BY country, network, connector, state
 ORDER BY country NULLS LAST, network NULLS LAST, connector NULLS LAST, state
"""

# Parts numbered in accept order (`upto`: the number of a message's last
# part); each tier n covers the parts numbered lo+1..hi, `k` of a message's.
_TIERS = f"""
WITH billed AS (
    SELECT parts, charged,
           sum(parts) OVER (ORDER BY accepted_at, message_id) AS upto
      FROM messages
     WHERE {_PERIOD} AND charged > 0
), shares AS (
    SELECT t.n, m.parts, m.charged,
           LEAST(m.upto, t.hi) - GREATEST(m.upto - m.parts, t.lo) AS k
      FROM billed m
      JOIN unnest($4::bigint[], $5::bigint[]) WITH ORDINALITY AS t (lo, hi, n)
        ON m.upto > t.lo AND m.upto - m.parts < t.hi
)
SELECT n, sum(k)::bigint AS parts,
       COALESCE(sum(charged) FILTER (WHERE k = parts), 0)::bigint AS whole,
       COALESCE(array_agg(ARRAY[charged, k, parts]) FILTER (WHERE k < parts), '{{}}') AS split
  FROM shares
 GROUP BY n
 ORDER BY n
"""

_MOVEMENTS = """
SELECT l.at, l.amount, l.reference, l.reason, p.method, p.actor
  FROM ledger_entries l
  LEFT JOIN payments p ON p.account = l.account AND p.reference = l.reference
 WHERE l.account = $1 AND l.kind = 'adjust' AND l.at >= $2 AND l.at < $3
 ORDER BY l.at, l.stream_ms, l.stream_seq
"""

_OVERLAPPING = """
SELECT id FROM invoices
 WHERE account = $1 AND kind = 'invoice' AND period_start < $3 AND period_end > $2
 ORDER BY period_start LIMIT 1
"""

_LOCK_ACCOUNT = f"SELECT pg_advisory_xact_lock({_LOCK_SPACE}, hashtext($1))"

_NEXT_NUMBER = """
INSERT INTO invoice_series AS s (series, last) VALUES ($1, 1)
ON CONFLICT (series) DO UPDATE SET last = s.last + 1
RETURNING last
"""

_COLUMNS = (
    "id, series, number, kind, account, currency, period_start, period_end, issued_at,"
    " refers_to, subtotal, tax, total, document"
)

_INSERT = f"""
INSERT INTO invoices ({_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING {_COLUMNS}
"""

_GET = f"SELECT {_COLUMNS} FROM invoices WHERE id = $1"
_LOCK_INVOICE = f"SELECT {_COLUMNS} FROM invoices WHERE id = $1 FOR UPDATE"
_CREDITED = (
    "SELECT COALESCE(sum(total), 0)::bigint FROM invoices"
    " WHERE refers_to = $1 AND kind = 'credit_note'"
)
_ISSUED_AT = "SELECT issued_at FROM invoices WHERE id = $1"

_LIST = f"""
SELECT {_COLUMNS} FROM invoices
 WHERE ($1::text IS NULL OR account = $1)
   AND ($2::timestamptz IS NULL OR (issued_at, id) < ($2, $3))
 ORDER BY issued_at DESC, id DESC
 LIMIT $4
"""

_encode = msgspec.json.Encoder().encode
_decode_document = msgspec.json.Decoder(Document).decode


def _invoice(row: asyncpg.Record) -> Invoice:
    return Invoice(
        id=row["id"],
        series=row["series"],
        number=row["number"],
        kind=InvoiceKind(row["kind"]),
        account=row["account"],
        currency=row["currency"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        issued_at=row["issued_at"],
        refers_to=row["refers_to"],
        subtotal=row["subtotal"],
        tax=row["tax"],
        total=row["total"],
        document=_decode_document(row["document"]),
    )


def series_of(kind: InvoiceKind, issued_at: datetime) -> str:
    """`INV-2026`: one series per kind and UTC year of issue."""
    return f"{SERIES_PREFIX[kind]}-{issued_at.astimezone(UTC).year:04d}"


class Draft(msgspec.Struct, frozen=True, kw_only=True):
    """An invoice or credit note before it has a number."""

    kind: InvoiceKind
    account: str
    currency: str
    period: Period
    issued_at: datetime
    refers_to: str | None
    document: Document


class InvoiceStore:
    def __init__(self, database: LazyPool) -> None:
        self._database = database

    async def open_messages(self, account: str, period: Period, currency: str) -> tuple[int, int]:
        """(messages neither captured nor released, messages in another currency)."""
        pool = await self._database.pool()
        row = await pool.fetchrow(_OPEN, account, period.start, period.end, currency)
        return row["open"], row["foreign"]

    async def usage(self, account: str, period: Period) -> list[UsageLine]:
        pool = await self._database.pool()
        rows = await pool.fetch(_USAGE, account, period.start, period.end)
        return [UsageLine(**dict(row)) for row in rows]

    async def rebates(
        self, account: str, period: Period, tiers: tuple[VolumeTier, ...]
    ) -> list[RebateLine]:
        """One line per tier the month's parts reached (rebates.py)."""
        if not tiers:
            return []
        lows, highs = tier_bounds(tiers)
        pool = await self._database.pool()
        rows = await pool.fetch(_TIERS, account, period.start, period.end, lows, highs)
        tiers_in_order = ordered(tiers)
        return [
            rebate_line(tiers_in_order[row["n"] - 1], row["parts"], row["whole"], row["split"])
            for row in rows
        ]

    async def movements(self, account: str, period: Period) -> list[Movement]:
        pool = await self._database.pool()
        rows = await pool.fetch(_MOVEMENTS, account, period.start, period.end)
        return [Movement(**dict(row)) for row in rows]

    async def issued_over(self, account: str, period: Period) -> str | None:
        """The id of an invoice of the account whose period overlaps this one."""
        pool = await self._database.pool()
        invoice_id: str | None = await pool.fetchval(
            _OVERLAPPING, account, period.start, period.end
        )
        return invoice_id

    async def insert_invoice(self, draft: Draft) -> Invoice:
        """Numbers and inserts an invoice, unless one overlapping its period is
        (or, meanwhile, was) issued: AlreadyIssued."""
        pool = await self._database.pool()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(_LOCK_ACCOUNT, draft.account)
            period = draft.period
            existing = await connection.fetchval(
                _OVERLAPPING, draft.account, period.start, period.end
            )
            if existing is not None:
                raise already_issued(draft.account, period, existing)
            return await _insert(connection, draft)

    async def insert_credit_note(
        self,
        invoice_id: str,
        amount: int,
        draft_of: Callable[[Invoice], Draft],
    ) -> Invoice:
        """Numbers and inserts the credit note `draft_of` makes of the invoice,
        when `amount` is within what earlier credit notes left of its total."""
        pool = await self._database.pool()
        async with pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(_LOCK_INVOICE, invoice_id)
            if row is None:
                raise UnknownInvoice(f"no invoice {invoice_id!r}")
            invoice = _invoice(row)
            if invoice.kind is not InvoiceKind.INVOICE:
                raise NotAnInvoice(f"{invoice_id} is a credit note; credit its invoice")
            credited = await connection.fetchval(_CREDITED, invoice_id)
            left = invoice.total - credited
            if amount > left:
                raise CreditExceeded(
                    f"amount {amount} exceeds what is left to credit of {invoice_id}: {left}"
                    f" (total {invoice.total}, credited {credited})"
                )
            return await _insert(connection, draft_of(invoice))

    async def get(self, invoice_id: str) -> Invoice | None:
        pool = await self._database.pool()
        row = await pool.fetchrow(_GET, invoice_id)
        return None if row is None else _invoice(row)

    async def list(self, account: str | None, limit: int, before: str | None) -> list[Invoice]:
        pool = await self._database.pool()
        issued_at = None
        if before is not None:
            issued_at = await pool.fetchval(_ISSUED_AT, before)
            if issued_at is None:
                raise ValueError(f"before: no invoice {before!r}")
        rows = await pool.fetch(_LIST, account, issued_at, before, limit)
        return [_invoice(row) for row in rows]


def already_issued(account: str, period: Period, invoice_id: str) -> AlreadyIssued:
    return AlreadyIssued(
        f"account {account!r} already has invoice {invoice_id} for a period overlapping"
        f" {period.label}; correct it with a credit note",
        invoice_id,
    )


async def _insert(connection: asyncpg.Connection, draft: Draft) -> Invoice:
    series = series_of(draft.kind, draft.issued_at)
    number = await connection.fetchval(_NEXT_NUMBER, series)
    document = draft.document
    row = await connection.fetchrow(
        _INSERT,
        f"{series}-{number:06d}",
        series,
        number,
        str(draft.kind),
        draft.account,
        draft.currency,
        draft.period.start,
        draft.period.end,
        draft.issued_at,
        draft.refers_to,
        document.subtotal,
        document.tax,
        document.total,
        _encode(document).decode(),
    )
    return _invoice(row)
