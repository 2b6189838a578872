"""The customer portal: balance, sending with a live quote, and the message
history. A customer user sees its own account only: every call names
``user.account``, never an account taken from the request."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.senders.portal import send_senders
from api.console.session import page, require_own_account
from api.console.staff_messages import search_of
from api.numbers import InvalidNumber, international, refusal
from engine import AccountConfig, Engine, SendItem
from ledger.message_query import MAX_PAGE, MessageRecord

PORTAL_SENDER = "smsgw"
"""The sender of portal messages of an account with no approved or default
sender (the send form offers those: `send_senders`)."""
HISTORY_ROWS = 50
CSV_ROWS = MAX_PAGE
_MAX_TEXT = 255 * 153


def _engine(request: Request) -> Engine:
    return request.app.state.engine


async def _customer(request: Request) -> AccountConfig:
    """The logged-in customer's (or reseller's) own account: never one named by the request."""
    _, account = await require_own_account(request)
    return account


@page
async def home(request: Request) -> Response:
    account = await _customer(request)
    balance = await _engine(request).balance(account.id)
    return render(request, "portal.html", {"account": account, "balance": balance})


def _item(
    to: str, text: str, sender: str = PORTAL_SENDER
) -> tuple[SendItem | None, dict[str, str]]:
    errors = {}
    if not text:
        errors["text"] = "Write the message."
    elif len(text) > _MAX_TEXT:
        errors["text"] = f"At most {_MAX_TEXT} characters."
    number, wrong = recipient(to)
    if wrong:
        errors["to"] = wrong
    if errors:
        return None, errors
    return SendItem(to=number, sender=sender, text=text), {}


def recipient(to: str) -> tuple[str, str]:
    """The number as typed in international form, or "" and why it is not one."""
    try:
        return international(to), ""
    except InvalidNumber as exc:
        return "", refusal("to", to, exc) if to else "Enter the recipient's number."


_SEND_FIELDS = ("to", "text", "sender")


@page
async def send(request: Request) -> Response:
    """GET shows the form, prefilled from ``?to=&text=&sender=`` (other pages
    link to it); POST sends from one of the account's senders."""
    account = await _customer(request)
    senders = send_senders(_engine(request), account, PORTAL_SENDER)
    if request.method == "GET":
        values = {name: request.query_params.get(name, "") for name in _SEND_FIELDS}
        return render(request, "send.html", {"errors": {}, "values": values, "senders": senders})
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in _SEND_FIELDS}
    values["to"] = values["to"].strip()
    values["sender"] = values["sender"] or senders[0]  # no field: the first choice
    item, errors = _item(values["to"], values["text"], values["sender"])
    if values["sender"] not in senders:
        errors["sender"] = "Choose one of your senders."
        item = None
    if item is not None:
        results, _ = await _engine(request).send(account, [item])
        if results[0].accepted:
            return RedirectResponse("/portal/messages", status_code=303)
        field = "sender" if results[0].refusal == "sender_not_approved" else "to"
        errors = {field: results[0].detail or results[0].refusal}
    context = {"errors": errors, "values": values, "senders": senders}
    return render(request, "send.html", context, 400)


@page
async def quote_fragment(request: Request) -> Response:
    """Parts and price of the form's message, as `Engine.quote` (Jasmin's /rate) says."""
    account = await _customer(request)
    to = request.query_params.get("to", "").strip()
    text = request.query_params.get("text", "")
    item, errors = _item(to, text)
    quote = _engine(request).quote(account, item, handset=True) if item is not None else None
    return render(request, "_quote.html", {"quote": quote, "errors": errors})


_SEARCH_FIELDS = ("id", "number", "from", "to")


class History(NamedTuple):
    """A page of the account's history as the search form asks for it."""

    rows: list[MessageRecord]
    values: dict[str, str]
    errors: dict[str, str]
    query: str
    """The search as a query string (for the live list, the CSV and "Older")."""
    older: str | None = None


async def _history(request: Request, account: str, limit: int) -> History:
    """The staff's search (`search_of`, `Engine.search_messages`), always
    limited to ``account``: the form cannot name another one."""
    values = {name: request.query_params.get(name, "").strip() for name in _SEARCH_FIELDS}
    query = urlencode({name: value for name, value in values.items() if value})
    search, errors = search_of({**values, "account": ""})
    if search is None:
        return History([], values, errors, query)
    search = msgspec.structs.replace(search, account=account)
    cursor = request.query_params.get("cursor") or None
    try:
        found = await _engine(request).search_messages(search, cursor, limit)
    except ValueError:
        return History([], values, {"id": "That page link is broken: search again."}, query)
    if found is None:
        return History([], values, {}, query)
    older = None
    if found.next_cursor is not None:
        older = "?" + urlencode({**dict(parse_qsl(query)), "cursor": found.next_cursor})
    return History(found.items, values, {}, query, older)


@page
async def messages(request: Request) -> Response:
    account = await _customer(request)
    history = await _history(request, account.id, HISTORY_ROWS)
    context = {"messages": history.rows, "history": history, "when": _when}
    return render(request, "messages.html", context, 400 if history.errors else 200)


@page
async def messages_fragment(request: Request) -> Response:
    account = await _customer(request)
    history = await _history(request, account.id, HISTORY_ROWS)
    return render(request, "_messages.html", {"messages": history.rows, "when": _when})


@page
async def messages_csv(request: Request) -> Response:
    """The search's messages (the newest `CSV_ROWS`), as the page shows them."""
    account = await _customer(request)
    history = await _history(request, account.id, CSV_ROWS)
    if history.errors:
        return Response("\n".join(history.errors.values()), status_code=400)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["message_id", "to", "state", "parts", "price_per_part", "accepted_at"])
    for m in history.rows:
        writer.writerow(
            [m.message_id, m.destination, m.state, m.parts, m.price_per_part, _when(m.accepted_at)]
        )
    headers = {"Content-Disposition": f'attachment; filename="{account.id}-messages.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)


def _when(millis: int | None) -> str:
    if millis is None:
        return ""
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
