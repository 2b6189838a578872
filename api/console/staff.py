"""The console's pages for staff: accounts, their settings and prices,
top-ups and API keys. Every change goes through `Administration` (or
`Engine.issue_api_key`), the very calls of the admin API, audited as
``console:<user>``."""

from __future__ import annotations

import asyncio
import re
import secrets

import msgspec
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.accounts.money import amount_of
from api.console.accounts.prices import tariffs_of
from api.console.accounts.settings_form import REFUSAL_FIELDS, changes_of, form_values, submitted
from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import AdminRefused, Engine, NewAccount, acting_as

_FIELD = re.compile(r"at `\$\.(\w+)`")
_REFUSAL_FIELD = {"account_exists": "id"}
_HINTS = {
    "id": "1 to 15 of A-Z a-z 0-9 _ . - (also the SMPP system_id).",
    "password": "1 to 8 printable ASCII characters, or none.",
}
_ADJUST_ERRORS = {
    "no_credit": "The debit exceeds the available credit.",
    "balance_limit": "The balance would leave its range.",
    "unknown_account": "The ledger does not know this account.",
}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


async def _accounts_page(
    request: Request, errors: dict[str, str], values: dict[str, str], status: int = 200
) -> Response:
    engine = _engine(request)
    accounts = await engine.admin.accounts()
    balances = await asyncio.gather(*(engine.balance(a.id) for a in accounts))
    context = {
        "accounts": accounts,
        "balances": dict(zip([a.id for a in accounts], balances, strict=True)),
        "errors": errors,
        "values": values,
    }
    return render(request, "accounts.html", context, status)


@page
async def accounts(request: Request) -> Response:
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        return await _accounts_page(request, {}, {})
    user = await require_user(request, "admin")
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in ("id", "password", "credit_limit")}
    try:
        credit_limit = amount_of(values["credit_limit"] or "0")
    except ValueError as exc:
        return await _accounts_page(request, {"credit_limit": str(exc)}, values, 400)
    fields = {"id": values["id"], "password": values["password"] or None}
    try:  # the admin API's field rules
        new = msgspec.convert({**fields, "credit_limit": credit_limit}, NewAccount)
    except msgspec.ValidationError as exc:
        found = _FIELD.search(str(exc))
        field = found.group(1) if found else "id"
        hint = _HINTS.get(field) or _words(str(exc))
        return await _accounts_page(request, {field: hint}, values, 400)
    try:
        with acting_as(f"console:{user.name}"):
            await _engine(request).admin.create_account(new)
    except AdminRefused as exc:
        field = _REFUSAL_FIELD.get(exc.code, "id")
        return await _accounts_page(request, {field: exc.detail}, values, 409)
    return RedirectResponse(f"/console/accounts/{new.id}", status_code=303)


def _words(error: str) -> str:
    """msgspec's message without the JSON path (the field shows it)."""
    return _FIELD.sub("", error).rstrip(" -") or "Invalid value."


async def _account_page(
    request: Request, account_id: str, context: dict[str, object], status: int = 200
) -> Response:
    engine = _engine(request)
    try:
        view = await engine.admin.account(account_id)
    except AdminRefused:
        return render(request, "forbidden.html", {"reason": "No such account."}, 404)
    values = {
        "account": view,
        "balance": await engine.balance(account_id),
        "keys": await engine.admin.api_keys_of(account_id),
        "reference": f"console-{secrets.token_hex(8)}",
        "errors": {},
        "settings": form_values(view),
        "settings_errors": {},
        "tariffs": tariffs_of(engine.admin.routing, view.id, view.groups),
        **context,
    }
    return render(request, "account.html", values, status)


@page
async def account(request: Request) -> Response:
    """GET shows the account; POST tops it up (or debits it) like
    ``POST /admin/accounts/{id}/balance/adjustments``. The form's hidden
    ``reference`` makes a double submit one adjustment, not two."""
    account_id = request.path_params["account_id"]
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        return await _account_page(request, account_id, {})
    user = await require_user(request, "admin")
    form = await request.form()
    reason = str(form.get("reason", "")).strip()
    reference = str(form.get("reference", "")) or f"console-{secrets.token_hex(8)}"
    errors = {}
    try:
        amount = amount_of(str(form.get("amount", "")))
        if amount == 0:
            errors["amount"] = "The amount must not be 0."
    except ValueError as exc:
        errors["amount"] = str(exc)
    if not reason:
        errors["reason"] = "Say why the balance changes."
    if errors:
        return await _account_page(request, account_id, {"errors": errors}, 400)
    try:
        with acting_as(f"console:{user.name}"):
            result = await _engine(request).admin.adjust(
                account_id, amount, reason=reason, reference=reference, method="other"
            )
    except (ValueError, AdminRefused, RedisError) as exc:
        return await _account_page(request, account_id, {"errors": {"amount": str(exc)}}, 400)
    problem = _ADJUST_ERRORS.get(str(result.outcome))
    if problem is not None:
        return await _account_page(request, account_id, {"errors": {"amount": problem}}, 409)
    return RedirectResponse(f"/console/accounts/{account_id}", status_code=303)


@page
async def issue_key(request: Request) -> Response:
    """A new API key, shown this once (only its digest is kept)."""
    user = await require_user(request, "admin")
    engine = _engine(request)
    account_id = request.path_params["account_id"]
    if engine.account(account_id) is None:
        return render(request, "forbidden.html", {"reason": "No such account."}, 404)
    with acting_as(f"console:{user.name}"):
        _, key = await engine.issue_api_key(account_id, f"console:{user.name}")
    return await _account_page(request, account_id, {"new_key": key}, 201)


@page
async def account_settings(request: Request) -> Response:
    """The settings form, saved like ``PATCH /admin/accounts/{id}``
    (`Administration.update_account`); unticking "enabled" disables the
    account on every shard and unbinds its binds here."""
    user = await require_user(request, "admin")
    account_id = request.path_params["account_id"]
    values = submitted(await request.form())
    try:
        shown = form_values(await _engine(request).admin.account(account_id))
    except AdminRefused:
        return render(request, "forbidden.html", {"reason": "No such account."}, 404)
    changes, errors = changes_of(values, shown)
    if changes is None:
        context = {"settings": values, "settings_errors": errors}
        return await _account_page(request, account_id, context, 400)
    if all(value is None for value in msgspec.structs.astuple(changes)):
        return RedirectResponse(f"/console/accounts/{account_id}?saved=1", status_code=303)
    try:
        with acting_as(f"console:{user.name}"):
            await _engine(request).admin.update_account(account_id, changes)
    except AdminRefused as exc:
        if exc.code == "unknown_account":
            return render(request, "forbidden.html", {"reason": "No such account."}, 404)
        field = REFUSAL_FIELDS.get(exc.code, "enabled")
        context = {"settings": values, "settings_errors": {field: exc.detail}}
        return await _account_page(request, account_id, context, 422)
    except RedisError as exc:
        context = {"settings": values, "settings_errors": {"enabled": str(exc)}}
        return await _account_page(request, account_id, context, 503)
    return RedirectResponse(f"/console/accounts/{account_id}?saved=1", status_code=303)
