"""Billing reconciliation on real PostgreSQL: agreeing records pass, and each kind
of disagreement is named by account, currency and, where there is one, reference.

Payments and invoices outlive the per-test truncation, so each test reconciles
a month of its own."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from engine.billing.invoice_model import InvoiceAccount
from engine.billing.invoices import Invoices
from engine.billing.periods import Period, month
from engine.billing.reconcile import Check, Difference, reconcile
from engine.resellers.margins import margin_reference
from engine.resellers.transfers import ledger_reference
from tests.engine.billing.billing_rows import BillingRows
from tests.services import (  # noqa: F401  (fixtures used by this module)
    database_url_fixture,
    postgres_database_fixture,
)

_months = itertools.count()
PRICE = 50_000


@pytest.fixture
def period() -> Period:
    """A month no other test of the process reconciles."""
    n = next(_months)
    return month(f"{2300 + n // 12}-{1 + n % 12:02d}")


@pytest.fixture
async def rows(database_url: str) -> AsyncIterator[BillingRows]:
    connection = await asyncpg.connect(database_url)
    yield BillingRows(connection)
    await connection.close()


@pytest.fixture
def account() -> str:
    return f"rec-{secrets.token_hex(4)}"


async def _no_rebate(account: str, amount: int, reference: str, reason: str) -> None:
    raise AssertionError("no tiers, no rebate")


def _in_euros(_account: str, _period: Period) -> InvoiceAccount:
    return InvoiceAccount(currency="EUR")


async def issue_invoice(database_url: str, account: str, period: Period) -> str:
    invoices = Invoices(database_url, _in_euros, _no_rebate)
    try:
        invoice = await invoices.issue(account, period, now=period.end + timedelta(days=2))
    finally:
        await invoices.close()
    return invoice.id


async def charged_message(
    rows: BillingRows,
    account: str,
    message_id: str,
    period: Period,
    *,
    parts: int = 1,
    day: int = 1,
    captured_after: timedelta = timedelta(seconds=3),
) -> None:
    """A message of the period captured in full, as the persister writes it."""
    accepted_at = period.start + timedelta(days=day, hours=10)
    amount = PRICE * parts
    await rows.message(
        account, message_id, accepted_at=accepted_at, parts=parts, held=amount, charged=amount
    )
    await rows.entry(
        account, "capture", amount, at=accepted_at + captured_after, message_id=message_id
    )


async def a_month_that_agrees(rows: BillingRows, account: str, period: Period) -> None:
    """Charges captured (one in the next month's ledger partition), one message
    released, a top-up with its payment, a debit and a rebate credit."""
    await charged_message(rows, account, "m-1", period, parts=2)
    last_day = (period.end - period.start).days - 1
    await charged_message(
        rows, account, "m-2", period, day=last_day, captured_after=timedelta(hours=20)
    )
    released_at = period.start + timedelta(days=3)
    await rows.message(
        account,
        "m-3",
        accepted_at=released_at,
        parts=1,
        held=PRICE,
        charged=None,
        state="undeliverable",
    )
    await rows.entry(account, "release", PRICE, at=released_at, message_id="m-3")
    paid_at = period.start + timedelta(days=2)
    await rows.payment(account, "wire-1", 20_000_000, at=paid_at, method="bank_transfer")
    await rows.entry(account, "adjust", 20_000_000, at=paid_at, reference="wire-1")
    await rows.entry(account, "adjust", -1_000_000, at=paid_at, reference="fee-1", reason="fee")
    await rows.entry(account, "adjust", 7_000, at=paid_at, reference="rebate:earlier")


async def test_records_that_agree_reconcile(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await a_month_that_agrees(rows, account, period)
    invoice = await issue_invoice(database_url, account, period)

    result = await reconcile(database_url, period, require_invoices=True)

    assert result.differences == []
    assert result.ok
    assert result.not_invoiced == []
    [totals] = result.totals
    assert (totals.account, totals.currency, totals.messages) == (account, "EUR", 3)
    assert totals.charged == totals.captured == totals.invoiced == 3 * PRICE
    assert totals.top_ups == totals.payments == 20_000_000
    assert totals.invoice == invoice
    lines = result.lines()
    assert lines[0] == f"billing {period.label}: 1 account(s) and currency(ies)"
    assert f"CDR charges 0.150000 EUR, ledger captures 0.150000 EUR, invoice {invoice}" in lines[1]
    assert lines[-1] == "CDRs, ledger, invoices and payments agree"


async def test_reseller_transfers_and_margins_are_not_top_ups_without_payments(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    """Credit a reseller moved down and its monthly margin have no payment
    behind them: the invoice lists them as adjustments and reconcile agrees."""
    await a_month_that_agrees(rows, account, period)
    at = period.start + timedelta(days=4)
    stem = ledger_reference("reseller", account, 3_000_000, "t-1")
    await rows.entry(account, "adjust", 3_000_000, at=at, reference=f"{stem}:in")
    await rows.entry(account, "adjust", 250_000, at=at, reference=margin_reference(period))
    await issue_invoice(database_url, account, period)

    result = await reconcile(database_url, period, require_invoices=True)

    assert result.differences == []
    [totals] = result.totals
    assert totals.top_ups == totals.payments == 20_000_000


async def test_a_missing_capture_is_a_difference_of_the_account_and_currency(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await a_month_that_agrees(rows, account, period)
    await rows.message(
        account,
        "m-lost",
        accepted_at=period.start + timedelta(days=4),
        parts=1,
        held=PRICE,
        charged=PRICE,
    )

    result = await reconcile(database_url, period)

    assert result.differences == [
        Difference(Check.CAPTURES, account, "EUR", 4 * PRICE, 3 * PRICE, messages=1)
    ]
    assert not result.ok
    assert result.lines()[-2] == (
        f"DIFFERS {account} EUR captures: CDR charges 0.200000 EUR,"
        " ledger captures 0.150000 EUR (1 message(s) differ)"
    )
    assert result.lines()[-1] == "1 difference(s)"


async def test_a_charge_one_micro_unit_off_its_capture_is_a_difference(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await a_month_that_agrees(rows, account, period)
    accepted_at = period.start + timedelta(days=5)
    await rows.message(
        account, "m-odd", accepted_at=accepted_at, parts=1, held=PRICE, charged=PRICE
    )
    await rows.entry(account, "capture", PRICE - 1, at=accepted_at, message_id="m-odd")

    result = await reconcile(database_url, period)

    [difference] = result.differences
    assert (difference.check, difference.account, difference.currency) == (
        Check.CAPTURES,
        account,
        "EUR",
    )
    assert difference.expected is not None and difference.found is not None
    assert difference.expected - difference.found == 1
    assert "CDR charges 0.200000 EUR, ledger captures 0.199999 EUR" in str(difference)


async def test_captures_that_offset_each_other_still_differ_by_message(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    at = period.start + timedelta(days=6)
    await rows.message(account, "m-a", accepted_at=at, parts=1, held=PRICE, charged=PRICE)
    await rows.message(account, "m-b", accepted_at=at, parts=1, held=PRICE, charged=PRICE)
    await rows.entry(account, "capture", PRICE + 1, at=at, message_id="m-a")
    await rows.entry(account, "capture", PRICE - 1, at=at, message_id="m-b")

    [difference] = (await reconcile(database_url, period)).differences

    assert difference == Difference(
        Check.CAPTURES, account, "EUR", 2 * PRICE, 2 * PRICE, messages=2
    )


async def test_a_top_up_without_its_payment_and_a_payment_without_its_top_up(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await charged_message(rows, account, "m-1", period)
    at = period.start + timedelta(days=2)
    await rows.entry(account, "adjust", 5_000_000, at=at, reference="unpaid")
    await rows.payment(account, "unbooked", 3_000_000, at=at, method="card")
    await rows.payment(account, "short", 2_000_000, at=at, method="card")
    await rows.entry(account, "adjust", 1_999_999, at=at, reference="short")

    result = await reconcile(database_url, period)

    assert result.differences == [
        Difference(Check.PAYMENT, account, "EUR", 1_999_999, 2_000_000, reference="short"),
        Difference(Check.PAYMENT, account, "EUR", None, 3_000_000, reference="unbooked"),
        Difference(Check.PAYMENT, account, "EUR", 5_000_000, None, reference="unpaid"),
    ]
    assert str(result.differences[2]) == (
        f"{account} EUR payment unpaid: ledger top-up 5.000000 EUR, payments row missing"
    )


async def test_a_payment_dated_in_the_month_before_its_top_up_is_matched(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await charged_message(rows, account, "m-1", period)
    await rows.payment(
        account, "late", 4_000_000, at=period.start - timedelta(milliseconds=1), method="cash"
    )
    await rows.entry(account, "adjust", 4_000_000, at=period.start, reference="late")

    assert (await reconcile(database_url, period)).ok


async def test_an_account_without_its_invoice_differs_only_when_invoices_are_required(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await a_month_that_agrees(rows, account, period)

    lenient = await reconcile(database_url, period)
    strict = await reconcile(database_url, period, require_invoices=True)

    assert lenient.ok
    assert [(t.account, t.currency) for t in lenient.not_invoiced] == [(account, "EUR")]
    assert "not invoiced" in lenient.lines()[1]
    assert strict.differences == [Difference(Check.NOT_INVOICED, account, "EUR", 3 * PRICE, None)]


async def test_a_message_persisted_after_its_invoice_differs_from_the_invoice(
    rows: BillingRows, database_url: str, account: str, period: Period
) -> None:
    await a_month_that_agrees(rows, account, period)
    invoice = await issue_invoice(database_url, account, period)
    await charged_message(rows, account, "m-late", period, day=9)
    await rows.entry(
        account, "adjust", 1_000, at=period.start + timedelta(days=9), reference="late-top-up"
    )
    await rows.payment(
        account, "late-top-up", 1_000, at=period.start + timedelta(days=9), method="card"
    )

    result = await reconcile(database_url, period)

    assert result.differences == [
        Difference(Check.INVOICE_USAGE, account, "EUR", 4 * PRICE, 3 * PRICE, reference=invoice),
        Difference(
            Check.INVOICE_TOP_UPS, account, "EUR", 20_001_000, 20_000_000, reference=invoice
        ),
    ]


async def test_accounts_and_currencies_are_reconciled_apart(
    rows: BillingRows, database_url: str, period: Period
) -> None:
    good, bad = f"rec-good-{secrets.token_hex(3)}", f"rec-bad-{secrets.token_hex(3)}"
    at = period.start + timedelta(days=1)
    await charged_message(rows, good, "g-1", period)
    await rows.message(bad, "b-1", accepted_at=at, parts=1, held=70, charged=70, currency="UZS")
    await rows.entry(bad, "capture", 70, at=at, message_id="b-1")
    await rows.message(bad, "b-2", accepted_at=at, parts=1, held=9, charged=9, currency="USD")

    result = await reconcile(database_url, period)

    assert [(t.account, t.currency) for t in result.totals] == [
        (bad, "USD"),
        (bad, "UZS"),
        (good, "EUR"),
    ]
    assert result.differences == [Difference(Check.CAPTURES, bad, "USD", 9, 0, messages=1)]
