"""The staff's protection pages: fraud blocks (/console/fraud) and opt-out
lists (/console/opt-outs).

They make the calls of the admin API (api/protection/fraud.py and
optout.py) on `Engine.protection`: the guard's lift, the lists' add, remove
and entry. Changes are audited as ``console:<user>``. A shard without the
feature installed says so instead of a page that cannot work.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import (
    LIFT_ALLOWANCE,
    AdminRefused,
    BadNumber,
    Engine,
    FraudGuard,
    OptOut,
    OptOutEntry,
    acting_as,
    check_number,
)

LIST_ROWS = 200
"""The most entries of a list a page shows (the CSV export has them all)."""
_PREFIX = re.compile(r"[0-9]{1,15}")
_ACCOUNT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def when(seconds: float | None) -> str:
    if not seconds:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- fraud ---------------------------------------------------------------------------


def _fraud_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """The blocks and allowances; ``errors`` by block (``account/prefix``)."""
    guard: FraudGuard | None = _engine(request).protection.fraud
    blocks = guard.blocks() if guard is not None else []
    errors = errors or {}
    shown = {f"{block.account}/{block.prefix}" for block in blocks}
    values: dict[str, object] = {
        "installed": guard is not None,
        "blocks": blocks,
        "allowances": guard.allowances() if guard is not None else [],
        "allow_for_default": f"{LIFT_ALLOWANCE:.0f}",
        "errors": errors,
        "stray_errors": [error for key, error in errors.items() if key not in shown],
        "when": when,
    }
    return render(request, "staff_protection_fraud.html", values, status)


@page
async def fraud(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    return _fraud_page(request)


@page
async def lift(request: Request) -> Response:
    """Lifts a block like ``DELETE /admin/fraud/blocks/{account}/{prefix}``:
    ``allow_for`` seconds (0: none) the automatic rules leave the prefix alone."""
    user = await require_user(request, "admin")
    guard = _engine(request).protection.fraud
    if guard is None:
        return _fraud_page(request, status=503)
    form = await request.form()
    account = str(form.get("account", ""))
    prefix = str(form.get("prefix", ""))
    given = str(form.get("allow_for", "")).strip() or f"{LIFT_ALLOWANCE:.0f}"
    key = f"{account}/{prefix}"
    try:
        allow_for = float(given)
    except ValueError:
        allow_for = math.nan
    if not math.isfinite(allow_for) or allow_for < 0:
        return _fraud_page(request, {key: "Enter a number of seconds, 0 or more."}, 400)
    if not (_ACCOUNT.fullmatch(account) and _PREFIX.fullmatch(prefix)):
        return _fraud_page(request, {key: "No such block."}, 404)
    try:
        with acting_as(f"console:{user.name}"):
            block, _ = await guard.lift(account, prefix, allow_for)
            await _engine(request).admin.audit.record(
                "fraud.lift", key, rule=block.rule, allow_for=allow_for
            )
    except AdminRefused as exc:
        return _fraud_page(request, {key: exc.detail}, 404)
    except ValueError as exc:
        return _fraud_page(request, {key: str(exc)}, 400)
    return RedirectResponse("/console/fraud", status_code=303)


# -- opt-outs ------------------------------------------------------------------------


def _list_of(request: Request, given: str) -> str | None:
    """ "" is the global list; else an account's (ValueError when unknown)."""
    if not given:
        return None
    if _engine(request).account(given) is None:
        raise ValueError("No such account.")
    return given


async def _optouts_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """A list's first entries and, on a GET with ``number``, that number's entry."""
    optout: OptOut | None = _engine(request).protection.optout
    errors = dict(errors or {})
    entries: list[OptOutEntry] = []
    found: OptOutEntry | None = None
    searched = False
    if optout is not None:
        try:
            account = _list_of(request, values.get("list", ""))
            entries = await _first_entries(optout, account)
            if values.get("number") and not errors:
                searched = True
                found = await optout.entry(account, check_number(values["number"]))
        except BadNumber as exc:
            errors["number"], status = _number_words(exc), 400
        except ValueError as exc:  # the list's account
            errors["list"], status = str(exc), 400
        except RedisError as exc:
            errors["list"], status = f"The opt-out lists do not answer: {exc}", 503
    context = {
        "installed": optout is not None,
        "values": values,
        "errors": errors,
        "entries": entries,
        "found": found,
        "searched": searched,
        "when": lambda ms: when(ms / 1000),
    }
    return render(request, "staff_protection_optouts.html", context, status)


async def _first_entries(optout: OptOut, account: str | None) -> list[OptOutEntry]:
    entries: list[OptOutEntry] = []
    async for chunk in optout.store.entries(account):
        entries += chunk
        if len(entries) >= LIST_ROWS:
            break
    return sorted(entries, key=lambda entry: entry.number)[:LIST_ROWS]


def _number_words(exc: BadNumber) -> str:
    return str(exc).partition(": ")[2] or str(exc)


@page
async def optouts(request: Request) -> Response:
    """GET: a list (``?list=``, empty: global) and a number's entry on it
    (``?number=``); POST adds a number like ``POST /admin/opt-outs/{number}``."""
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        values = {name: request.query_params.get(name, "").strip() for name in ("list", "number")}
        return await _optouts_page(request, values)
    return await _change(request, remove=False)


@page
async def remove_optout(request: Request) -> Response:
    """Takes a number off a list like ``DELETE /admin/opt-outs/{number}``."""
    return await _change(request, remove=True)


async def _change(request: Request, *, remove: bool) -> Response:
    user = await require_user(request, "admin")
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in ("list", "number")}
    optout = _engine(request).protection.optout
    if optout is None:
        return await _optouts_page(request, values, status=503)
    try:
        account = _list_of(request, values["list"])
    except ValueError as exc:
        return await _optouts_page(request, values, {"list": str(exc)}, 400)
    try:
        number = check_number(values["number"])
    except BadNumber as exc:
        return await _optouts_page(request, values, {"number": _number_words(exc)}, 400)
    target = "global" if account is None else account
    try:
        with acting_as(f"console:{user.name}"):
            if remove:
                if not await optout.remove(account, [number]):
                    errors = {"number": "This number is not on the list."}
                    return await _optouts_page(request, values, errors, 404)
                await _engine(request).admin.audit.record("opt_out.remove", target, number=number)
            else:
                await optout.add(account, [number], "admin")
                await _engine(request).admin.audit.record("opt_out.add", target, number=number)
    except RedisError as exc:
        errors = {"number": f"The opt-out lists do not answer: {exc}"}
        return await _optouts_page(request, values, errors, 503)
    query = f"?list={account}&number={number}" if account else f"?number={number}"
    return RedirectResponse(f"/console/opt-outs{query}", status_code=303)
