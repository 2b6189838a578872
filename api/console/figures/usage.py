"""The portal's usage page: the account's messages per day, per state and per
operator over a window of whole UTC days, with a chart (`Engine.usage`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from api.console.render import render
from api.console.session import page, require_own_account
from engine import MAX_USAGE_DAYS, AccountConfig, Engine

DEFAULT_DAYS = 30


def _engine(request: Request) -> Engine:
    return request.app.state.engine


async def _customer(request: Request) -> AccountConfig:
    """The logged-in customer's (or reseller's) own account: never one named by the request."""
    _, account = await require_own_account(request)
    return account


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "Give a date as YYYY-MM-DD."
        return None


def usage_window(values: dict[str, str], today: date) -> tuple[date, date, dict[str, str]]:
    """The form's first and last day, defaults for the empty ones (the last
    `DEFAULT_DAYS` days), and an error per field that is wrong."""
    errors: dict[str, str] = {}
    last = _day(values["last"], "last", errors) if values["last"] else today
    first = (
        _day(values["first"], "first", errors)
        if values["first"]
        else (last or today) - timedelta(days=DEFAULT_DAYS - 1)
    )
    if first is not None and last is not None and not errors:
        if first > last:
            errors["first"] = "The first day must not be after the last."
        elif (last - first).days + 1 > MAX_USAGE_DAYS:
            errors["first"] = f"At most {MAX_USAGE_DAYS} days at once."
    return first or today, last or today, errors


@page
async def usage(request: Request) -> Response:
    account = await _customer(request)
    values = {name: request.query_params.get(name, "").strip() for name in ("first", "last")}
    first, last, errors = usage_window(values, datetime.now(UTC).date())
    found = None if errors else await _engine(request).usage(account.id, first, last)
    context = {
        "account": account,
        "values": {
            "first": values["first"] or first.isoformat(),
            "last": values["last"] or last.isoformat(),
        },
        "errors": errors,
        "usage": found,
        "currency": _engine(request).billing.currency_of(account.id),
    }
    return render(request, "portal_usage.html", context, 400 if errors else 200)
