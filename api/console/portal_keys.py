"""The portal's API keys: the account's own keys listed (never a key itself,
only its id and label), a new one issued and shown this once, one revoked.
The very calls of the admin console (`Engine.issue_api_key`,
`Engine.revoke_api_key`), audited as ``portal:<user>``; a revoked key is
refused by the v1 API at once on this shard, within seconds on the others."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import page, require_own_account
from engine import AccountConfig, Engine, acting_as

MAX_LABEL = 64


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def label_error(label: str) -> str | None:
    """Why a key label is refused; None when it is fine (empty is)."""
    if len(label) > MAX_LABEL:
        return f"At most {MAX_LABEL} characters."
    if any(not char.isprintable() for char in label):
        return "No control characters."
    return None


def day(seconds: int) -> str:
    """A key's Unix time as a UTC date and time; empty for 0 (never)."""
    if not seconds:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


async def _keys_page(
    request: Request, account: AccountConfig, context: dict[str, object], status: int = 200
) -> Response:
    values = {
        "keys": await _engine(request).admin.api_keys_of(account.id),
        "day": day,
        "errors": {},
        "values": {},
        **context,
    }
    return render(request, "portal_keys.html", values, status)


@page
async def keys(request: Request) -> Response:
    """GET lists the keys; POST issues one with the form's label."""
    user, account = await require_own_account(request)
    if request.method == "GET":
        return await _keys_page(request, account, {})
    form = await request.form()
    label = str(form.get("label", "")).strip()
    problem = label_error(label)
    if problem is not None:
        context = {"errors": {"label": problem}, "values": {"label": label}}
        return await _keys_page(request, account, context, 400)
    with acting_as(f"portal:{user.name}"):
        record, key = await _engine(request).issue_api_key(
            account.id, label or f"portal:{user.name}"
        )
    context = {"new_key": key, "new_key_id": record.key_id}
    return await _keys_page(request, account, context, 201)


@page
async def revoke(request: Request) -> Response:
    """Another account's key id is not found, as an unknown one."""
    user, account = await require_own_account(request)
    key_id = request.path_params["key_id"]
    with acting_as(f"portal:{user.name}"):
        revoked = await _engine(request).revoke_api_key(account.id, key_id)
    if not revoked:
        context = {"errors": {"revoke": "No such key, or revoked already."}}
        return await _keys_page(request, account, context, 404)
    return RedirectResponse("/portal/keys", status_code=303)
