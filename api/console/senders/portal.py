"""The portal's sender-ID page: the account's own sender IDs (state, the
reviewer's reason), its policy, and a request form; and the senders the send
form offers. Every call names the user's own account (`require_own_account`),
by the calls of ``/v1/sender-ids`` (`api.platform.senders.request_sender`)."""

from __future__ import annotations

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.senders.staff import when
from api.console.session import page, require_own_account
from api.platform.senders import request_sender
from api.problems import Problem
from engine import AccountConfig, Engine, InvalidSender, SenderRefused

_FIELD_OF_REFUSAL = {"invalid_note": "note"}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def send_senders(engine: Engine, account: AccountConfig, fallback: str) -> list[str]:
    """The send form's choices: the default sender first, then the approved
    ones; ``fallback`` for an account that has none."""
    registry = engine.platform.senders
    approved = registry.approved_of(account.id) if registry is not None else []
    choices = [sender for sender in dict.fromkeys([account.default_sender, *approved]) if sender]
    return choices or [fallback]


async def _senders_page(
    request: Request, account: AccountConfig, context: dict[str, object], status: int = 200
) -> Response:
    registry = _engine(request).platform.senders
    values: dict[str, object] = {
        "account": account,
        "errors": {},
        "values": {},
        "when": when,
        **context,
    }
    if registry is None:
        return render(request, "portal_senders.html", {**values, "installed": False}, 503)
    entries = await registry.entries(account=account.id)
    return render(
        request, "portal_senders.html", {**values, "installed": True, "entries": entries}, status
    )


@page
async def senders(request: Request) -> Response:
    """GET lists the account's sender IDs; POST asks for one (``sender``, ``note``)."""
    user, account = await require_own_account(request)
    if request.method == "GET":
        return await _senders_page(request, account, {})
    form = await request.form()
    values = {"sender": str(form.get("sender", "")).strip(), "note": str(form.get("note", ""))}
    values["note"] = values["note"].strip()
    try:
        await request_sender(
            _engine(request), account.id, values["sender"], values["note"], f"console:{user.name}"
        )
    except InvalidSender as exc:
        errors = {"sender": str(exc).removeprefix("sender: ")}
    except SenderRefused as exc:
        errors = {_FIELD_OF_REFUSAL.get(exc.code, "sender"): exc.detail}
    except (Problem, RedisError) as exc:
        errors = {"sender": getattr(exc, "detail", "") or str(exc)}
    else:
        return RedirectResponse("/portal/sender-ids", status_code=303)
    return await _senders_page(request, account, {"errors": errors, "values": values}, 400)
