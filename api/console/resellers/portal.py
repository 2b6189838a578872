"""The portal's sub-accounts page, for reseller users only: the reseller's
own sub-accounts with their balances, a new one created, credit moved down
(or back up) and a markup set. Every call goes through
``engine.platform.resellers`` with the user's own account as the reseller, so
no form field can name another reseller's sub-account; the same calls as the
v1 API (docs/resellers.md), audited as ``portal:<user>``."""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.accounts.money import decimal_of, micro_units
from api.console.render import render
from api.console.session import Halt, forbidden, page, require_own_account
from engine import (
    AccountConfig,
    AdminRefused,
    Engine,
    Resellers,
    TransferIncomplete,
    TransferOutcome,
    acting_as,
)

_ID = re.compile(r"[A-Za-z0-9_.\-]{1,15}")
MAX_MARKUP = 1_000_000
"""Basis points: 10,000%."""
_FIELD_OF_REFUSAL = {"account_exists": "id", "invalid_sub_account": "id"}
_TRANSFER_REFUSALS = {
    TransferOutcome.INSUFFICIENT_BALANCE: (
        402,
        "{sub} has too little balance for this amount (its credit limit cannot be moved back).",
    ),
    TransferOutcome.BALANCE_LIMIT: (409, "The receiving balance would pass its limit."),
    TransferOutcome.UNKNOWN_ACCOUNT: (409, "The ledger does not know this account yet."),
    TransferOutcome.UNDONE: (409, "The credit was refused and given back: nothing moved."),
}
"""What the amount field says when a transfer moved nothing (NO_CREDIT names the giver)."""


def _resellers(request: Request) -> Resellers:
    engine: Engine = request.app.state.engine
    resellers = engine.platform.resellers
    if resellers is None:
        raise Halt(forbidden(request, "Resellers are not installed on this gateway."))
    return resellers


async def _reseller(request: Request) -> tuple[str, AccountConfig, Resellers]:
    """The reseller user's name, its own account and the service; 403 for anyone else."""
    user, account = await require_own_account(request)
    if user.role != "reseller" or not account.reseller:
        raise Halt(forbidden(request, "Only a reseller has sub-accounts."))
    return user.name, account, _resellers(request)


def amount_of(given: str) -> int:
    """Currency units as typed ("10", "-2.50") in micro-units; ValueError
    unless it is a non-zero amount with at most 6 decimals."""
    amount = micro_units(decimal_of(given, "10.50", "a number"))
    if not amount:
        raise ValueError("Enter an amount other than 0.")
    return amount


def markup_of(given: str) -> int:
    """A percent as typed ("25", "12.5") in basis points; ValueError unless it
    is 0 to 10,000 with at most 2 decimals."""
    points = decimal_of(given, "25", "a number") * 100
    if points != points.to_integral_value():
        raise ValueError("Enter a percent with at most 2 decimals.")
    if not 0 <= points <= MAX_MARKUP:
        raise ValueError("Enter a percent from 0 to 10000.")
    return int(points)


async def _page(
    request: Request, account: AccountConfig, context: dict[str, object], status: int = 200
) -> Response:
    resellers = _resellers(request)
    values = {
        "subs": await resellers.sub_accounts(account.id),
        "currency": resellers.currency_of(account),
        "reference": secrets.token_hex(8),
        "errors": {},
        "values": {},
        **context,
    }
    return render(request, "portal_resellers.html", values, status)


def _invalid(field: str, message: str, values: dict[str, str]) -> dict[str, object]:
    return {"errors": {field: message}, "values": values}


@page
async def sub_accounts(request: Request) -> Response:
    """GET lists the sub-accounts; POST creates one (id, markup in percent)."""
    name, account, resellers = await _reseller(request)
    if request.method == "GET":
        return await _page(request, account, {})
    form = await request.form()
    values = {key: str(form.get(key, "")).strip() for key in ("id", "markup")}
    if not _ID.fullmatch(values["id"]):
        context = _invalid("id", "1 to 15 of A-Z a-z 0-9 _ . -", values)
        return await _page(request, account, context, 400)
    try:
        markup = markup_of(values["markup"] or "0")
    except ValueError as exc:
        return await _page(request, account, _invalid("markup", str(exc), values), 400)
    try:
        with acting_as(f"portal:{name}"):
            await resellers.create(account.id, values["id"], markup=markup)
    except AdminRefused as exc:
        field = _FIELD_OF_REFUSAL.get(exc.code, "id")
        return await _page(request, account, _invalid(field, exc.detail, values), 409)
    return RedirectResponse("/portal/sub-accounts", status_code=303)


@page
async def move_credit(request: Request) -> Response:
    """Moves credit to (positive) or from (negative) one sub-account, once
    per the form's reference: a form sent twice moves it once."""
    name, account, resellers = await _reseller(request)
    form = await request.form()
    values = {key: str(form.get(key, "")).strip() for key in ("sub", "amount", "reference")}
    owned = {sub.id for sub in await resellers.sub_accounts(account.id)}
    if values["sub"] not in owned:
        context = _invalid("sub", "Choose one of your sub-accounts.", values)
        return await _page(request, account, context, 404)
    try:
        amount = amount_of(values["amount"])
    except ValueError as exc:
        return await _page(request, account, _invalid("amount", str(exc), values), 400)
    reference = values["reference"] or secrets.token_hex(8)
    try:
        with acting_as(f"portal:{name}"):
            moved = await resellers.move_credit(account.id, values["sub"], amount, reference)
    except (ValueError, TransferIncomplete) as exc:
        return await _page(request, account, _invalid("amount", str(exc), values), 409)
    if moved.outcome in (TransferOutcome.OK, TransferOutcome.DUPLICATE):
        return RedirectResponse("/portal/sub-accounts", status_code=303)
    if moved.outcome is TransferOutcome.NO_CREDIT:
        giver = "You have" if amount > 0 else f"{values['sub']} has"
        context = _invalid("amount", f"{giver} too little credit for this amount.", values)
        return await _page(request, account, context, 402)
    status, message = _TRANSFER_REFUSALS[moved.outcome]
    context = _invalid("amount", message.format(sub=values["sub"]), values)
    return await _page(request, account, context, status)


@page
async def set_markup(request: Request) -> Response:
    """A sub-account's markup, as a percent over the reseller's price."""
    name, account, resellers = await _reseller(request)
    form = await request.form()
    values = {key: str(form.get(key, "")).strip() for key in ("markup_sub", "new_markup")}
    owned = {sub.id for sub in await resellers.sub_accounts(account.id)}
    if values["markup_sub"] not in owned:
        context = _invalid("markup_sub", "Choose one of your sub-accounts.", values)
        return await _page(request, account, context, 404)
    try:
        markup = markup_of(values["new_markup"])
    except ValueError as exc:
        return await _page(request, account, _invalid("new_markup", str(exc), values), 400)
    with acting_as(f"portal:{name}"):
        await resellers.set_markup(account.id, values["markup_sub"], markup)
    return RedirectResponse("/portal/sub-accounts", status_code=303)
