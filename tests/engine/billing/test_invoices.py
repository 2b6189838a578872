"""Invoices on a real PostgreSQL: totals to the micro-unit, refusals, gapless
numbers under concurrency, immutability and credit notes."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.billing.invoice_model import (
    CreditNoteDocument,
    InvoiceAccount,
    InvoiceDocument,
    InvoiceKind,
    Movement,
    RebateLine,
    UsageLine,
    VolumeTier,
)
from engine.billing.invoice_refusals import (
    AlreadyIssued,
    CreditExceeded,
    ForeignCurrency,
    NotAnInvoice,
    NotFinal,
    NotPersisted,
    PeriodNotOver,
    UnknownAccount,
    UnknownInvoice,
)
from engine.billing.invoices import Invoices, invoice_document
from engine.billing.periods import Period, month
from tests.engine.billing.billing_rows import BillingRows
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

DECEMBER = month("2026-12")
NEW_YEAR = datetime(2027, 1, 2, 8, 0, tzinfo=UTC)
VAT = InvoiceAccount(
    currency="EUR",
    tax_name="VAT",
    tax_rate=2500,
    tiers=(VolumeTier(after_parts=8, discount=2500), VolumeTier(after_parts=5, discount=1000)),
)


def day(n: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, n, hour, tzinfo=UTC)


class Billing:
    """Invoices over the test database, with the accounts a test declares and
    the rebates it was asked to credit."""

    def __init__(self, database_url: str, connection: asyncpg.Connection) -> None:
        self.accounts: dict[str, InvoiceAccount] = {}
        self.rebates: list[tuple[str, int, str, str]] = []
        self.rebate_failure: Exception | None = None
        self.invoices = Invoices(database_url, self.lookup, self._rebate)
        self.rows = BillingRows(connection)
        self.connection = connection

    def lookup(self, account: str, _period: Period) -> InvoiceAccount | None:
        return self.accounts.get(account)

    async def _rebate(self, account: str, amount: int, reference: str, reason: str) -> None:
        if self.rebate_failure is not None:
            raise self.rebate_failure
        self.rebates.append((account, amount, reference, reason))

    def account(self, settings: InvoiceAccount = VAT) -> str:
        name = f"inv-{secrets.token_hex(4)}"
        self.accounts[name] = settings
        return name

    async def charged(self, account: str, n: int, at: datetime, parts: int, charged: int) -> None:
        await self.rows.message(
            account, f"{account}-{n}", accepted_at=at, parts=parts, held=charged, charged=charged
        )


@pytest.fixture
async def billing(database_url: str) -> AsyncIterator[Billing]:
    connection = await asyncpg.connect(database_url)
    state = Billing(database_url, connection)
    yield state
    await state.invoices.close()
    await connection.close()


async def _month_of_traffic(billing: Billing, account: str) -> None:
    """Five charged messages (11 parts, two of them straddle tiers), one released,
    one free, two outside December, another account's; and the movements."""
    rows = billing.rows
    await billing.charged(account, 1, day(1), 2, 60_000)
    await billing.charged(account, 2, day(2), 3, 90_000)
    await billing.charged(account, 3, day(3), 2, 70_001)
    await rows.message(
        account, f"{account}-4", accepted_at=day(4), parts=3, held=90_001, charged=90_001,
        state="undeliverable", network="Ucell", connector="smsc-b",
    )  # fmt: skip
    await rows.message(
        account, f"{account}-5", accepted_at=day(5), parts=1, held=40_000, charged=40_000,
        country="KZ", network="Kcell", connector="smsc-b",
    )  # fmt: skip
    await rows.message(
        account, f"{account}-6", accepted_at=day(6), parts=1, held=30_000, charged=None,
        state="failed",
    )  # fmt: skip
    await rows.entry(account, "release", 30_000, at=day(6), message_id=f"{account}-6")
    await rows.message(account, f"{account}-7", accepted_at=day(7), parts=1, held=0, charged=0)
    await billing.charged(account, 8, DECEMBER.start - timedelta(seconds=1), 1, 50_000)
    await rows.message(
        account, f"{account}-9", accepted_at=DECEMBER.end, parts=1, held=50_000, charged=None,
        state="accepted",
    )  # fmt: skip
    await billing.charged(f"{account}-x", 1, day(8), 1, 77_777)
    await rows.entry(account, "adjust", 100_000_000, at=day(2), reference="wire-1", reason="top")
    await rows.payment(account, "wire-1", 100_000_000, at=day(2), method="bank_transfer")
    await rows.entry(account, "adjust", 5_000_000, at=day(3), reference="goodwill", reason="gift")
    await rows.entry(account, "adjust", -2_000_000, at=day(4), reference="fix-1", reason="fix")
    await rows.entry(
        account, "adjust", 35_000, at=day(1, 0), reference="rebate:2026-11", reason="rebate"
    )
    await rows.entry(account, "adjust", 9_000_000, at=DECEMBER.end, reference="wire-2")
    await rows.entry(account, "capture", 60_000, at=day(1), message_id=f"{account}-1")


async def test_an_invoice_bills_usage_less_the_rebate_with_tax_half_to_even(
    billing: Billing,
) -> None:
    account = billing.account()
    await _month_of_traffic(billing, account)
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)

    assert re.fullmatch(r"INV-2027-\d{6}", invoice.id)
    assert invoice.id == f"INV-2027-{invoice.number:06d}" and invoice.series == "INV-2027"
    assert (invoice.kind, invoice.account, invoice.currency) == ("invoice", account, "EUR")
    assert invoice.period == DECEMBER and invoice.issued_at == NEW_YEAR
    document = invoice.document
    assert isinstance(document, InvoiceDocument)
    assert document.usage == [
        UsageLine(country="KZ", network="Kcell", connector="smsc-b", state="delivered",
                  messages=1, parts=1, amount=40_000),
        UsageLine(country="UZ", network="Beeline", connector="smsc-a", state="delivered",
                  messages=3, parts=7, amount=220_001),
        UsageLine(country="UZ", network="Ucell", connector="smsc-b", state="undeliverable",
                  messages=1, parts=3, amount=90_001),
    ]  # fmt: skip
    assert (document.usage_parts, document.usage_amount) == (11, 350_002)
    # Parts 6-8: message 3 and a third of message 4; parts 9-11: two thirds of 4, and 5.
    assert document.rebates == [
        RebateLine(after_parts=5, discount=1000, parts=3, charged=100_001, amount=10_000),
        RebateLine(after_parts=8, discount=2500, parts=3, charged=100_001, amount=25_000),
    ]
    assert (document.rebate, document.rebate_reference) == (35_000, "rebate:2026-12")
    # 315_002 * 25% = 78_750.5: half to even is 78_750.
    assert (document.subtotal, document.tax, document.total) == (315_002, 78_750, 393_752)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (315_002, 78_750, 393_752)
    assert billing.rebates == [(account, 35_000, "rebate:2026-12", "volume rebate 2026-12")]

    assert [(m.amount, m.reference, m.method, m.actor) for m in document.top_ups] == [
        (100_000_000, "wire-1", "bank_transfer", "admin-api"),
        (5_000_000, "goodwill", None, None),
    ]
    assert document.top_ups_amount == 105_000_000
    assert document.adjustments == [
        Movement(at=day(1, 0), amount=35_000, reference="rebate:2026-11", reason="rebate",
                 method=None, actor=None),
        Movement(at=day(4), amount=-2_000_000, reference="fix-1", reason="fix",
                 method=None, actor=None),
    ]  # fmt: skip
    assert document.adjustments_amount == -1_965_000

    assert await billing.invoices.get(invoice.id) == invoice
    assert await billing.invoices.list(account) == [invoice]
    assert await billing.invoices.get("INV-1999-000001") is None


async def test_an_issued_invoice_cannot_change(billing: Billing) -> None:
    account = billing.account()
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    for statement in (
        "UPDATE invoices SET total = 0 WHERE id = $1",
        "DELETE FROM invoices WHERE id = $1",
    ):
        with pytest.raises(asyncpg.RaiseError, match="cannot change; issue a credit note"):
            await billing.connection.execute(statement, invoice.id)
    assert await billing.invoices.get(invoice.id) == invoice


async def test_an_empty_month_is_a_zero_invoice_without_rebate(billing: Billing) -> None:
    account = billing.account()
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (0, 0, 0)
    assert isinstance(invoice.document, InvoiceDocument)
    assert invoice.document.rebate_reference is None
    assert billing.rebates == []


async def test_a_message_still_open_holds_the_invoice_back(billing: Billing) -> None:
    account = billing.account()
    await billing.charged(account, 1, day(1), 1, 10_000)
    await billing.rows.message(
        account, f"{account}-2", accepted_at=day(2), parts=2, held=20_000, charged=None,
        state="submitted",
    )  # fmt: skip
    with pytest.raises(NotFinal, match=r"1 message\(s\) .* neither captured nor released") as e:
        await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert (e.value.code, e.value.open_messages) == ("not_final", 1)
    assert await billing.invoices.list(account) == []

    await billing.rows.entry(account, "release", 20_000, at=day(3), message_id=f"{account}-2")
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert invoice.subtotal == 10_000


async def test_issuing_is_refused_with_the_reason(billing: Billing) -> None:
    account = billing.account()
    with pytest.raises(UnknownAccount, match="no account 'nobody'"):
        await billing.invoices.issue("nobody", DECEMBER, now=NEW_YEAR)
    with pytest.raises(PeriodNotOver, match="2026-12 runs until 2027-01-01"):
        await billing.invoices.issue(account, DECEMBER, now=DECEMBER.end - timedelta(seconds=1))
    with pytest.raises(ValueError, match="time zone"):
        await billing.invoices.issue(account, DECEMBER, now=datetime(2027, 1, 2))

    first = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    with pytest.raises(AlreadyIssued, match=f"already has invoice {first.id}") as again:
        await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert again.value.invoice_id == first.id
    overlapping = Period(day(31), datetime(2027, 1, 2, tzinfo=UTC))
    with pytest.raises(AlreadyIssued, match=first.id):
        await billing.invoices.issue(account, overlapping, now=NEW_YEAR + timedelta(days=1))

    other = billing.account()
    await billing.rows.message(
        other, f"{other}-1", accepted_at=day(1), parts=1, held=1, charged=1, currency="USD"
    )
    with pytest.raises(ForeignCurrency, match="another currency than the account's EUR"):
        await billing.invoices.issue(other, DECEMBER, now=NEW_YEAR)


async def test_numbers_have_no_gaps_when_issues_race(billing: Billing) -> None:
    accounts = [billing.account() for _ in range(5)]
    for account in accounts:
        await billing.charged(account, 1, day(1), 1, 10_000)
    outcomes = await asyncio.gather(
        *(billing.invoices.issue(account, DECEMBER, now=NEW_YEAR) for account in accounts),
        billing.invoices.issue(accounts[0], DECEMBER, now=NEW_YEAR),
        return_exceptions=True,
    )
    invoices = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(invoices) == 5 and [type(r) for r in refused] == [AlreadyIssued]
    numbers = sorted(invoice.number for invoice in invoices)
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    last = await billing.connection.fetchval(
        "SELECT last FROM invoice_series WHERE series = 'INV-2027'"
    )
    assert last == numbers[-1]
    assert sorted(i.account for i in invoices) == sorted(accounts)


async def test_a_failed_rebate_issues_nothing_and_a_retry_issues_once(billing: Billing) -> None:
    account = billing.account(InvoiceAccount(currency="EUR", tiers=(VolumeTier(0, 5000),)))
    await billing.charged(account, 1, day(1), 1, 10_001)
    billing.rebate_failure = ConnectionError("ledger down")
    with pytest.raises(ConnectionError):
        await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert await billing.invoices.list(account) == []
    billing.rebate_failure = None
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (5_001, 0, 5_001)  # 5000.5 -> 5000
    assert billing.rebates == [(account, 5_000, "rebate:2026-12", "volume rebate 2026-12")]


async def test_credit_notes_never_exceed_what_is_left_of_the_invoice(billing: Billing) -> None:
    account = billing.account(InvoiceAccount(currency="EUR", tax_name="VAT", tax_rate=2000))
    await billing.charged(account, 1, day(1), 1, 1_000_000)
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert invoice.total == 1_200_000
    later = NEW_YEAR + timedelta(days=3)

    note = await billing.invoices.credit_note(invoice.id, 700_001, "wrong route", now=later)
    assert re.fullmatch(r"CN-2027-\d{6}", note.id) and note.kind is InvoiceKind.CREDIT_NOTE
    assert (note.refers_to, note.account, note.period, note.issued_at) == (
        invoice.id, account, DECEMBER, later,
    )  # fmt: skip
    # 700_001 / 1.2 = 583_334.17 -> 583_334 before tax, the rest is tax.
    assert (note.subtotal, note.tax, note.total) == (583_334, 116_667, 700_001)
    assert note.document == CreditNoteDocument(
        refers_to=invoice.id, reason="wrong route", tax_name="VAT", tax_rate=2000,
        subtotal=583_334, tax=116_667, total=700_001,
    )  # fmt: skip

    with pytest.raises(CreditExceeded, match=r"exceeds what is left .*: 499999"):
        await billing.invoices.credit_note(invoice.id, 500_000, "again", now=later)
    last = await billing.invoices.credit_note(invoice.id, 499_999, "the rest", now=later)
    with pytest.raises(CreditExceeded, match=r"left .*: 0"):
        await billing.invoices.credit_note(invoice.id, 1, "more", now=later)
    with pytest.raises(NotAnInvoice, match="credit note"):
        await billing.invoices.credit_note(last.id, 1, "of a note", now=later)
    with pytest.raises(UnknownInvoice, match="no invoice 'INV-1999-000001'"):
        await billing.invoices.credit_note("INV-1999-000001", 1, "none", now=later)
    with pytest.raises(ValueError, match="amount"):
        await billing.invoices.credit_note(invoice.id, 0, "zero", now=later)
    with pytest.raises(ValueError, match="reason"):
        await billing.invoices.credit_note(invoice.id, 1, "", now=later)


async def test_concurrent_credit_notes_stay_within_the_total(billing: Billing) -> None:
    account = billing.account()
    await billing.charged(account, 1, day(1), 1, 800_000)
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert invoice.total == 1_000_000
    outcomes = await asyncio.gather(
        *(
            billing.invoices.credit_note(invoice.id, 300_000, "race", now=NEW_YEAR)
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == [
        "CreditExceeded", "Invoice", "Invoice", "Invoice",
    ]  # fmt: skip


async def test_lists_are_newest_first_and_paged_by_the_last_id(billing: Billing) -> None:
    account = billing.account()
    issued = [
        await billing.invoices.issue(account, month(f"2026-0{m}"), now=NEW_YEAR + timedelta(m))
        for m in range(1, 6)
    ]
    newest_first = issued[::-1]
    first = await billing.invoices.list(account, limit=2)
    second = await billing.invoices.list(account, limit=2, before=first[-1].id)
    rest = await billing.invoices.list(account, limit=2, before=second[-1].id)
    assert first + second + rest == newest_first
    assert issued[0] in await billing.invoices.list(None, limit=1000)
    with pytest.raises(ValueError, match="before: no invoice"):
        await billing.invoices.list(account, before="INV-1999-000001")
    with pytest.raises(ValueError, match="limit"):
        await billing.invoices.list(account, limit=0)


async def test_issue_all_reports_each_account(billing: Billing) -> None:
    ready, busy = billing.account(), billing.account()
    await billing.rows.message(
        busy, f"{busy}-1", accepted_at=day(1), parts=1, held=5, charged=None, state="accepted"
    )
    outcomes = await billing.invoices.issue_all(
        DECEMBER, [ready, busy, "ghost", "bad name"], now=NEW_YEAR
    )
    assert [(o.account, o.refusal) for o in outcomes] == [
        (ready, ""), (busy, "not_final"), ("ghost", "unknown_account"),
        ("bad name", "invalid_account"),
    ]  # fmt: skip
    assert outcomes[0].invoice is not None and outcomes[0].invoice.account == ready
    assert "account must be" in outcomes[3].detail


def _exact_half_even(numerator: int, denominator: int) -> int:
    """The rounding rule, stated as its definition: nearest, and even on a tie."""
    low = numerator // denominator
    twice_rest = 2 * (numerator - low * denominator)
    if twice_rest == denominator:
        return low if low % 2 == 0 else low + 1
    return low + (twice_rest > denominator)


_amounts = st.integers(min_value=0, max_value=10**12)
_usage = st.lists(
    st.builds(
        UsageLine, country=st.just("UZ"), network=st.none(), connector=st.none(),
        state=st.just("delivered"), messages=st.integers(1, 10**6),
        parts=st.integers(1, 10**6), amount=_amounts,
    ),
    max_size=8,
)  # fmt: skip


@given(usage=_usage, rebate_share=st.integers(0, 10_000), tax_rate=st.integers(0, 10_000))
def test_the_total_is_the_lines_less_the_rebate_plus_tax_half_to_even(
    usage: list[UsageLine], rebate_share: int, tax_rate: int
) -> None:
    usage_amount = sum(line.amount for line in usage)
    rebates = [
        RebateLine(after_parts=0, discount=rebate_share, parts=1, charged=usage_amount,
                   amount=usage_amount * rebate_share // 10_000),
    ]  # fmt: skip
    account = InvoiceAccount(currency="EUR", tax_name="VAT", tax_rate=tax_rate)
    document = invoice_document(account, usage, rebates, [], "rebate:2026-12")
    subtotal = usage_amount - rebates[0].amount
    assert document.subtotal == subtotal
    assert document.tax == _exact_half_even(subtotal * tax_rate, 10_000)
    assert document.total == sum(line.amount for line in document.usage) - document.rebate + (
        document.tax
    )


_messages = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 10**7)), min_size=1, max_size=12)
_tiers = st.lists(
    st.builds(VolumeTier, st.integers(0, 40), st.integers(0, 10_000)),
    max_size=3,
    unique_by=lambda tier: tier.after_parts,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=_messages, tiers=_tiers)
async def test_rebates_match_a_part_by_part_count(
    billing: Billing, messages: list[tuple[int, int]], tiers: list[VolumeTier]
) -> None:
    """Each part costs its message's charge / parts and takes the discount of the
    highest tier it passed; each tier's line rounds once."""
    account = billing.account(InvoiceAccount(currency="EUR", tiers=tuple(tiers)))
    for n, (parts, charged) in enumerate(messages):
        await billing.charged(account, n, day(1) + timedelta(minutes=n), parts, charged)
    ordered = sorted(tiers, key=lambda tier: tier.after_parts)
    expected: dict[int, list[Fraction | int]] = {}
    number = 0
    for parts, charged in messages:
        for _ in range(parts):
            number += 1
            reached = [t for t in ordered if number > t.after_parts]
            if reached:
                line = expected.setdefault(reached[-1].after_parts, [Fraction(0), 0])
                line[0] += Fraction(charged, parts)
                line[1] += 1
    discounts = {tier.after_parts: tier.discount for tier in tiers}
    invoice = await billing.invoices.issue(account, DECEMBER, now=NEW_YEAR)
    assert isinstance(invoice.document, InvoiceDocument)
    assert invoice.document.rebates == [
        RebateLine(
            after_parts=after,
            discount=discounts[after],
            parts=int(parts),
            charged=round(charged),
            amount=round(charged * discounts[after] / 10_000),
        )
        for after, (charged, parts) in sorted(expected.items())
    ]
    assert invoice.subtotal == sum(c for _, c in messages) - invoice.document.rebate


async def test_an_invoice_waits_for_the_persister_to_pass_the_periods_end(
    billing: Billing, database_url: str
) -> None:
    account = billing.account()
    await billing.charged(account, 1, day(1), 1, 10_000)
    through = [DECEMBER.end - timedelta(minutes=1)]

    async def persisted() -> datetime:
        return through[0]

    invoices = Invoices(database_url, billing.lookup, billing._rebate, persisted)
    try:
        with pytest.raises(NotPersisted, match="issue once the persister has caught up") as e:
            await invoices.issue(account, DECEMBER, now=NEW_YEAR)
        assert e.value.code == "not_persisted"
        through[0] = DECEMBER.end
        assert (await invoices.issue(account, DECEMBER, now=NEW_YEAR)).subtotal == 10_000
    finally:
        await invoices.close()
