"""Reading messages back: one with its history, filtered pages, and the webhook delivery log."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth import account_of
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import MAX_PAGE, DeliveryAttempt, Engine, MessageFilter, MessageRecord, MessageState

_DEFAULT_PAGE = 100


class HistoryStep(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    state: str
    at: str
    connector: str | None = None
    operator_message_id: str | None = None
    error_code: int | None = None


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    state: str
    to: str | None
    sender: str | None = msgspec.field(name="from")
    reference: str | None
    parts: int
    price_per_part: int
    """Micro-units of the account's currency."""
    held: int | None
    charged: int | None
    connector: str | None
    operator_message_id: str | None
    error_code: int | None
    accepted_at: str | None
    updated_at: str
    history: list[HistoryStep] | None = None


class MessageList(msgspec.Struct, frozen=True):
    messages: list[MessageView]
    next_cursor: str | None


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    url: str
    event: str
    attempt: int
    at: str
    status: int | None
    error: str
    outcome: str


class DeliveryList(msgspec.Struct, frozen=True):
    deliveries: list[DeliveryView]


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _json(value: object) -> Response:
    return Response(msgspec.json.encode(value), media_type="application/json")


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _view(record: MessageRecord, *, with_history: bool) -> MessageView:
    return MessageView(
        id=record.message_id,
        state=str(record.state),
        to=record.destination,
        sender=record.source,
        reference=record.reference,
        parts=record.parts,
        price_per_part=record.price_per_part,
        held=record.held,
        charged=record.charged,
        connector=record.connector,
        operator_message_id=record.operator_message_id,
        error_code=record.error_code,
        accepted_at=_time(record.accepted_at) if record.accepted_at is not None else None,
        updated_at=_time(record.updated_at),
        history=[
            HistoryStep(
                state=str(step.state),
                at=_time(step.at),
                connector=step.connector,
                operator_message_id=step.operator_message_id,
                error_code=step.error_code,
            )
            for step in record.events
        ]
        if with_history
        else None,
    )


def _invalid(detail: str) -> Problem:
    return Problem(400, "invalid_request", "Invalid request", detail)


def _limit(request: Request, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return min(_DEFAULT_PAGE, maximum)
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise _invalid(f"limit must be an integer in 1..{maximum}")
    return int(raw)


def _instant(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"{name} must be an RFC 3339 time, e.g. 2026-11-21T10:00:00Z") from None
    if moment.tzinfo is None:
        raise _invalid(f"{name} must say its offset (Z for UTC)")
    return max(0, int(moment.timestamp() * 1000))


async def get_message(request: Request) -> Response:
    account = await account_of(request)
    message_id = request.path_params["message_id"]
    record = (
        await _engine(request).message(account.id, message_id) if len(message_id) <= 64 else None
    )
    if record is None:
        raise Problem(404, "message_not_found", "No such message", f"no message {message_id!r}")
    return _json(_view(record, with_history=True))


async def list_messages(request: Request) -> Response:
    account = await account_of(request)
    query = request.query_params
    unknown = set(query) - {"state", "since", "until", "to", "reference", "cursor", "limit"}
    if unknown:
        raise _invalid(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    state = query.get("state")
    if state is not None and state not in MessageState.__members__.values():
        raise _invalid(f"state must be one of {', '.join(s.value for s in MessageState)}")
    try:
        wanted = MessageFilter(
            state=MessageState(state) if state is not None else None,
            since=_instant(request, "since"),
            until=_instant(request, "until"),
            destination=query.get("to"),
            reference=query.get("reference"),
        )
        page = await _engine(request).messages(
            account.id, wanted, query.get("cursor"), _limit(request, MAX_PAGE)
        )
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    if page is None:
        raise Problem(
            503, "history_unavailable", "No message history", "this shard keeps no history"
        )
    return _json(MessageList([_view(r, with_history=False) for r in page.items], page.next_cursor))


async def list_deliveries(request: Request) -> Response:
    account = await account_of(request)
    message_id = request.query_params.get("message_id")
    entries: list[DeliveryAttempt] = await _engine(request).webhook_deliveries(
        account.id, _limit(request, 1_000), message_id
    )
    return _json(
        DeliveryList(
            [
                DeliveryView(
                    message_id=e.message_id,
                    url=e.url,
                    event=e.event,
                    attempt=e.attempt,
                    at=_time(e.at_ms),
                    status=e.status,
                    error=e.error,
                    outcome=str(e.outcome),
                )
                for e in entries
            ]
        )
    )


routes: list[BaseRoute] = [
    Route("/v1/messages/{message_id}", get_message, methods=["GET"]),
    Route("/v1/messages", list_messages, methods=["GET"]),
    Route("/v1/webhooks/deliveries", list_deliveries, methods=["GET"]),
]

_LIMIT = Parameter(name="limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_PAGE})
OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path="/v1/messages/{message_id}",
        summary="One message with its state history, parts, price, operator and error",
        tag="messages",
        operation_id="getMessage",
        parameters=(Parameter(name="message_id", location="path", required=True),),
        responses={200: MessageView, 401: "problem", 404: "problem"},
    ),
    Operation(
        method="GET",
        path="/v1/messages",
        summary="The account's messages, newest first, filtered, with a cursor",
        tag="messages",
        operation_id="listMessages",
        parameters=(
            Parameter(
                name="state", schema={"type": "string", "enum": [s.value for s in MessageState]}
            ),
            Parameter(name="since", schema={"type": "string", "format": "date-time"}),
            Parameter(name="until", schema={"type": "string", "format": "date-time"}),
            Parameter(name="to", description="The recipient, as accepted."),
            Parameter(name="reference"),
            Parameter(name="cursor", description="next_cursor of the previous page."),
            _LIMIT,
        ),
        responses={200: MessageList, 400: "problem", 401: "problem", 503: "problem"},
    ),
    Operation(
        method="GET",
        path="/v1/webhooks/deliveries",
        summary="The webhook delivery log, newest first",
        tag="webhooks",
        operation_id="listWebhookDeliveries",
        parameters=(Parameter(name="message_id"), _LIMIT),
        responses={200: DeliveryList, 400: "problem", 401: "problem"},
    ),
]
