"""The portal's webhook settings: the account's URL (checked as the admin
API checks it, the error next to the field), its signing secret (made here,
shown once), a signed test event with the receiver's answer, and the
delivery log. Saved through `Administration.update_account`, the admin
API's own path, audited as ``portal:<user>``."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import page, require_own_account
from engine import AccountChanges, AccountConfig, AdminRefused, Engine, acting_as

LOG_ROWS = 50
SECRET_PREFIX = "whsec_"


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def new_secret() -> str:
    """192 random bits, URL-safe: what a receiver keys its HMAC check with."""
    return SECRET_PREFIX + secrets.token_urlsafe(24)


def when(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


async def _webhooks_page(
    request: Request, account: AccountConfig, context: dict[str, object], status: int = 200
) -> Response:
    values = {
        "account": account,
        "deliveries": await _engine(request).webhook_deliveries(account.id, LOG_ROWS),
        "when": when,
        "errors": {},
        "values": {"webhook_url": account.webhook_url},
        **context,
    }
    return render(request, "portal_webhooks.html", values, status)


async def _save(request: Request, user: str, account: str, changes: AccountChanges) -> None:
    with acting_as(f"portal:{user}"):
        await _engine(request).admin.update_account(account, changes)


@page
async def webhooks(request: Request) -> Response:
    """GET shows the settings; POST sets the URL (empty: no webhook)."""
    user, account = await require_own_account(request)
    if request.method == "GET":
        return await _webhooks_page(request, account, {})
    form = await request.form()
    url = str(form.get("webhook_url", "")).strip()
    try:
        if url:
            await _engine(request).check_webhook(url)
        await _save(request, user.name, account.id, AccountChanges(webhook_url=url))
    except (ValueError, AdminRefused) as exc:
        context = {"errors": {"webhook_url": str(exc)}, "values": {"webhook_url": url}}
        return await _webhooks_page(request, account, context, 400)
    return RedirectResponse("/portal/webhooks", status_code=303)


@page
async def rotate_secret(request: Request) -> Response:
    """A new secret replaces the old at once: receivers must take it up."""
    user, account = await require_own_account(request)
    secret = new_secret()
    await _save(request, user.name, account.id, AccountChanges(webhook_secret=secret))
    updated = _engine(request).account(account.id) or account
    return await _webhooks_page(request, updated, {"new_secret": secret}, 201)


@page
async def send_test(request: Request) -> Response:
    """One signed test event now; the page shows what the receiver answered."""
    _, account = await require_own_account(request)
    try:
        probe = await _engine(request).send_test_webhook(account)
    except ValueError as exc:
        return await _webhooks_page(request, account, {"errors": {"test": str(exc)}}, 400)
    return await _webhooks_page(request, account, {"probe": probe})
