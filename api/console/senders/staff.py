"""The staff's sender-ID queue: every sender ID, what waits for a decision
first, with approve and reject (a reason required, shown next to its field)
for admins; support users read it. Decisions go through
`api.platform.senders` (`approve_sender`, `reject_sender`), the admin API's
own calls, audited as ``console:<user>``."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from api.platform.senders import approve_sender, reject_sender
from api.problems import Problem
from engine import SENDER_STATES, Engine, InvalidSender, SenderRefused, acting_as

QUEUE = "/console/sender-ids"


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def when(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M") if millis else ""


async def _queue_page(
    request: Request, context: dict[str, object] | None = None, status: int = 200
) -> Response:
    registry = _engine(request).platform.senders
    given = request.query_params.get("state", "")
    state = next((known for known in SENDER_STATES if known == given), None)
    values: dict[str, object] = {
        "states": SENDER_STATES,
        "state": state or "",
        "errors": {},
        "values": {},
        "failed": None,
        "when": when,
        **(context or {}),
    }
    if registry is None:
        return render(request, "staff_senders.html", {**values, "installed": False}, 503)
    entries = await registry.entries(state)
    return render(
        request, "staff_senders.html", {**values, "installed": True, "entries": entries}, status
    )


@page
async def queue(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    return await _queue_page(request)


async def _decision(request: Request) -> tuple[str, dict[str, str]]:
    """The user acting, and the form's account, sender and reason."""
    user = await require_user(request, "admin")
    form = await request.form()
    fields = {name: str(form.get(name, "")).strip() for name in ("account", "sender", "reason")}
    return f"console:{user.name}", fields


@page
async def approve(request: Request) -> Response:
    """Approves a row's sender, or one the register form names."""
    actor, fields = await _decision(request)
    engine = _engine(request)
    if engine.account(fields["account"]) is None:
        return await _queue_page(
            request, {"errors": {"account": "No such account."}, "values": fields}, 400
        )
    try:
        with acting_as(actor):
            await approve_sender(engine, engine.admin, fields["account"], fields["sender"])
    except (InvalidSender, SenderRefused, Problem, RedisError) as exc:
        context = {"errors": {"sender": _words(exc)}, "values": fields}
        return await _queue_page(request, context, 400)
    return RedirectResponse(QUEUE, status_code=303)


@page
async def reject(request: Request) -> Response:
    """Rejects a row's sender; the error, if any, shows next to that row's reason."""
    actor, fields = await _decision(request)
    engine = _engine(request)
    error = "" if fields["reason"] else "Say why: the customer sees it."
    if not error:
        try:
            with acting_as(actor):
                await reject_sender(
                    engine, engine.admin, fields["account"], fields["sender"], fields["reason"]
                )
        except (InvalidSender, SenderRefused, Problem, RedisError) as exc:
            error = _words(exc)
    if error:
        context = {"errors": {"reason": error}, "failed": (fields["account"], fields["sender"])}
        return await _queue_page(request, context, 400)
    return RedirectResponse(QUEUE, status_code=303)


def _words(exc: Exception) -> str:
    if isinstance(exc, SenderRefused):
        return exc.detail
    if isinstance(exc, Problem):
        return exc.detail or exc.title
    return str(exc)
