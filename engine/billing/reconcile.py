"""`smsgw billing reconcile`: CDRs, ledger, invoices and payments of a period, to the unit.

docs/billing.md, "Reconciliation". Per account and currency, the charges of
the messages accepted in the period (what the CDRs sum to) must equal the
ledger's capture entries of the same messages, wherever in time those fell,
and the usage of the period's issued invoice; the invoice's top-ups and
adjustments must equal the ledger's adjust entries of the period; and every
top-up (a positive adjust entry, not a volume rebate) must have its payments
row of the same account, reference and amount, and the other way round.

Everything is read in one read-only snapshot, so traffic need not stop.
Ledger entries carry no currency: they are in the account's, which is taken
from its invoice, else from its CDRs, else from its payments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

import asyncpg

from engine.billing.invoices import UNPAID_PREFIXES
from engine.billing.periods import Period
from router.tariffs import MICRO_UNITS

# A capture follows its hold, so it is dated after the period's start, give or
# take the clocks of two shards: the margin keeps months long gone unread.
_CHARGES = """
WITH accepted AS (
    SELECT message_id, account, currency, charged
      FROM messages
     WHERE accepted_at >= $1 AND accepted_at < $2 AND created_at >= $1 AND created_at < $2
), captured AS (
    SELECT message_id, sum(amount) AS amount
      FROM ledger_entries
     WHERE kind = 'capture' AND at >= $1 - interval '1 day'
       AND message_id IN (SELECT message_id FROM accepted)
     GROUP BY message_id
)
SELECT a.account, a.currency, count(*) AS messages,
       COALESCE(sum(a.charged), 0)::bigint AS charged,
       COALESCE(sum(c.amount), 0)::bigint AS captured,
       count(*) FILTER (WHERE COALESCE(a.charged, 0) <> COALESCE(c.amount, 0)) AS disagreeing
  FROM accepted a
  LEFT JOIN captured c USING (message_id)
 GROUP BY a.account, a.currency
"""

# The document's totals (engine.billing.invoice_model.InvoiceDocument).
_INVOICES = """
SELECT id, account, currency,
       (document->>'usage_amount')::bigint AS usage,
       (document->>'top_ups_amount')::bigint AS top_ups,
       (document->>'adjustments_amount')::bigint AS adjustments
  FROM invoices
 WHERE kind = 'invoice' AND period_start = $1 AND period_end = $2
"""

_ADJUSTMENTS = """
SELECT e.account, e.reference, e.amount, p.amount AS paid, p.currency
  FROM ledger_entries e
  LEFT JOIN payments p ON p.account = e.account AND p.reference = e.reference
 WHERE e.kind = 'adjust' AND e.at >= $1 AND e.at < $2
"""

# A payment of the period whose adjust entry may be dated in another one.
_PAYMENTS = """
SELECT p.account, p.reference, p.amount AS paid, p.currency,
       (SELECT sum(e.amount)::bigint FROM ledger_entries e
         WHERE e.kind = 'adjust' AND e.account = p.account AND e.reference = p.reference
       ) AS amount
  FROM payments p
 WHERE p.at >= $1 AND p.at < $2
"""


class Check(StrEnum):
    """What disagrees: each compares two sides, named in `SIDES`."""

    CAPTURES = "captures"
    INVOICE_USAGE = "invoice_usage"
    INVOICE_TOP_UPS = "invoice_top_ups"
    INVOICE_ADJUSTMENTS = "invoice_adjustments"
    NOT_INVOICED = "not_invoiced"
    PAYMENT = "payment"


SIDES = {
    Check.CAPTURES: ("CDR charges", "ledger captures"),
    Check.INVOICE_USAGE: ("CDR charges", "invoice usage"),
    Check.INVOICE_TOP_UPS: ("ledger top-ups", "invoice top-ups"),
    Check.INVOICE_ADJUSTMENTS: ("ledger adjustments", "invoice adjustments"),
    Check.NOT_INVOICED: ("CDR charges", "invoice"),
    Check.PAYMENT: ("ledger top-up", "payments row"),
}
"""(expected, found): what each side of a check is."""


def exact(micro: int | None, currency: str | None) -> str:
    """Micro-units shown whole (a difference of one must show), or "missing"."""
    if micro is None:
        return "missing"
    whole, fraction = divmod(abs(micro), MICRO_UNITS)
    sign = "-" if micro < 0 else ""
    return f"{sign}{whole}.{fraction:0{len(str(MICRO_UNITS)) - 1}d} {currency or '?'}"


@dataclass(frozen=True)
class Difference:
    """One disagreement; None on a side: that side has nothing at all.

    `reference` names the payment (PAYMENT) or the invoice (INVOICE_*);
    `messages` counts the messages whose charge and captures differ (CAPTURES).
    """

    check: Check
    account: str
    currency: str | None
    expected: int | None
    found: int | None
    reference: str | None = None
    messages: int = 0

    def __str__(self) -> str:
        expected, found = SIDES[self.check]
        about = f" {self.reference}" if self.reference else ""
        count = f" ({self.messages} message(s) differ)" if self.messages else ""
        return (
            f"{self.account} {self.currency or '?'} {self.check}{about}: {expected}"
            f" {exact(self.expected, self.currency)}, {found} {exact(self.found, self.currency)}"
            f"{count}"
        )


@dataclass
class AccountTotals:
    """What each side says of one account and currency in the period."""

    account: str
    currency: str | None
    messages: int = 0
    charged: int = 0
    captured: int = 0
    top_ups: int = 0
    """Ledger top-ups dated in the period."""
    payments: int = 0
    """Payments rows dated in the period."""
    invoice: str | None = None
    invoiced: int | None = None
    """The invoice's usage; None: not invoiced."""

    def __str__(self) -> str:
        def money(micro: int | None) -> str:
            return exact(micro, self.currency)

        invoice = (
            f"invoice {self.invoice} usage {money(self.invoiced)}"
            if self.invoice
            else "not invoiced"
        )
        return (
            f"{self.account} {self.currency or '?'}: {self.messages} message(s),"
            f" CDR charges {money(self.charged)}, ledger captures {money(self.captured)},"
            f" {invoice}, top-ups {money(self.top_ups)}, payments {money(self.payments)}"
        )


@dataclass(frozen=True)
class Reconciliation:
    period: Period
    totals: list[AccountTotals]
    differences: list[Difference]
    not_invoiced: list[AccountTotals] = field(default_factory=list)
    """Accounts active in the period without an invoice for it (a difference
    only when invoices were required)."""

    @property
    def ok(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        """The human report: every account's totals, then what differs."""
        lines = [f"billing {self.period.label}: {len(self.totals)} account(s) and currency(ies)"]
        lines += [f"  {totals}" for totals in self.totals]
        lines += [f"DIFFERS {difference}" for difference in self.differences]
        if self.ok:
            lines.append("CDRs, ledger, invoices and payments agree")
        else:
            lines.append(f"{len(self.differences)} difference(s)")
        return lines


class _Reading:
    """The rows of one snapshot, folded per account and currency."""

    def __init__(self, invoices: list[asyncpg.Record]) -> None:
        self.invoices = invoices
        self.totals: dict[tuple[str, str | None], AccountTotals] = {}
        self.differences: list[Difference] = []
        self.currency_of: dict[str, str | None] = {}
        self.adjustments: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        """Account -> [top-ups, other adjustments] of the ledger in the period."""

    def of(self, account: str, currency: str | None) -> AccountTotals:
        key = (account, currency)
        if key not in self.totals:
            self.totals[key] = AccountTotals(account, currency)
        return self.totals[key]

    def add_charges(self, rows: list[asyncpg.Record]) -> None:
        for row in rows:
            totals = self.of(row["account"], row["currency"])
            totals.messages = row["messages"]
            totals.charged = row["charged"]
            totals.captured = row["captured"]
            if row["charged"] != row["captured"] or row["disagreeing"]:
                self.differences.append(
                    Difference(
                        Check.CAPTURES,
                        row["account"],
                        row["currency"],
                        row["charged"],
                        row["captured"],
                        messages=row["disagreeing"],
                    )
                )

    def learn_currencies(self, payments: list[asyncpg.Record]) -> None:
        """Each account's currency: its invoice's, else its only CDR or payment currency."""
        seen: dict[str, set[str | None]] = defaultdict(set)
        for account, currency in self.totals:
            seen[account].add(currency)
        for row in payments:
            if row["account"] not in seen:
                seen[row["account"]].add(row["currency"])
        for account, currencies in seen.items():
            self.currency_of[account] = next(iter(currencies)) if len(currencies) == 1 else None
        for row in self.invoices:
            self.currency_of[row["account"]] = row["currency"]

    def add_top_ups(
        self, adjustments: list[asyncpg.Record], payments: list[asyncpg.Record]
    ) -> None:
        """Ledger top-ups of the period against payments of the period, by reference."""
        pairs: dict[tuple[str, str | None], asyncpg.Record] = {}
        for row in adjustments:
            top_up = row["amount"] > 0 and not (row["reference"] or "").startswith(UNPAID_PREFIXES)
            self.adjustments[row["account"]][0 if top_up else 1] += row["amount"]
            if top_up:
                self.of(row["account"], self._currency(row)).top_ups += row["amount"]
                pairs[(row["account"], row["reference"])] = row
        for row in payments:
            self.of(row["account"], row["currency"]).payments += row["paid"]
            pairs.setdefault((row["account"], row["reference"]), row)
        for (account, reference), row in sorted(pairs.items(), key=lambda item: _key(item[0])):
            if row["amount"] != row["paid"]:
                self.differences.append(
                    Difference(
                        Check.PAYMENT,
                        account,
                        self._currency(row),
                        row["amount"],
                        row["paid"],
                        reference=reference,
                    )
                )

    def _currency(self, row: asyncpg.Record) -> str | None:
        return row["currency"] or self.currency_of.get(row["account"])

    def add_invoices(self) -> None:
        for row in self.invoices:
            account, currency, invoice = row["account"], row["currency"], row["id"]
            totals = self.of(account, currency)
            totals.invoice, totals.invoiced = invoice, row["usage"]
            top_ups, other = self.adjustments.get(account, [0, 0])
            for check, expected, found in (
                (Check.INVOICE_USAGE, totals.charged, row["usage"]),
                (Check.INVOICE_TOP_UPS, top_ups, row["top_ups"]),
                (Check.INVOICE_ADJUSTMENTS, other, row["adjustments"]),
            ):
                if expected != found:
                    self.differences.append(
                        Difference(check, account, currency, expected, found, reference=invoice)
                    )

    def not_invoiced(self) -> list[AccountTotals]:
        invoiced = {row["account"] for row in self.invoices}
        return [t for t in self.sorted_totals() if t.account not in invoiced]

    def sorted_totals(self) -> list[AccountTotals]:
        return [self.totals[key] for key in sorted(self.totals, key=_key)]


def _key(pair: tuple[str, str | None]) -> tuple[str, str]:
    """(account, currency or reference) in order, None first."""
    return pair[0], pair[1] or ""


async def reconcile(
    database_url: str, period: Period, *, require_invoices: bool = False
) -> Reconciliation:
    """Every disagreement of the period's CDRs, ledger, invoices and payments;
    with `require_invoices`, an account active in the period without its
    invoice is one too."""
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            charges = await connection.fetch(_CHARGES, period.start, period.end)
            invoices = await connection.fetch(_INVOICES, period.start, period.end)
            adjustments = await connection.fetch(_ADJUSTMENTS, period.start, period.end)
            payments = await connection.fetch(_PAYMENTS, period.start, period.end)
    finally:
        await connection.close()
    reading = _Reading(invoices)
    reading.add_charges(charges)
    reading.learn_currencies(payments)
    reading.add_top_ups(adjustments, payments)
    reading.add_invoices()
    not_invoiced = reading.not_invoiced()
    if require_invoices:
        reading.differences += [
            Difference(Check.NOT_INVOICED, t.account, t.currency, t.charged, None)
            for t in not_invoiced
        ]
    return Reconciliation(period, reading.sorted_totals(), reading.differences, not_invoiced)
