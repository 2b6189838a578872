"""Invoices over HTTP: an account reads its own; the admin issues and credits them.

docs/billing.md, "Invoices". Amounts are ints of micro-units of the
invoice's `currency`; the PDF and CSV also show them rounded to its minor unit.

- ``GET /v1/invoices`` (``limit``, ``cursor``): the caller's invoices and
  credit notes, newest first; ``next_cursor`` asks for the next page.
- ``GET /v1/invoices/{id}``: JSON; ``{id}.pdf`` or ``Accept: application/pdf``
  the PDF, ``{id}.csv`` or ``Accept: text/csv`` the CSV. Another account's
  invoice is a 404, like one that does not exist.
- ``POST /admin/invoices`` ``{"month": "2026-12"}`` or ``{"start", "end"}``,
  and ``"accounts"`` (default: every account): issues each; 201 when any was
  issued, else 200, listing what was issued and what was refused and why.
  Naming one account answers as that account's issue: its refusal is the
  problem (409 ``already_issued``, ``not_final``, ``period_not_over``; 404
  ``unknown_account``).
- ``GET /admin/invoices`` (``account``, ``limit``, ``cursor``).
- ``POST /admin/invoices/{id}/credit-notes`` ``{"amount", "reason"}``: 201
  the credit note; 422 ``credit_exceeded`` when the amount is beyond what
  earlier credit notes left of the invoice's total.

A shard without PostgreSQL answers 503 ``no_database``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import asyncpg
import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import (
    AUTH_PROBLEMS,
    Reason,
    admin_endpoint,
    admin_operation,
    check_json,
    json,
)
from api.auth import account_of
from api.openapi import Operation, Parameter
from api.problems import Problem, pattern_words, readable
from engine import (
    MAX_AMOUNT,
    Administration,
    AlreadyIssued,
    Invoice,
    InvoiceRefused,
    Invoices,
    NotFinal,
    Period,
    invoice_csv,
    invoice_pdf,
    month,
)
from engine import MAX_INVOICE_PAGE as MAX_PAGE

_DEFAULT_PAGE = 100
_INVOICE_ID = re.compile(r"(?:INV|CN)-[0-9]{4}-[0-9]{6,18}")
_FIELD = re.compile(r"at `\$\.([A-Za-z_]+)|unknown field `([^`]{1,40})`")
_UNREACHABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
)
_STATUS_OF_REFUSAL = {
    "unknown_account": 404,
    "unknown_invoice": 404,
    "credit_exceeded": 422,
}
"""Any other refusal conflicts with what is issued or still open: 409."""

AccountId = Annotated[
    str,
    Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="1 to 64 of A-Z a-z 0-9 _ . -"),
]


Month = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$(?!\n)",
        description="A month as YYYY-MM (UTC), e.g. 2026-12.",
    ),
]
Instant = Annotated[datetime, Meta(tz=True, description="RFC 3339 with an offset.")]


class IssueRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    month: Month | None = None
    """Or `start` and `end`."""
    start: Instant | None = None
    end: Instant | None = None
    """Excluded: the period is [start, end)."""
    accounts: list[AccountId] | None = None
    """None: every account."""


class CreditNoteRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: Annotated[
        int, Meta(ge=1, le=MAX_AMOUNT, description="Micro-units, tax included; at least 1.")
    ]
    reason: Reason


class InvoiceList(msgspec.Struct, frozen=True):
    invoices: list[Invoice]
    next_cursor: str | None


class IssueRefusal(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    code: str
    detail: str


class IssueReport(msgspec.Struct, frozen=True, kw_only=True):
    issued: list[Invoice]
    refused: list[IssueRefusal]


def _invoices(request: Request) -> Invoices:
    invoices: Invoices | None = request.app.state.engine.billing.invoices
    if invoices is None:
        raise Problem(503, "no_database", "No database", "this shard has no PostgreSQL")
    return invoices


def _field(name: str, detail: str) -> Problem:
    return Problem(422, "invalid_field", f"Invalid {name}", detail, field=name)


def _problem(refusal: InvoiceRefused) -> Problem:
    extra: dict[str, object] = {}
    if isinstance(refusal, AlreadyIssued):
        extra["invoice_id"] = refusal.invoice_id
    elif isinstance(refusal, NotFinal):
        extra["open_messages"] = refusal.open_messages
    elif refusal.code == "credit_exceeded":
        extra["field"] = "amount"
    status = _STATUS_OF_REFUSAL.get(refusal.code, 409)
    title = refusal.code.replace("_", " ").capitalize()
    return Problem(status, refusal.code, title, refusal.detail, **extra)


Endpoint = Callable[[Request], Awaitable[Response]]


def _billing_endpoint(endpoint: Endpoint) -> Endpoint:
    """Refusals become their problems; a database that does not answer a 503."""

    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except InvoiceRefused as exc:
            raise _problem(exc) from exc
        except _UNREACHABLE as exc:
            raise Problem(
                503, "database_unavailable", "PostgreSQL does not answer", str(exc)
            ) from exc

    return wrapped


T = TypeVar("T")


async def _body(request: Request, kind: type[T]) -> T:
    """A JSON body: malformed JSON is a 400, a field of the wrong shape a 422 naming it."""
    check_json(request)
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.ValidationError as exc:
        found = _FIELD.search(str(exc))
        name = (found[1] or found[2]) if found else "body"
        raise _field(name, readable(str(exc), pattern_words(kind))) from exc
    except msgspec.DecodeError as exc:
        raise Problem(400, "invalid_request", "Invalid request", str(exc)) from exc


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return _DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise Problem(
            400, "invalid_request", "Invalid request", f"limit must be an integer in 1..{MAX_PAGE}"
        )
    return int(raw)


async def _page(request: Request, account: str | None) -> Response:
    """A page of the list and the cursor after it: one more is read to know."""
    limit = _limit(request)
    try:
        found = await _invoices(request).list(
            account, limit + 1, request.query_params.get("cursor")
        )
    except ValueError as exc:
        raise Problem(400, "invalid_request", "Invalid request", f"cursor: {exc}") from None
    page = found[:limit]
    return json(InvoiceList(page, page[-1].id if len(found) > limit else None))


def _period(body: IssueRequest) -> Period:
    if body.month is not None:
        if body.start is not None or body.end is not None:
            raise _field("month", "give month, or start and end, not both")
        try:
            return month(body.month)
        except ValueError as exc:
            raise _field("month", str(exc)) from None
    if body.start is None or body.end is None:
        raise _field("month", "month (YYYY-MM), or start and end, is required")
    if not body.start < body.end:
        raise _field("end", "end must be after start")
    return Period(body.start, body.end)


def _wanted(invoice_id: str, accept: str) -> tuple[str, str]:
    """(the id, "json" | "pdf" | "csv"): a suffix wins over the Accept header."""
    for suffix in ("pdf", "csv", "json"):
        if invoice_id.endswith("." + suffix):
            return invoice_id.removesuffix("." + suffix), suffix
    for media_type in (part.split(";")[0].strip() for part in accept.split(",")):
        if media_type in ("application/pdf", "text/csv", "application/json"):
            return invoice_id, media_type.rpartition("/")[2]
    return invoice_id, "json"


async def _document(invoice: Invoice, form: str) -> Response:
    if form == "json":
        return json(invoice)
    return await invoice_file(invoice, form, attachment=form == "csv")


async def invoice_file(invoice: Invoice, form: str, *, attachment: bool = True) -> Response:
    """The invoice as ``form`` "pdf" or "csv", to save (``attachment``) or to
    show. A PDF takes about 0.1 s of CPU to render: off the shard's event loop."""
    disposition = f'{"attachment" if attachment else "inline"}; filename="{invoice.id}.{form}"'
    headers = {"Content-Disposition": disposition}
    if form == "pdf":
        pdf = await asyncio.to_thread(invoice_pdf, invoice)
        return Response(pdf, media_type="application/pdf", headers=headers)
    return Response(invoice_csv(invoice), media_type="text/csv; charset=utf-8", headers=headers)


# -- the account's own -------------------------------------------------------------


@_billing_endpoint
async def list_own(request: Request) -> Response:
    account = await account_of(request)
    return await _page(request, account.id)


@_billing_endpoint
async def get_own(request: Request) -> Response:
    account = await account_of(request)
    invoice_id, form = _wanted(request.path_params["invoice_id"], request.headers.get("accept", ""))
    invoice = (
        await _invoices(request).get(invoice_id) if _INVOICE_ID.fullmatch(invoice_id) else None
    )
    if invoice is None or invoice.account != account.id:
        raise Problem(404, "unknown_invoice", "No such invoice", f"no invoice {invoice_id[:40]!r}")
    return await _document(invoice, form)


# -- admin -------------------------------------------------------------------------


@_billing_endpoint
@admin_endpoint
async def issue(request: Request, admin: Administration) -> Response:
    body = await _body(request, IssueRequest)
    period = _period(body)
    invoices, now = _invoices(request), datetime.now(UTC)
    if body.accounts is not None and len(body.accounts) == 1:
        invoice = await invoices.issue(body.accounts[0], period, now=now)
        await _audit_issued(admin, [invoice])
        return json(IssueReport(issued=[invoice], refused=[]), 201)
    accounts = (
        body.accounts if body.accounts is not None else [a.id for a in await admin.accounts()]
    )
    outcomes = await invoices.issue_all(period, accounts, now=now)
    issued = [o.invoice for o in outcomes if o.invoice is not None]
    await _audit_issued(admin, issued)
    refused = [
        IssueRefusal(account=o.account, code=o.refusal, detail=o.detail)
        for o in outcomes
        if o.invoice is None
    ]
    return json(IssueReport(issued=issued, refused=refused), 201 if issued else 200)


@_billing_endpoint
@admin_endpoint
async def list_all(request: Request, admin: Administration) -> Response:
    account = request.query_params.get("account")
    if account is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", account):
        raise Problem(400, "invalid_request", "Invalid request", "account: not an account id")
    return await _page(request, account)


@_billing_endpoint
@admin_endpoint
async def credit(request: Request, admin: Administration) -> Response:
    invoice_id = request.path_params["invoice_id"]
    if not _INVOICE_ID.fullmatch(invoice_id):
        raise Problem(404, "unknown_invoice", "No such invoice", f"no invoice {invoice_id[:40]!r}")
    body = await _body(request, CreditNoteRequest)
    note = await _invoices(request).credit_note(
        invoice_id, body.amount, body.reason, now=datetime.now(UTC)
    )
    await admin.audit.record(
        "invoice.credit_note", note.account, id=note.id, invoice=invoice_id,
        total=note.total, currency=note.currency, reason=body.reason,
    )  # fmt: skip
    return json(note, 201)


async def _audit_issued(admin: Administration, invoices: list[Invoice]) -> None:
    """Each invoice issued, in the audit log with who issued it."""
    for invoice in invoices:
        await admin.audit.record(
            "invoice.issue", invoice.account, id=invoice.id, period=invoice.period.label,
            total=invoice.total, currency=invoice.currency,
        )  # fmt: skip


routes: list[BaseRoute] = [
    Route("/v1/invoices", list_own, methods=["GET"]),
    Route("/v1/invoices/{invoice_id}", get_own, methods=["GET"]),
    Route("/admin/invoices", issue, methods=["POST"]),
    Route("/admin/invoices", list_all, methods=["GET"]),
    Route("/admin/invoices/{invoice_id}/credit-notes", credit, methods=["POST"]),
]

_PAGE = (
    Parameter(name="limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    Parameter(name="cursor", description="next_cursor of the previous page."),
)
_ID = Parameter(
    name="invoice_id",
    location="path",
    required=True,
    description="INV-2026-000042; .pdf or .csv after it for the PDF or CSV.",
)
_DOWN = {503: "problem"}
OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path="/v1/invoices",
        summary="The account's invoices and credit notes, newest first",
        tag="billing",
        operation_id="listInvoices",
        parameters=_PAGE,
        responses={200: InvoiceList, 400: "problem", 401: "problem", **_DOWN},
    ),
    Operation(
        method="GET",
        path="/v1/invoices/{invoice_id}",
        summary="One invoice or credit note: JSON, or PDF / CSV by suffix or Accept",
        tag="billing",
        operation_id="getInvoice",
        parameters=(_ID,),
        responses={200: Invoice, 401: "problem", 404: "problem", **_DOWN},
    ),
    admin_operation(
        "billing",
        "POST",
        "/admin/invoices",
        "Issue the invoices of a period",
        "issueInvoices",
        request=IssueRequest,
        responses={
            200: IssueReport,
            201: IssueReport,
            400: "problem",
            **AUTH_PROBLEMS,
            404: "problem",
            409: "problem",
            415: "problem",
            422: "problem",
            **_DOWN,
        },
    ),
    admin_operation(
        "billing",
        "GET",
        "/admin/invoices",
        "Every account's invoices, newest first",
        "listAllInvoices",
        parameters=(Parameter(name="account"), *_PAGE),
        responses={200: InvoiceList, 400: "problem", **AUTH_PROBLEMS, **_DOWN},
    ),
    admin_operation(
        "billing",
        "POST",
        "/admin/invoices/{invoice_id}/credit-notes",
        "Issue a credit note against an invoice",
        "issueCreditNote",
        parameters=(_ID,),
        request=CreditNoteRequest,
        responses={
            201: Invoice,
            400: "problem",
            **AUTH_PROBLEMS,
            404: "problem",
            409: "problem",
            415: "problem",
            422: "problem",
            **_DOWN,
        },
    ),
]
