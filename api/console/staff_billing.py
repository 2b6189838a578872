"""The staff's billing pages: invoices (/console/invoices) and exchange rates
(/console/rates).

They make the calls of the admin API (api/billing/invoices.py and rates.py):
`Engine.billing.invoices` issues, lists and credits; `Administration.add_rates`
adds rate records. Changes are audited as ``console:<user>``. Invoices live in
PostgreSQL: without a database (`smsgw dev`) the page says so.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import asyncpg
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.billing.invoices import invoice_file
from api.console.accounts.money import amount_of
from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import (
    Engine,
    ExchangeRate,
    Invoice,
    InvoiceRefused,
    Invoices,
    RateConflict,
    RateIssues,
    acting_as,
    month,
    parse_rates_csv,
)

INVOICE_ROWS = 50
_INVOICE_ID = re.compile(r"(?:INV|CN)-[0-9]{4}-[0-9]{6,18}")
_ACCOUNT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_UNREACHABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
_REFUSAL_FIELD = {"period_not_over": "month", "not_final": "month", "not_persisted": "month"}
"""Which field an invoice refusal shows next to; any other: the account."""
_RATE_FIELDS = ("base", "quote", "rate", "valid_from")


def _engine(request: Request) -> Engine:
    return request.app.state.engine


# -- invoices ------------------------------------------------------------------------


async def _invoices_page(
    request: Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The list (``?account=`` filters, ``?cursor=`` pages) and the issue form."""
    invoices: Invoices | None = _engine(request).billing.invoices
    account = request.query_params.get("account", "").strip()
    values = {"account": account, "month": _last_month(), **(values or {})}
    found: list[Invoice] = []
    older = None
    problem = ""
    if invoices is not None:
        wanted = account if _ACCOUNT.fullmatch(account) else None
        try:
            found = await invoices.list(
                wanted, INVOICE_ROWS + 1, request.query_params.get("cursor") or None
            )
        except ValueError:
            problem = "That page link is broken: open the list again."
        except _UNREACHABLE as exc:
            problem = f"PostgreSQL does not answer: {exc}"
        if len(found) > INVOICE_ROWS:
            found = found[:INVOICE_ROWS]
            query = {"account": account} if account else {}
            older = "?" + urlencode({**query, "cursor": found[-1].id})
    context = {
        "invoices": found,
        "older": older,
        "no_database": invoices is None,
        "problem": problem,
        "values": values,
        "errors": errors or {},
    }
    return render(request, "staff_billing_invoices.html", context, status)


def _last_month() -> str:
    now = datetime.now(UTC)
    year, month_number = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month_number:02d}"


@page
async def invoices(request: Request) -> Response:
    """GET lists; POST issues one account's invoice of a month, like
    ``POST /admin/invoices {"month", "accounts": [one]}``."""
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        return await _invoices_page(request)
    user = await require_user(request, "admin")
    engine = _engine(request)
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in ("account", "month")}
    errors: dict[str, str] = {}
    if engine.billing.invoices is None:
        return await _invoices_page(request, values, status=503)
    if engine.account(values["account"]) is None:
        errors["account"] = "No such account."
    try:
        period = month(values["month"])
    except ValueError:
        errors["month"] = "Enter a month as YYYY-MM, e.g. 2026-11."
    if errors:
        return await _invoices_page(request, values, errors, 400)
    try:
        with acting_as(f"console:{user.name}"):
            invoice = await engine.billing.invoices.issue(
                values["account"], period, now=datetime.now(UTC)
            )
            await engine.admin.audit.record(
                "invoice.issue", invoice.account, id=invoice.id, period=invoice.period.label,
                total=invoice.total, currency=invoice.currency,
            )  # fmt: skip
    except InvoiceRefused as exc:
        field = _REFUSAL_FIELD.get(exc.code, "account")
        return await _invoices_page(request, values, {field: str(exc)}, 409)
    except _UNREACHABLE as exc:
        errors = {"account": f"PostgreSQL does not answer: {exc}"}
        return await _invoices_page(request, values, errors, 503)
    return RedirectResponse(f"/console/invoices/{invoice.id}", status_code=303)


async def _invoice_page(
    request: Request, invoice: Invoice, context: dict[str, object], status: int = 200
) -> Response:
    values = {"invoice": invoice, "errors": {}, "values": {}, **context}
    return render(request, "staff_billing_invoice.html", values, status)


async def _find_invoice(request: Request, invoice_id: str) -> Invoice | Response:
    invoices = _engine(request).billing.invoices
    found = None
    if invoices is not None and _INVOICE_ID.fullmatch(invoice_id):
        found = await invoices.get(invoice_id)
    if found is None:
        return render(request, "forbidden.html", {"reason": "No such invoice."}, 404)
    return found


@page
async def invoice(request: Request) -> Response:
    """One invoice or credit note; ``.pdf`` or ``.csv`` after the id downloads it."""
    await require_user(request, *STAFF_ROLES)
    given: str = request.path_params["invoice_id"]
    invoice_id, _, suffix = given.partition(".")
    found = await _find_invoice(request, invoice_id)
    if isinstance(found, Response):
        return found
    if suffix in ("pdf", "csv"):
        return await invoice_file(found, suffix)
    return await _invoice_page(request, found, {})


@page
async def credit_note(request: Request) -> Response:
    """A credit note against the invoice, like ``POST /admin/invoices/{id}/credit-notes``."""
    user = await require_user(request, "admin")
    engine = _engine(request)
    found = await _find_invoice(request, request.path_params["invoice_id"])
    if isinstance(found, Response):
        return found
    assert engine.billing.invoices is not None  # found one
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in ("amount", "reason")}
    errors = {}
    try:
        amount = amount_of(values["amount"])
        if amount <= 0:
            errors["amount"] = "The amount must be more than 0."
    except ValueError as exc:
        errors["amount"] = str(exc)
    if not values["reason"]:
        errors["reason"] = "Say why the customer is credited."
    elif len(values["reason"]) > 500:
        errors["reason"] = "At most 500 characters."
    if errors:
        return await _invoice_page(request, found, {"errors": errors, "values": values}, 400)
    try:
        with acting_as(f"console:{user.name}"):
            note = await engine.billing.invoices.credit_note(
                found.id, amount, values["reason"], now=datetime.now(UTC)
            )
            await engine.admin.audit.record(
                "invoice.credit_note", note.account, id=note.id, invoice=found.id,
                total=note.total, currency=note.currency, reason=values["reason"],
            )  # fmt: skip
    except InvoiceRefused as exc:
        context = {"errors": {"amount": str(exc)}, "values": values}
        return await _invoice_page(request, found, context, 409)
    return RedirectResponse(f"/console/invoices/{note.id}", status_code=303)


# -- exchange rates ------------------------------------------------------------------


def _rates_page(request: Request, context: dict[str, object], status: int = 200) -> Response:
    records = sorted(
        _engine(request).billing.rates.records(),
        key=lambda r: (r.base, r.quote, r.valid_from),
    )
    values = {"rates": records, "errors": {}, "values": {}, "issues": [], **context}
    return render(request, "staff_billing_rates.html", values, status)


def _instant(given: str) -> datetime | str:
    """A `datetime-local` or date value, read as UTC; unreadable: returned as given."""
    try:
        at = datetime.fromisoformat(given)
    except ValueError:
        return given
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def rate_of(values: dict[str, str]) -> tuple[ExchangeRate | None, dict[str, str]]:
    """The form's record, or its issues by field."""
    valid_from = _instant(values["valid_from"])
    if isinstance(valid_from, str):
        return None, {"valid_from": "Enter a date and time, e.g. 2026-12-01T00:00 (UTC)."}
    try:
        return ExchangeRate(
            base=values["base"].upper(),
            quote=values["quote"].upper(),
            rate=values["rate"],
            valid_from=valid_from,
        ), {}
    except RateIssues as exc:
        errors: dict[str, str] = {}
        for issue in exc.issues:
            field, _, why = issue.partition(": ")
            field = field if field in _RATE_FIELDS else "rate"
            errors.setdefault(field, why or issue)
        return None, errors


async def _add_rates(request: Request, user: str, records: list[ExchangeRate]) -> str | None:
    """Adds the records as `POST /admin/exchange-rates` does; the refusal, if any."""
    admin = _engine(request).admin
    try:
        with acting_as(f"console:{user}"):
            added = await admin.add_rates(records)
            pairs = sorted({f"{record.base}->{record.quote}" for record in records})
            await admin.audit.record(
                "exchange_rates.add", "exchange-rates", added=added, pairs=pairs
            )
    except RateConflict as exc:
        return f"Another rate is held for that pair and instant: {exc}"
    return None


@page
async def rates(request: Request) -> Response:
    """GET lists the records; POST adds one (the form's fields)."""
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        return _rates_page(request, {})
    user = await require_user(request, "admin")
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in _RATE_FIELDS}
    record, errors = rate_of(values)
    if record is None:
        return _rates_page(request, {"values": values, "errors": errors}, 400)
    refused = await _add_rates(request, user.name, [record])
    if refused is not None:
        return _rates_page(request, {"values": values, "errors": {"rate": refused}}, 409)
    return RedirectResponse("/console/rates", status_code=303)


@page
async def import_rates(request: Request) -> Response:
    """A CSV file (``file``) or pasted text (``csv``) with the header
    ``base,quote,rate,valid_from``: all or none, each issue by its line."""
    user = await require_user(request, "admin")
    form = await request.form()
    upload = form.get("file")
    text = str(form.get("csv", ""))
    try:
        if upload is not None and not isinstance(upload, str):
            text = (await upload.read()).decode() or text
    except UnicodeDecodeError:
        return _rates_page(request, {"issues": ["The file is not UTF-8."]}, 400)
    finally:
        await form.close()  # the upload's temporary file
    if not text.strip():
        return _rates_page(request, {"issues": ["Choose a CSV file or paste its lines."]}, 400)
    try:
        records = parse_rates_csv(text)
    except RateIssues as exc:
        return _rates_page(request, {"issues": list(exc.issues)}, 400)
    except ValueError as exc:  # more than MAX_CSV_ROWS rows
        return _rates_page(request, {"issues": [str(exc)]}, 400)
    refused = await _add_rates(request, user.name, records)
    if refused is not None:
        return _rates_page(request, {"issues": [refused]}, 409)
    return RedirectResponse("/console/rates", status_code=303)
