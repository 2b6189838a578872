"""Invoices and credit notes: issued once per account and period, from PostgreSQL.

docs/billing.md, "Invoices". An invoice is issued when its period is over
and every message accepted in it is final for the money (captured, or
released): a message still waiting for its delivery receipt was captured at
submission, so it does not hold the invoice back.

What is billed: usage (the charges of the period's messages) less the
volume rebate is the subtotal; tax (the account's rate, half to even) is on
the subtotal; total = subtotal + tax. Top-ups and adjustments of the period
are shown as the account's movements, outside the subtotal: a top-up pays
for usage, it is not usage, and an adjustment already moved the balance.

The rebate is money: one ledger adjust entry (`rebate`, idempotent by its
reference `rebate:<period>`), made before the invoice is inserted, so an
issue that fails after it can simply be tried again. That entry is shown
among the adjustments of the period it is made in, never as a top-up.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from fractions import Fraction

import asyncpg
import msgspec

from engine.billing.invoice_model import (
    BASIS_POINTS,
    CreditNoteDocument,
    Invoice,
    InvoiceAccount,
    InvoiceDocument,
    InvoiceKind,
    Movement,
    RebateLine,
    UsageLine,
)
from engine.billing.invoice_refusals import (
    ForeignCurrency,
    InvoiceRefused,
    NotFinal,
    NotPersisted,
    PeriodNotOver,
    UnknownAccount,
)
from engine.billing.invoice_store import Draft, InvoiceStore, already_issued
from engine.billing.periods import Period
from engine.billing.rebates import half_even, tax_of
from ledger.model import MAX_AMOUNT, check_account, check_reason
from ledger.postgres.pool import LazyPool

MAX_PAGE = 1_000
REBATE_PREFIX = "rebate:"
"""The reference of a volume rebate's ledger entry: `rebate:2026-12`."""
TRANSFER_PREFIX = "xfer:"
"""A reseller's credit moved to or from a sub-account (engine.resellers.transfers)."""
MARGIN_PREFIX = "reseller-margin:"
"""A reseller's monthly margin: `reseller-margin:2026-12` (engine.resellers.margins)."""
UNPAID_PREFIXES = (REBATE_PREFIX, TRANSFER_PREFIX, MARGIN_PREFIX)
"""Credits that are not top-ups: no payment stands behind them, so an invoice
lists them among the adjustments and reconciliation looks for no payment row."""

AccountLookup = Callable[[str, Period], InvoiceAccount | None]
"""What an invoice of the period needs of the account (its plan's tiers then); None: unknown."""
Rebate = Callable[[str, int, str, str], Awaitable[None]]
Persisted = Callable[[], Awaitable[datetime]]
"""(account, amount, reference, reason): credits the rebate as one ledger
adjust entry, once per reference."""


class IssueOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One account of `issue_all`: its invoice, or the refusal's code and why."""

    account: str
    invoice: Invoice | None = None
    refusal: str = ""
    detail: str = ""


def rebate_reference(period: Period) -> str:
    return f"{REBATE_PREFIX}{period.label}"


def invoice_document(
    account: InvoiceAccount,
    usage: list[UsageLine],
    rebates: list[RebateLine],
    movements: list[Movement],
    reference: str,
) -> InvoiceDocument:
    """The document and its totals: every total is a sum of the lines shown."""
    top_ups = [m for m in movements if m.amount > 0 and not _unpaid(m)]
    adjustments = [m for m in movements if m.amount <= 0 or _unpaid(m)]
    usage_amount = sum(line.amount for line in usage)
    rebate = sum(line.amount for line in rebates)
    subtotal = usage_amount - rebate
    tax = tax_of(subtotal, account.tax_rate)
    return InvoiceDocument(
        tax_name=account.tax_name,
        tax_rate=account.tax_rate,
        usage=usage,
        usage_parts=sum(line.parts for line in usage),
        usage_amount=usage_amount,
        rebates=rebates,
        rebate=rebate,
        rebate_reference=reference if rebate else None,
        top_ups=top_ups,
        top_ups_amount=sum(m.amount for m in top_ups),
        adjustments=adjustments,
        adjustments_amount=sum(m.amount for m in adjustments),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


def credit_note_document(invoice: Invoice, amount: int, reason: str) -> CreditNoteDocument:
    """`amount` is tax included, as the total it corrects: its subtotal is
    amount / (1 + rate), half to even, and the tax the rest."""
    document = invoice.document
    assert isinstance(document, InvoiceDocument)
    subtotal = half_even(Fraction(amount * BASIS_POINTS, BASIS_POINTS + document.tax_rate))
    return CreditNoteDocument(
        refers_to=invoice.id,
        reason=reason,
        tax_name=document.tax_name,
        tax_rate=document.tax_rate,
        subtotal=subtotal,
        tax=amount - subtotal,
        total=amount,
    )


def _unpaid(movement: Movement) -> bool:
    return (movement.reference or "").startswith(UNPAID_PREFIXES)


def _check_now(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValueError(f"now must be a datetime with a time zone, got {now!r}")


class Invoices:
    """Issues and reads invoices; `accounts` says what invoicing needs of an
    account (None: unknown), `rebate` credits a volume rebate on the ledger."""

    def __init__(
        self,
        database: asyncpg.Pool | str,
        accounts: AccountLookup,
        rebate: Rebate,
        persisted: Persisted | None = None,
    ) -> None:
        """``persisted``: the instant before which every ledger and message
        event is in PostgreSQL (the persister's lag); None: always now."""
        self._database = LazyPool(database)
        self._store = InvoiceStore(self._database)
        self._accounts = accounts
        self._rebate = rebate
        self._persisted = persisted

    async def issue(self, account: str, period: Period, *, now: datetime) -> Invoice:
        """The account's invoice for the period, numbered in `INV-<year of now>`;
        an `InvoiceRefused` says why not."""
        check_account(account)
        _check_now(now)
        known = self._accounts(account, period)
        if known is None:
            raise UnknownAccount(f"no account {account!r}")
        if now < period.end:
            raise PeriodNotOver(
                f"period {period.label} runs until {period.end.isoformat()}; issue it after"
            )
        existing = await self._store.issued_over(account, period)
        if existing is not None:
            raise already_issued(account, period, existing)
        if self._persisted is not None and (through := await self._persisted()) < period.end:
            raise NotPersisted(
                f"PostgreSQL holds the events before {through.isoformat()} only; {period.label}"
                " ends later: issue once the persister has caught up"
            )
        open_messages, foreign = await self._store.open_messages(account, period, known.currency)
        if open_messages:
            raise NotFinal(
                f"{open_messages} message(s) of {account!r} accepted in {period.label} are"
                " neither captured nor released yet; issue once they are",
                open_messages,
            )
        if foreign:
            raise ForeignCurrency(
                f"{foreign} message(s) of {account!r} in {period.label} are priced in another"
                f" currency than the account's {known.currency}"
            )
        reference = rebate_reference(period)
        document = invoice_document(
            known,
            await self._store.usage(account, period),
            await self._store.rebates(account, period, known.tiers),
            await self._store.movements(account, period),
            reference,
        )
        if document.rebate:
            await self._rebate(account, document.rebate, reference, f"volume rebate {period.label}")
        draft = Draft(
            kind=InvoiceKind.INVOICE,
            account=account,
            currency=known.currency,
            period=period,
            issued_at=now,
            refers_to=None,
            document=document,
        )
        return await self._store.insert_invoice(draft)

    async def issue_all(
        self, period: Period, accounts: Iterable[str], *, now: datetime
    ) -> builtins.list[IssueOutcome]:
        """Each account in turn (numbers follow their order); one refused is
        reported and the others go on."""
        outcomes = []
        for account in accounts:
            try:
                invoice = await self.issue(account, period, now=now)
            except (InvoiceRefused, ValueError) as exc:
                code = exc.code if isinstance(exc, InvoiceRefused) else "invalid_account"
                outcomes.append(IssueOutcome(account=account, refusal=code, detail=str(exc)))
            else:
                outcomes.append(IssueOutcome(account=account, invoice=invoice))
        return outcomes

    async def credit_note(
        self, invoice_id: str, amount: int, reason: str, *, now: datetime
    ) -> Invoice:
        """A credit note of `amount` (tax included) against the invoice, up to
        its total less earlier credit notes, numbered in `CN-<year of now>`."""
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            raise ValueError(f"amount must be an int in 1..{MAX_AMOUNT}, got {amount!r}")
        check_reason(reason)
        _check_now(now)

        def draft_of(invoice: Invoice) -> Draft:
            return Draft(
                kind=InvoiceKind.CREDIT_NOTE,
                account=invoice.account,
                currency=invoice.currency,
                period=invoice.period,
                issued_at=now,
                refers_to=invoice.id,
                document=credit_note_document(invoice, amount, reason),
            )

        return await self._store.insert_credit_note(invoice_id, amount, draft_of)

    async def get(self, invoice_id: str) -> Invoice | None:
        return await self._store.get(invoice_id)

    async def list(
        self, account: str | None = None, limit: int = 100, before: str | None = None
    ) -> builtins.list[Invoice]:
        """Newest first; `before`: the id of the last invoice of the previous page."""
        if account is not None:
            check_account(account)
        if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be an int in 1..{MAX_PAGE}, got {limit!r}")
        return await self._store.list(account, limit, before)

    async def close(self) -> None:
        await self._database.close()
