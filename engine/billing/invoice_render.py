"""An issued invoice or credit note as CSV (for machines) and PDF (for people).

Both show amounts rounded to the currency's minor unit (`format_amount`);
the CSV also carries the exact micro-units, so it sums to the stored totals.
The PDF uses DejaVu Sans when the system has it (any script an account name
or reason is written in), else the PDF core font Helvetica, which holds
latin-1 only: other characters are shown as "?".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from engine.billing.currencies import format_amount
from engine.billing.invoice_model import (
    CreditNoteDocument,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    Movement,
)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = DEJAVU.with_name("DejaVuSans-Bold.ttf")

CSV_COLUMNS = (
    "section", "description", "reference", "country", "network", "connector", "state",
    "messages", "parts", "amount", "amount_micro", "currency",
)  # fmt: skip
"""`amount` as shown (the minor unit), `amount_micro` exact; one row per line,
then the totals, then the account's movements."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TITLES = {InvoiceKind.INVOICE: "Invoice", InvoiceKind.CREDIT_NOTE: "Credit note"}


def percent(basis_points: int) -> str:
    """1000 -> "10%", 1950 -> "19.5%": exact, from the int."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") + "%"


def _text(value: str | None) -> str:
    """Free text a spreadsheet would run as a formula is quoted (CSV injection)."""
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _header(invoice: Invoice) -> list[tuple[str, str]]:
    rows = [
        ("id", invoice.id),
        ("kind", str(invoice.kind)),
        ("account", invoice.account),
        ("period", invoice.period.label),
        ("issued_at", invoice.issued_at.isoformat()),
    ]
    if isinstance(invoice.document, CreditNoteDocument):
        rows += [("refers_to", invoice.document.refers_to), ("reason", invoice.document.reason)]
    return rows


def _csv_rows(invoice: Invoice) -> Iterator[dict[str, object]]:
    currency = invoice.currency

    def money(section: str, amount: int, **fields: object) -> dict[str, object]:
        shown = format_amount(amount, currency)
        return {
            "section": section,
            "amount": shown,
            "amount_micro": amount,
            "currency": currency,
            **fields,
        }

    for section, value in _header(invoice):
        yield {"section": section, "description": _text(value)}
    document = invoice.document
    if isinstance(document, InvoiceDocument):
        for line in document.usage:
            yield money(
                "usage",
                line.amount,
                country=_text(line.country),
                network=_text(line.network),
                connector=_text(line.connector),
                state=line.state,
                messages=line.messages,
                parts=line.parts,
            )
        for tier in document.rebates:
            description = f"after {tier.after_parts} parts: {percent(tier.discount)} off"
            yield money("rebate", -tier.amount, description=description, parts=tier.parts)
    yield money("subtotal", document.subtotal)
    yield money("tax", document.tax, description=_text(_tax_label(document)))
    yield money("total", document.total)
    if isinstance(document, InvoiceDocument):
        for section, movements in (
            ("top_up", document.top_ups),
            ("adjustment", document.adjustments),
        ):
            for m in movements:
                yield money(
                    section,
                    m.amount,
                    description=_text(f"{m.at.isoformat()} {_details(m)}"),
                    reference=_text(m.reference),
                )


def invoice_csv(invoice: Invoice) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_csv_rows(invoice))
    return out.getvalue()


def _tax_label(document: InvoiceDocument | CreditNoteDocument) -> str:
    return f"{document.tax_name or 'Tax'} {percent(document.tax_rate)}"


def _details(movement: Movement) -> str:
    return ", ".join(d for d in (movement.reason, movement.method, movement.actor) if d)


class _Pdf:
    """One document's page layout: a title, facts, tables and a totals block."""

    def __init__(self, invoice: Invoice) -> None:
        self.invoice = invoice
        self.pdf = FPDF(format="A4")
        self.pdf.set_creation_date(invoice.issued_at)
        self.pdf.set_title(f"{_TITLES[invoice.kind]} {invoice.id}")
        if DEJAVU.exists():
            self.family = "DejaVu"
            self.pdf.add_font(self.family, "", DEJAVU)
            bold = DEJAVU_BOLD.exists()
            if bold:
                self.pdf.add_font(self.family, "B", DEJAVU_BOLD)
            self.clean = str
        else:
            self.family, bold = "Helvetica", True
            self.clean = _latin1
        self.headings = FontFace(emphasis="BOLD" if bold else None)
        self.bold = "B" if bold else ""
        self.pdf.add_page()

    def money(self, amount: int) -> str:
        return format_amount(amount, self.invoice.currency)

    def line(self, text: str, size: float = 10, style: str = "") -> None:
        self.pdf.set_font(self.family, style, size)
        self.pdf.cell(text=self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self) -> None:
        self.pdf.ln(4)

    def table(self, heading: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A titled table; amounts (the last column) right-aligned."""
        self.line(heading, 11, self.bold)
        self.pdf.set_font(self.family, "", 9)
        align = ("LEFT",) * (len(columns) - 1) + ("RIGHT",)
        with self.pdf.table(text_align=align, headings_style=self.headings) as table:
            for cells in (columns, *rows):
                row = table.row()
                for cell in cells:
                    row.cell(self.clean(cell))
        self.gap()

    def totals(self, rows: Sequence[tuple[str, int]]) -> None:
        self.pdf.set_font(self.family, self.bold, 10)
        for label, amount in rows:
            self.pdf.cell(w=140, text=self.clean(label))
            self.pdf.cell(
                w=0, text=self.money(amount), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        self.gap()

    def render(self) -> bytes:
        invoice = self.invoice
        self.line(f"{_TITLES[invoice.kind]} {invoice.id}", 16, self.bold)
        self.gap()
        for label, value in (
            ("Account", invoice.account),
            ("Period", f"{invoice.period.label} (UTC)"),
            ("Issued", invoice.issued_at.date().isoformat()),
            ("Currency", invoice.currency),
        ):
            self.line(f"{label}: {value}")
        self.gap()
        document = invoice.document
        if isinstance(document, InvoiceDocument):
            self.invoice_body(document)
        else:
            self.line(f"Refers to: {document.refers_to}")
            self.line(f"Reason: {document.reason}")
            self.gap()
        self.totals(
            [
                ("Subtotal", document.subtotal),
                (_tax_label(document), document.tax),
                ("Total", document.total),
            ]
        )
        if isinstance(document, InvoiceDocument):
            self.movements(document)
        return bytes(self.pdf.output())

    def invoice_body(self, document: InvoiceDocument) -> None:
        self.table(
            "Usage",
            ("Country", "Network", "Connector", "State", "Messages", "Parts", "Amount"),
            [
                (
                    u.country or "-",
                    u.network or "-",
                    u.connector or "-",
                    u.state,
                    str(u.messages),
                    str(u.parts),
                    self.money(u.amount),
                )
                for u in document.usage
            ],
        )
        self.totals([(f"Usage ({document.usage_parts} parts)", document.usage_amount)])
        if document.rebates:
            self.table(
                "Volume rebate",
                ("After parts", "Discount", "Parts", "Charged", "Rebate"),
                [
                    (
                        str(r.after_parts),
                        percent(r.discount),
                        str(r.parts),
                        self.money(r.charged),
                        self.money(-r.amount),
                    )
                    for r in document.rebates
                ],
            )
            self.totals([("Volume rebate", -document.rebate)])

    def movements(self, document: InvoiceDocument) -> None:
        """Shown beside the bill, not in it (engine.billing.invoices)."""
        for heading, movements in (
            ("Top-ups", document.top_ups),
            ("Adjustments", document.adjustments),
        ):
            if movements:
                self.table(
                    f"{heading} (account movements, not billed)",
                    ("Date", "Reference", "Details", "Amount"),
                    [
                        (
                            m.at.date().isoformat(),
                            m.reference or "-",
                            _details(m),
                            self.money(m.amount),
                        )
                        for m in movements
                    ],
                )


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: Invoice) -> bytes:
    return _Pdf(invoice).render()
