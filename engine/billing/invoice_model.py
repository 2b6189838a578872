"""What an invoice or credit note says, as stored in `invoices.document` and served.

Every amount is an int of micro-units of the invoice's currency. An issued
document is never edited (sql/0005's trigger); a credit note corrects it. A
credit note's amounts are positive: its `kind` says they are owed back.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from engine.billing.currencies import check_currency
from engine.billing.periods import Period

BASIS_POINTS = 10_000
"""A rate or discount of 10000 basis points is 100%."""


class VolumeTier(msgspec.Struct, frozen=True):
    """Parts of the month beyond `after_parts` cost `discount` basis points less."""

    after_parts: int
    discount: int

    def __post_init__(self) -> None:
        if type(self.after_parts) is not int or self.after_parts < 0:
            raise ValueError(f"after_parts must be an int >= 0, got {self.after_parts!r}")
        if type(self.discount) is not int or not 0 <= self.discount <= BASIS_POINTS:
            raise ValueError(f"discount must be an int in 0..{BASIS_POINTS} (basis points)")


class InvoiceAccount(msgspec.Struct, frozen=True, kw_only=True):
    """What invoicing needs of an account (docs/billing.md, "Accounts")."""

    currency: str
    tax_name: str = ""
    tax_rate: int = 0
    """Basis points: VAT 10% is 1000."""
    tiers: tuple[VolumeTier, ...] = ()

    def __post_init__(self) -> None:
        check_currency(self.currency)
        if type(self.tax_rate) is not int or not 0 <= self.tax_rate <= BASIS_POINTS:
            raise ValueError(f"tax_rate must be an int in 0..{BASIS_POINTS} (basis points)")
        starts = [tier.after_parts for tier in self.tiers]
        if len(set(starts)) != len(starts):
            raise ValueError(f"tiers: two tiers start after the same parts: {sorted(starts)}")


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class UsageLine(msgspec.Struct, frozen=True, kw_only=True):
    """The charged messages of one country, network, connector and state."""

    country: str | None
    network: str | None
    connector: str | None
    state: str
    messages: int
    parts: int
    amount: int


class RebateLine(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of the month that fell in one volume tier."""

    after_parts: int
    discount: int
    parts: int
    charged: int
    """What those parts were charged (half to even where a message straddles tiers)."""
    amount: int
    """The rebate: `charged` (exact) times `discount`, half to even once."""


class Movement(msgspec.Struct, frozen=True, kw_only=True):
    """A ledger adjust entry of the period; `method` and `actor` from its payment, if any."""

    at: datetime
    amount: int
    reference: str | None
    reason: str | None
    method: str | None
    actor: str | None


class InvoiceDocument(msgspec.Struct, frozen=True, kw_only=True, tag="invoice", tag_field="kind"):
    """An invoice: usage less the volume rebate is the subtotal; tax on it.

    Top-ups and adjustments are the account's movements of the period, shown
    beside the bill, never in it: a top-up pays, it is not sold, and an
    adjustment is money already moved on the balance.
    """

    tax_name: str
    tax_rate: int
    usage: list[UsageLine]
    usage_parts: int
    usage_amount: int
    rebates: list[RebateLine]
    rebate: int
    rebate_reference: str | None
    """The ledger adjust entry that credited the rebate (None: no rebate)."""
    top_ups: list[Movement]
    top_ups_amount: int
    adjustments: list[Movement]
    adjustments_amount: int
    subtotal: int
    tax: int
    total: int


class CreditNoteDocument(
    msgspec.Struct, frozen=True, kw_only=True, tag="credit_note", tag_field="kind"
):
    """A correction of `refers_to`: `total` (tax included) is owed back."""

    refers_to: str
    reason: str
    tax_name: str
    tax_rate: int
    subtotal: int
    tax: int
    total: int


Document = InvoiceDocument | CreditNoteDocument


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    """An issued invoice or credit note: the `invoices` row."""

    id: str
    """`INV-2026-000042`: the series (per year of issue) and its gapless number."""
    series: str
    number: int
    kind: InvoiceKind
    account: str
    currency: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    refers_to: str | None
    subtotal: int
    tax: int
    total: int
    document: Document

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end)
