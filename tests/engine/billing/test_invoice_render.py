"""Invoices as CSV and PDF: the PDF's text read back with poppler's pdftotext."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.billing import invoice_render
from engine.billing.invoice_model import (
    CreditNoteDocument,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    Movement,
    RebateLine,
    UsageLine,
)
from engine.billing.invoice_render import invoice_csv, invoice_pdf, percent

DOCUMENT = InvoiceDocument(
    tax_name="НДС",
    tax_rate=1200,
    usage=[
        UsageLine(
            country="UZ",
            network="Beeline",
            connector="smsc-a",
            state="delivered",
            messages=3,
            parts=7,
            amount=2_200_004,
        ),
        UsageLine(
            country=None,
            network=None,
            connector="smsc-b",
            state="undeliverable",
            messages=1,
            parts=3,
            amount=900_000,
        ),
    ],
    usage_parts=10,
    usage_amount=3_100_004,
    rebates=[RebateLine(after_parts=5, discount=1050, parts=5, charged=1_500_000, amount=157_500)],
    rebate=157_500,
    rebate_reference="rebate:2026-12",
    top_ups=[
        Movement(
            at=datetime(2026, 12, 2, tzinfo=UTC),
            amount=100_000_000,
            reference="wire-1",
            reason="=HYPERLINK(evil)",
            method="bank_transfer",
            actor="admin-api",
        ),
    ],
    top_ups_amount=100_000_000,
    adjustments=[
        Movement(
            at=datetime(2026, 12, 4, tzinfo=UTC),
            amount=-2_000_000,
            reference="fix-1",
            reason="correction",
            method=None,
            actor=None,
        ),
    ],
    adjustments_amount=-2_000_000,
    subtotal=2_942_504,
    tax=353_100,
    total=3_295_604,
)


def _invoice(**changes: object) -> Invoice:
    fields: dict[str, object] = {
        "id": "INV-2027-000042",
        "series": "INV-2027",
        "number": 42,
        "kind": InvoiceKind.INVOICE,
        "account": "ташкент-sms",
        "currency": "EUR",
        "period_start": datetime(2026, 12, 1, tzinfo=UTC),
        "period_end": datetime(2027, 1, 1, tzinfo=UTC),
        "issued_at": datetime(2027, 1, 2, 8, tzinfo=UTC),
        "refers_to": None,
        "subtotal": DOCUMENT.subtotal,
        "tax": DOCUMENT.tax,
        "total": DOCUMENT.total,
        "document": DOCUMENT,
        **changes,
    }
    return Invoice(**fields)  # type: ignore[arg-type]


CREDIT_NOTE = _invoice(
    id="CN-2027-000007",
    series="CN-2027",
    number=7,
    kind=InvoiceKind.CREDIT_NOTE,
    refers_to="INV-2027-000042",
    subtotal=1_000_000,
    tax=120_000,
    total=1_120_000,
    document=CreditNoteDocument(
        refers_to="INV-2027-000042",
        reason="wrong route",
        tax_name="VAT",
        tax_rate=1200,
        subtotal=1_000_000,
        tax=120_000,
        total=1_120_000,
    ),
)


def _text_of(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode().split())


@pytest.mark.skipif(not invoice_render.DEJAVU.exists(), reason="no DejaVu Sans on this system")
def test_a_pdf_invoice_shows_every_line_and_total_in_any_script() -> None:
    pdf = invoice_pdf(_invoice())
    assert pdf.startswith(b"%PDF-")
    text = _text_of(pdf)
    for shown in (
        "Invoice INV-2027-000042",
        "Account: ташкент-sms",
        "Period: 2026-12 (UTC)",
        "Issued: 2027-01-02",
        "UZ Beeline smsc-a delivered 3 7 2.20",
        "- - smsc-b undeliverable 1 3 0.90",
        "Usage (10 parts) 3.10",
        "5 10.5% 5 1.50 -0.16",
        "Subtotal 2.94",
        "НДС 12% 0.35",
        "Total 3.30",
        "Top-ups (account movements, not billed)",
        "2026-12-02 wire-1",
        "100.00",
        "2026-12-04 fix-1 correction -2.00",
    ):
        assert shown in text, shown


def test_a_pdf_credit_note_names_its_invoice_and_reason() -> None:
    text = _text_of(invoice_pdf(CREDIT_NOTE))
    for shown in (
        "Credit note CN-2027-000007",
        "Refers to: INV-2027-000042",
        "Reason: wrong route",
        "Subtotal 1.00",
        "VAT 12% 0.12",
        "Total 1.12",
    ):
        assert shown in text, shown
    assert "Usage" not in text


def test_without_dejavu_the_core_font_shows_other_scripts_as_question_marks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(invoice_render, "DEJAVU", Path("/nonexistent/DejaVuSans.ttf"))
    text = _text_of(invoice_pdf(_invoice()))
    assert "Account: ???????-sms" in text
    assert "Total 3.30" in text


def test_the_csv_sums_to_the_stored_totals_to_the_micro_unit() -> None:
    rows = list(csv.DictReader(io.StringIO(invoice_csv(_invoice()))))
    assert {row["section"]: row["description"] for row in rows[:5]} == {
        "id": "INV-2027-000042",
        "kind": "invoice",
        "account": "ташкент-sms",
        "period": "2026-12",
        "issued_at": "2027-01-02T08:00:00+00:00",
    }
    by_section: dict[str, list[dict[str, str]]] = {}
    for row in rows[5:]:
        by_section.setdefault(row["section"], []).append(row)
    billed = by_section["usage"] + by_section["rebate"]
    subtotal = int(by_section["subtotal"][0]["amount_micro"])
    assert sum(int(row["amount_micro"]) for row in billed) == subtotal == 2_942_504
    assert by_section["usage"][1] | {"amount": "0.90"} == {
        "section": "usage", "description": "", "reference": "", "country": "",
        "network": "", "connector": "smsc-b", "state": "undeliverable", "messages": "1",
        "parts": "3", "amount": "0.90", "amount_micro": "900000", "currency": "EUR",
    }  # fmt: skip
    assert (by_section["tax"][0]["description"], by_section["tax"][0]["amount"]) == (
        "НДС 12%", "0.35",
    )  # fmt: skip
    assert by_section["total"][0]["amount_micro"] == "3295604"
    top_up = by_section["top_up"][0]
    assert top_up["description"].startswith("2026-12-02T00:00:00+00:00 =HYPERLINK")
    assert (top_up["reference"], top_up["amount"]) == ("wire-1", "100.00")
    assert by_section["adjustment"][0]["amount_micro"] == "-2000000"


def test_csv_text_a_spreadsheet_would_run_is_quoted() -> None:
    note = _invoice(
        document=CreditNoteDocument(
            refers_to="INV-2027-000042",
            reason="=cmd|' /C calc'!A0",
            tax_name="@VAT",
            tax_rate=0,
            subtotal=1,
            tax=0,
            total=1,
        ),
        kind=InvoiceKind.CREDIT_NOTE,
    )
    rows = {row["section"]: row for row in csv.DictReader(io.StringIO(invoice_csv(note)))}
    assert rows["reason"]["description"] == "'=cmd|' /C calc'!A0"
    assert rows["tax"]["description"] == "'@VAT 0%"


def test_amounts_follow_the_currency_minor_unit() -> None:
    rows = list(csv.DictReader(io.StringIO(invoice_csv(_invoice(currency="JPY")))))
    total = next(row for row in rows if row["section"] == "total")
    assert (total["amount"], total["amount_micro"]) == ("3", "3295604")


@pytest.mark.parametrize(
    ("basis_points", "shown"), [(0, "0%"), (1000, "10%"), (1950, "19.5%"), (1205, "12.05%")]
)
def test_rates_are_shown_as_percent_from_basis_points(basis_points: int, shown: str) -> None:
    assert percent(basis_points) == shown
