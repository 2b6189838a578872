"""The staff's message search and one message's timeline (/console/messages).

The search reads the history across accounts (`Engine.search_messages`), the
timeline one message by id alone (`Engine.find_message`) and its webhook
attempts: the same history and delivery log the admin and v1 APIs read.
Both are read-only, so support may open them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from api.console.render import money, render
from api.console.session import STAFF_ROLES, page, require_user
from engine import DeliveryAttempt, Engine, MessageRecord, MessageSearch, MessageState

PAGE_ROWS = 50
WEBHOOK_ATTEMPTS = 50
"""The most webhook attempts a timeline shows (the delivery log keeps the latest)."""
_ACCOUNT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_NUMBER_NOISE = re.compile(r"[\s\-().]")
_FINAL = {
    MessageState.DELIVERED,
    MessageState.UNDELIVERABLE,
    MessageState.EXPIRED,
    MessageState.REJECTED,
    MessageState.DELETED,
    MessageState.FAILED,
}
_FIELDS = ("id", "number", "account", "from", "to")


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _millis(given: str) -> int:
    """A `datetime-local` value ("2026-12-06T14:30"), read as UTC, in unix ms."""
    try:
        at = datetime.fromisoformat(given)
    except ValueError:
        raise ValueError("Enter a date and time, e.g. 2026-12-06T14:30 (UTC).") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at.year < 1970:
        raise ValueError("Enter a date after 1970.")
    return int(at.timestamp() * 1000)


def search_of(values: dict[str, str]) -> tuple[MessageSearch | None, dict[str, str]]:
    """The search the form asks for, or the errors by field."""
    errors: dict[str, str] = {}
    message_id = values["id"] or None
    if message_id is not None and not _MESSAGE_ID.fullmatch(message_id):
        errors["id"] = "A message id is 1 to 64 of A-Z a-z 0-9 _ . : -"
    number = _NUMBER_NOISE.sub("", values["number"]).removeprefix("+") or None
    if number is not None and not (number.isascii() and number.isdigit() and len(number) <= 20):
        errors["number"] = "Enter the recipient's number in digits, e.g. 33612345678."
    account = values["account"] or None
    if account is not None and not _ACCOUNT.fullmatch(account):
        errors["account"] = "An account id is 1 to 64 of A-Z a-z 0-9 _ . -"
    times: dict[str, int | None] = {}
    for name in ("from", "to"):
        try:
            times[name] = _millis(values[name]) if values[name] else None
        except ValueError as exc:
            errors[name] = str(exc)
    since, until = times.get("from"), times.get("to")
    if since is not None and until is not None and since > until:
        errors["to"] = "The end is before the start."
    if errors:
        return None, errors
    search = MessageSearch(
        account=account, message_id=message_id, destination=number, since=since, until=until
    )
    return search, {}


@page
async def messages(request: Request) -> Response:
    """The search form and a page of what it finds, newest first; ``cursor``
    (from the "Older" link) resumes after the previous page."""
    await require_user(request, *STAFF_ROLES)
    values = {name: request.query_params.get(name, "").strip() for name in _FIELDS}
    cursor = request.query_params.get("cursor") or None
    search, errors = search_of(values)
    context: dict[str, object] = {"values": values, "errors": errors, "when": when}
    context |= {"rows": [], "older": None, "no_history": False}
    if search is None:
        return render(request, "staff_messages.html", context, 400)
    try:
        found = await _engine(request).search_messages(search, cursor, PAGE_ROWS)
    except ValueError:
        context["errors"] = {"id": "That page link is broken: search again."}
        return render(request, "staff_messages.html", context, 400)
    if found is None:
        context["no_history"] = True
    else:
        context["rows"] = found.items
        if found.next_cursor is not None:
            query = {name: value for name, value in values.items() if value}
            context["older"] = "?" + urlencode({**query, "cursor": found.next_cursor})
    return render(request, "staff_messages.html", context)


@dataclass(frozen=True)
class Step:
    """One line of a timeline."""

    at: int | None
    what: str
    detail: str = ""
    error_code: int | None = None


def timeline(record: MessageRecord, attempts: list[DeliveryAttempt], currency: str) -> list[Step]:
    """What happened to the message, in order: each state change the history
    keeps, what the ledger held and charged (or released), and each webhook
    attempt about it."""
    steps: list[Step] = []
    held = money(record.held, currency) if record.held is not None else None
    for change in record.events:
        parts = []
        if change.state == MessageState.ACCEPTED:
            parts.append(f"{record.parts} part(s) at {money(record.price_per_part, currency)}")
            if held is not None:
                parts.append(f"{held} held")
                held = None
        if change.connector:
            parts.append(f"connector {change.connector}")
        if change.operator_message_id:
            parts.append(f"operator id {change.operator_message_id}")
        steps.append(Step(change.at, str(change.state), ", ".join(parts), change.error_code))
    if held is not None:  # no accepted event in the history: the hold on its own
        steps.append(Step(record.accepted_at, "held", held))
    final_at = next((c.at for c in reversed(record.events) if c.state in _FINAL), None)
    if record.charged is not None:
        steps.append(Step(final_at, "charged", money(record.charged, currency)))
    if record.held and record.state in _FINAL:
        released = record.held - (record.charged or 0)
        if released > 0:
            steps.append(Step(final_at, "released", money(released, currency)))
    for attempt in sorted(attempts, key=lambda a: a.at_ms):
        status = attempt.status if attempt.status is not None else attempt.error
        detail = f"{attempt.event} to {attempt.url}: {status} ({attempt.outcome})"
        steps.append(Step(attempt.at_ms, f"webhook attempt {attempt.attempt}", detail))
    # Stable: what shares an instant keeps the order above (a state, then its money).
    return sorted(steps, key=lambda step: (step.at is None, step.at or 0))


@page
async def message(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    engine = _engine(request)
    message_id = request.path_params["message_id"]
    record = await engine.find_message(message_id) if _MESSAGE_ID.fullmatch(message_id) else None
    if record is None:
        reason = "No such message in the history (a message sent a moment ago may not be yet)."
        return render(request, "forbidden.html", {"reason": reason}, 404)
    attempts = await engine.webhook_deliveries(record.account, WEBHOOK_ATTEMPTS, message_id)
    currency = engine.billing.currency_of(record.account)
    steps = timeline(record, attempts, currency)
    context = {"m": record, "steps": steps, "when": when, "currency": currency}
    return render(request, "staff_messages_timeline.html", context)


def when(millis: int | None) -> str:
    if millis is None:
        return ""
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
