"""The portal's protection pages: the account's own opt-out list (search,
add, remove), by the calls of ``/v1/opt-outs`` (`OptOut.add`, `OptOut.entry`,
`OptOut.remove`); and its Verify statistics (`Verifier.stats`).

As on the v1 API, a number that opted out by text (a stop keyword) stays on
the list: only the recipient or the admin may take it off."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import page, require_own_account
from engine import AccountConfig, BadNumber, Engine, OptOut, OptOutEntry, VerifyDay, check_number

SHOWN_ROWS = 200
"""Entries a page shows; a search narrows a longer list."""
PERIODS = (7, 30, 90)
"""Days the Verify page offers."""
_SOURCES = {"mo": "stop keyword", "api": "you", "admin": "the operator", "import": "import"}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _added(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M")


async def _listed(optout: OptOut, account: str, search: str) -> tuple[list[OptOutEntry], bool]:
    """Up to `SHOWN_ROWS` entries holding ``search`` (digits), and whether there are more."""
    found: list[OptOutEntry] = []
    async for entries in optout.store.entries(account):
        found += [entry for entry in entries if search in entry.number]
        if len(found) > SHOWN_ROWS:
            return found[:SHOWN_ROWS], True
    return found, False


async def _optouts_page(
    request: Request, account: AccountConfig, context: dict[str, object], status: int = 200
) -> Response:
    optout = _engine(request).protection.optout
    search = "".join(char for char in request.query_params.get("q", "") if char.isdigit())[:15]
    values: dict[str, object] = {
        "search": search,
        "errors": {},
        "values": {},
        "added": _added,
        "sources": _SOURCES,
        **context,
    }
    if optout is None:
        return render(request, "portal_protection.html", {**values, "no_lists": True}, 503)
    try:
        values["entries"], values["more"] = await _listed(optout, account.id, search)
    except RedisError:
        return render(request, "portal_protection.html", {**values, "unavailable": True}, 503)
    return render(request, "portal_protection.html", values, status)


@page
async def optouts(request: Request) -> Response:
    """GET lists (``?q=`` searches); POST adds the form's number."""
    _, account = await require_own_account(request)
    if request.method == "GET":
        return await _optouts_page(request, account, {})
    form = await request.form()
    given = str(form.get("number", "")).strip().replace(" ", "")
    optout = _engine(request).protection.optout
    error = None
    try:
        number = check_number(given)
        if optout is None:
            error = "Opt-out lists are not set up on this gateway."
        else:
            await optout.add(account.id, [number], "api")
    except BadNumber as exc:
        error = str(exc).removeprefix("number: ")
    except RedisError:
        error = "The opt-out lists do not answer; try again."
    if error is not None:
        context = {"errors": {"number": error}, "values": {"number": given}}
        return await _optouts_page(request, account, context, 400)
    return RedirectResponse("/portal/opt-outs", status_code=303)


@page
async def unlist(request: Request) -> Response:
    """Another account's number is not on this list: not found."""
    _, account = await require_own_account(request)
    optout = _engine(request).protection.optout
    try:
        number = check_number(request.path_params["number"])
        entry = None if optout is None else await optout.entry(account.id, number)
        if optout is None or entry is None:
            error, status = "Not on your list.", 404
        elif entry.source == "mo":
            error, status = (
                "This number sent a stop keyword: only its owner or the operator can undo it.",
                409,
            )
        else:
            await optout.remove(account.id, [number])
            return RedirectResponse("/portal/opt-outs", status_code=303)
    except BadNumber:
        error, status = "Not on your list.", 404
    except RedisError:
        error, status = "The opt-out lists do not answer; try again.", 503
    return await _optouts_page(request, account, {"errors": {"remove": error}}, status)


@page
async def verify(request: Request) -> Response:
    """``?days=`` one of `PERIODS` (7 by default)."""
    _, account = await require_own_account(request)
    verifier = _engine(request).verify
    given = request.query_params.get("days", str(PERIODS[0]))
    context: dict[str, object] = {"periods": PERIODS, "days": [], "errors": {}, "chosen": given}
    if verifier is None:
        return render(request, "portal_verify.html", {**context, "no_verify": True}, 503)
    if not given.isdigit() or int(given) not in PERIODS:
        context["errors"] = {"days": f"Choose {', '.join(map(str, PERIODS))} days."}
        return render(request, "portal_verify.html", context, 400)
    try:
        days: list[VerifyDay] = await verifier.stats(account.id, int(given))
    except RedisError:
        return render(request, "portal_verify.html", {**context, "unavailable": True}, 503)
    return render(
        request, "portal_verify.html", {**context, "days": days, "total": VerifyDay.summed(days)}
    )
