"""The portal's invoices: the account's invoices and credit notes, each as
PDF and CSV, by the calls of ``GET /v1/invoices/{id}`` (`Invoices.get`,
`invoice_file`). Another account's invoice is not found, as an
unknown one. Without PostgreSQL the gateway keeps no invoices, and the page
says so."""

from __future__ import annotations

import re

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from api.billing.invoices import invoice_file
from api.console.render import render
from api.console.session import page, require_own_account
from engine import MAX_INVOICE_PAGE, Invoices

_INVOICE_ID = re.compile(r"(?:INV|CN)-[0-9]{4}-[0-9]{6,18}")
_UNREACHABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
)
LIST_ROWS = min(100, MAX_INVOICE_PAGE)


def _invoices(request: Request) -> Invoices | None:
    return request.app.state.engine.billing.invoices  # type: ignore[no-any-return]


@page
async def invoices(request: Request) -> Response:
    _, account = await require_own_account(request)
    store = _invoices(request)
    if store is None:
        return render(request, "portal_billing.html", {"no_database": True, "invoices": []})
    try:
        found = await store.list(account.id, LIST_ROWS)
    except _UNREACHABLE:
        context = {"unavailable": True, "invoices": []}
        return render(request, "portal_billing.html", context, 503)
    return render(request, "portal_billing.html", {"invoices": found})


@page
async def document(request: Request) -> Response:
    """``/portal/invoices/{id}.pdf`` or ``.csv``."""
    _, account = await require_own_account(request)
    invoice_id, form = request.path_params["invoice_id"], request.path_params["form"]
    store = _invoices(request)
    invoice = None
    if store is not None and _INVOICE_ID.fullmatch(invoice_id):
        try:
            invoice = await store.get(invoice_id)
        except _UNREACHABLE:
            context = {"unavailable": True, "invoices": []}
            return render(request, "portal_billing.html", context, 503)
    if invoice is None or invoice.account != account.id or form not in ("pdf", "csv"):
        reason = "No such invoice."
        return render(request, "forbidden.html", {"reason": reason}, 404)
    return await invoice_file(invoice, form)
