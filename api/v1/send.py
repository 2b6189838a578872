"""The customer API v1: send messages (optionally waiting for the operator), read the balance.

Status codes, so that a client can branch on them:

- 400 ``invalid_request``: the request does not match the schema (bad JSON,
  unknown field, wrong type, text and binary together, wait without timeout...);
  ``too_many_recipients``, ``invalid_idempotency_key`` likewise. Fix the request.
- 422: well-formed, but this message cannot be sent as asked: ``no_route``,
  ``rejected`` (a routing rule), ``unencodable``, ``message_too_long``,
  ``invalid_send_at``, ``invalid_validity``, ``invalid_message``;
  ``unknown_template``, ``invalid_variables`` (a send from a template,
  `api.platform.templates`: each wrong variable named); and
  ``message_failed`` when an OTP wait ends in a final failure.
- 402 ``no_credit``; 429 ``throttled``/``quota_exceeded``/``overloaded`` (Retry-After); 403
  ``account_disabled``/``unknown_account``; 503 ``ledger_unavailable`` (Retry-After).
- 504 ``wait_timeout``: the OTP wait's deadline passed (``released`` says
  whether the message was taken out of its queue, its hold released).

A request with several recipients answers 202 listing each (accepted or
refused) as long as one was accepted; when every one is refused it answers the
problem of the first refusal. Nothing refused is ever held or sent.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth import account_of
from api.idempotency import IDEMPOTENCY_PARAMETER, answer_once
from api.numbers import InvalidNumber, international, refusal
from api.openapi import Operation
from api.platform.templates import template_text
from api.problems import Problem, pattern_words, readable
from api.rate_limits import limit_headers
from engine import AccountConfig, Balance, Callback, Engine, Priority, Reached, SendItem, SendResult

_MAX_TEXT_CHARS = 255 * 153
"""The most a concatenated GSM 7-bit message can hold (255 parts of 153)."""
_MAX_BINARY_OCTETS = 0xFFFF
"""A message_payload's limit (SMPP 3.4 §5.3.2.32)."""

Recipient = Annotated[
    str,
    Meta(
        pattern=r"^\+?[0-9]{1,20}$(?!\n)", description="International number: digits, optional +."
    ),
]
Sender = Annotated[
    str,
    Meta(
        pattern=r"^(?:[A-Za-z0-9]{1,11}|\+?[0-9]{1,20})$(?!\n)",
        description="1 to 11 letters and digits, or a number of 1 to 20 digits.",
    ),
]


class SendRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename={"sender": "from"}
):
    """One message to one or many recipients."""

    to: Recipient | Annotated[list[Recipient], Meta(min_length=1)]
    sender: Sender
    text: Annotated[str, Meta(min_length=1, max_length=_MAX_TEXT_CHARS)] | None = None
    binary: (
        Annotated[
            bytes,
            Meta(
                min_length=1,
                max_length=_MAX_BINARY_OCTETS,
                description="Base64 user data (starting with its UDH when udh is true).",
            ),
        ]
        | None
    ) = None
    template: (
        Annotated[
            str,
            Meta(
                max_length=64,
                description="A message template's id: its body, variables filled in, is the text.",
            ),
        ]
        | None
    ) = None
    variables: (
        Annotated[
            dict[str, Any],
            Meta(
                max_length=64,
                description="The template's placeholders' values (strings), by name.",
            ),
        ]
        | None
    ) = None
    data_coding: Annotated[int, Meta(ge=0, le=255)] | None = None
    udh: bool = False
    priority: Literal["otp", "express", "normal", "bulk"] | None = None
    validity: Annotated[int, Meta(gt=0, description="Seconds the message may wait.")] | None = None
    send_at: Annotated[datetime, Meta(tz=True, description="RFC 3339 time to send at.")] | None = (
        None
    )
    reference: Annotated[
        str,
        Meta(
            max_length=64,
            pattern=r"^[\x20-\x7e]*$(?!\n)",
            description="Up to 64 printable ASCII characters, returned in receipts.",
        ),
    ] = ""
    webhook_url: Annotated[str, Meta(max_length=2048)] | None = None
    wait: Literal["accepted", "delivered"] | None = None
    timeout: Annotated[float, Meta(gt=0, description="Seconds to wait (with wait).")] | None = None


class AcceptedMessage(msgspec.Struct, frozen=True, tag_field="status", tag="accepted"):
    id: str
    to: str
    parts: int
    price_per_part: int
    """Integer micro-units of the currency."""


class RefusedMessage(msgspec.Struct, frozen=True, tag_field="status", tag="refused"):
    to: str
    code: str
    detail: str = ""


class SendAnswer(msgspec.Struct, frozen=True):
    messages: list[AcceptedMessage | RefusedMessage]
    currency: str
    total_price: int
    """Sum of parts x price_per_part over the accepted messages (held now)."""


class WaitAnswer(msgspec.Struct, frozen=True):
    message: AcceptedMessage
    state: str
    """``enroute`` once the operator accepted it, ``delivered`` once delivered:
    the words of `MessageView.state`, lower case like every state of the API."""
    currency: str


_decode_send = msgspec.json.Decoder(SendRequest).decode
_SEND_WORDS = pattern_words(SendRequest)

_PRIORITIES = {
    "otp": Priority.OTP,
    "express": Priority.EXPRESS,
    "normal": Priority.NORMAL,
    "bulk": Priority.BULK,
}

_REFUSALS: dict[str, tuple[int, str]] = {
    "no_credit": (402, "Not enough credit"),
    "throttled": (429, "Throughput limit reached"),
    "quota_exceeded": (429, "Quota exhausted"),
    "overloaded": (429, "Too many of this account's messages in progress"),
    "no_route": (422, "No route to this destination"),
    "rejected": (422, "Refused by a routing rule"),
    "unencodable": (422, "The text cannot be encoded in this data coding"),
    "message_too_long": (422, "Message too long"),
    "invalid_send_at": (422, "Invalid send time"),
    "invalid_validity": (422, "Invalid validity"),
    "invalid_message": (422, "Invalid message"),
    "invalid_number": (422, "Not a valid number"),
    "opted_out": (422, "The recipient opted out"),
    "blocked_geo": (422, "Destination not allowed for this account"),
    "blocked_velocity": (422, "Too many messages to this number or range"),
    "blocked_spike": (422, "Traffic to this range spiked: blocked for review"),
    "blocked_conversion": (422, "Codes to this range are not being used: blocked for review"),
    "account_disabled": (403, "Account disabled"),
    "unknown_account": (403, "Account unknown to the ledger"),
    "ledger_unavailable": (503, "The ledger does not answer; nothing was sent"),
}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _json(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


def _invalid(detail: str) -> Problem:
    return Problem(400, "invalid_request", "Invalid request", detail)


async def refusal_problem(engine: Engine, account: AccountConfig, result: SendResult) -> Problem:
    status, title = _REFUSALS.get(result.refusal, (422, "Refused"))
    headers = await limit_headers(engine, account, result.refusal)
    return Problem(status, result.refusal, title, result.detail, headers=headers, to=result.to)


# -- POST /v1/messages ---------------------------------------------------------


async def send_messages(request: Request) -> Response:
    account = await account_of(request)
    body = await request.body()
    return await answer_once(request, account, body, lambda: _send(request, account, body))


async def _send(request: Request, account: AccountConfig, body: bytes) -> Response:
    engine = _engine(request)
    send = _decode(request, body)
    given = [send.to] if isinstance(send.to, str) else send.to
    _check(engine, send, len(given))
    if send.template is not None:
        text = await template_text(request, account.id, send.template, send.variables or {})
        send = msgspec.structs.replace(send, text=text)
    if send.webhook_url is not None:
        await _check_webhook(engine, send.webhook_url)
    now = time.time()
    deadline = now + send.timeout if send.timeout is not None else None
    recipients = [_recipient(to) for to in given]
    items = [
        _item(engine, account, send, to, now, deadline) for to in recipients if isinstance(to, str)
    ]
    if send.wait is None:
        results, _ = await engine.send(account, items) if items else ([], [])
        return await _sent(engine, account, _in_order(recipients, results))
    assert deadline is not None
    [recipient] = recipients
    if not isinstance(recipient, str):
        raise await refusal_problem(engine, account, recipient)
    results, waiters = await engine.send(account, items, wait_final=send.wait == "delivered")
    [result], [waiter] = results, waiters
    if not result.accepted:
        raise await refusal_problem(engine, account, result)
    assert waiter is not None
    return await _waited(engine, account, result, waiter, deadline)


def _decode(request: Request, body: bytes) -> SendRequest:
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "unsupported_media_type", "Send application/json", media_type)
    try:
        return _decode_send(body)
    except msgspec.DecodeError as exc:
        raise _invalid(readable(str(exc), _SEND_WORDS)) from exc


def _check(engine: Engine, send: SendRequest, recipients: int) -> None:
    """What the schema alone cannot say: combinations and configured limits."""
    limits = engine.gateway.config.api
    if recipients > limits.max_recipients:
        raise Problem(
            400,
            "too_many_recipients",
            "Too many recipients",
            f"at most {limits.max_recipients} in one request",
        )
    if (send.text, send.binary, send.template).count(None) != 2:
        raise _invalid("exactly one of text, binary and template")
    if send.variables is not None and send.template is None:
        raise _invalid("variables go with template")
    if send.udh and send.binary is None:
        raise _invalid("udh goes with binary (the UDH is part of the binary data)")
    if (send.wait is None) != (send.timeout is None):
        raise _invalid("wait and timeout go together")
    if send.wait is not None:
        if recipients != 1:
            raise _invalid("wait needs exactly one recipient")
        if send.send_at is not None:
            raise _invalid("wait cannot be combined with send_at")
        if send.timeout is not None and send.timeout > limits.max_wait:
            raise _invalid(f"timeout is at most {limits.max_wait:g} seconds ($.timeout)")


def _recipient(given: str) -> str | SendResult:
    """The number in E.164 digits, or its refusal: checked before the engine
    sees it, so nothing is routed or held for a number no operator knows."""
    try:
        return international(given)
    except InvalidNumber as exc:
        return SendResult(
            to=given.removeprefix("+"), refusal="invalid_number", detail=refusal("to", given, exc)
        )


def _in_order(recipients: list[str | SendResult], sent: list[SendResult]) -> list[SendResult]:
    """The engine's results with the refused numbers put back in their places."""
    answers = iter(sent)
    return [next(answers) if isinstance(to, str) else to for to in recipients]


async def _check_webhook(engine: Engine, url: str) -> None:
    """The same check as the admin API's and the one at send time
    (`Engine.check_webhook`): http(s), no spaces or control characters, and
    no private, loopback or link-local address behind the host."""
    try:
        await engine.check_webhook(url)
    except ValueError as exc:
        raise _invalid(f"{exc} ($.webhook_url)") from None


def _item(
    engine: Engine,
    account: AccountConfig,
    send: SendRequest,
    to: str,
    now: float,
    deadline: float | None,
) -> SendItem:
    validity_limits = engine.gateway.config.limits.validity
    validity: float | None = send.validity
    if validity is not None and validity > validity_limits.maximum:
        raise Problem(
            422,
            "invalid_validity",
            "Invalid validity",
            f"at most {validity_limits.maximum:g} seconds",
        )
    send_at = 0.0
    if send.send_at is not None:
        send_at = send.send_at.timestamp()
        if not now < send_at <= now + validity_limits.maximum:
            raise Problem(
                422,
                "invalid_send_at",
                "Invalid send time",
                f"send_at must be in the future, at most {validity_limits.maximum:g} s ahead",
            )
        if validity is None:  # the default validity counts from the send time
            validity = validity_limits.default
    webhook = send.webhook_url or account.webhook_url
    return SendItem(
        to=to,
        sender=send.sender.removeprefix("+"),
        text=send.text,
        data=send.binary,
        data_coding=send.data_coding,
        udh=send.udh,
        priority=_PRIORITIES[send.priority] if send.priority is not None else None,
        validity=validity,
        send_at=send_at,
        reference=send.reference,
        callback=Callback(url=webhook, form="json", level=2) if webhook else Callback(url=""),
        deadline=deadline,
    )


def _accepted(result: SendResult) -> AcceptedMessage:
    return AcceptedMessage(
        id=result.message_id,
        to=result.to,
        parts=result.parts,
        price_per_part=result.price_per_part,
    )


async def _sent(engine: Engine, account: AccountConfig, results: list[SendResult]) -> Response:
    if not any(result.accepted for result in results):
        raise await refusal_problem(engine, account, results[0])
    messages: list[AcceptedMessage | RefusedMessage] = [
        _accepted(r) if r.accepted else RefusedMessage(r.to, r.refusal, r.detail) for r in results
    ]
    total = sum(r.parts * r.price_per_part for r in results if r.accepted)
    return _json(SendAnswer(messages, engine.billing.currency_of(account.id), total), 202)


async def _waited(
    engine: Engine,
    account: AccountConfig,
    result: SendResult,
    waiter: asyncio.Future[Reached],
    deadline: float,
) -> Response:
    """The OTP wait: 200 at the milestone; else the message failed (422), or
    the deadline passed (504; the facade took it out of its queue if it was
    still there, so it is never sent late)."""
    outcome = await engine.wait(account.id, result.message_id, waiter, deadline)
    state = outcome.state.lower()  # the facade names SMPP states (ENROUTE...)
    if outcome.reached:
        return _json(WaitAnswer(_accepted(result), state, engine.billing.currency_of(account.id)))
    if not outcome.timed_out:
        raise Problem(
            422,
            "message_failed",
            "The message failed",
            f"{state}, error {outcome.error}",
            message_id=result.message_id,
            state=state,
            error=outcome.error,
        )
    raise Problem(
        504,
        "wait_timeout",
        "The wait's deadline passed",
        "the message was taken out of its queue and its hold released"
        if outcome.released
        else "the message had already gone to the operator",
        message_id=result.message_id,
        state=state,
        released=outcome.released,
    )


# -- GET /v1/balance -----------------------------------------------------------


async def balance(request: Request) -> Response:
    account = await account_of(request)
    try:
        found = await _engine(request).balance(account.id)
    except Exception as exc:  # the ledger (Redis) does not answer
        raise Problem(
            503,
            "ledger_unavailable",
            "The ledger does not answer",
            str(exc),
            headers={"Retry-After": "1"},
        ) from exc
    if found is None:
        raise Problem(403, "unknown_account", "Account unknown to the ledger")
    return _json(found)


routes: list[BaseRoute] = [
    Route("/v1/messages", send_messages, methods=["POST"]),
    Route("/v1/balance", balance, methods=["GET"]),
]

_SEND_PROBLEMS = (400, 401, 402, 403, 409, 413, 415, 422, 429, 503, 504)

OPERATIONS: list[Operation] = [
    Operation(
        method="POST",
        path="/v1/messages",
        summary="Send a message to one or many recipients; optionally wait for the operator",
        tag="messages",
        operation_id="sendMessages",
        request=SendRequest,
        parameters=(IDEMPOTENCY_PARAMETER,),
        responses={
            200: WaitAnswer,
            202: SendAnswer,
            **dict.fromkeys(_SEND_PROBLEMS, "problem"),
        },
    ),
    Operation(
        method="GET",
        path="/v1/balance",
        summary="The account's balance, held amount and credit limit (micro-units)",
        tag="account",
        operation_id="getBalance",
        responses={200: Balance, 401: "problem", 403: "problem", 503: "problem"},
    ),
]
