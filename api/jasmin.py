"""Jasmin's HTTP API (``/send``, ``/rate``, ``/balance``, ``/ping``), answering as Jasmin does.

A script written for Jasmin works unchanged: the same paths, methods,
arguments (username and password on every call), status codes and bodies.

- ``/send`` (GET or POST): ``Success "<message id>"`` with 200, or
  ``Error "<why>"`` with 400 (arguments), 403 (authentication, charging,
  throughput), 412 (no route) or 500; ``text/plain``.
- ``/rate`` (GET): ``{"unit_rate": 0.04, "submit_sm_count": 1}``, the price of
  one part in the currency and the parts; ``/balance`` (GET):
  ``{"balance": 9.96, "sms_count": "ND"}``. Their errors are a JSON string
  with the same statuses.
- ``/ping`` (GET): ``Jasmin/PONG``.

docs/jasmin.md lists where we differ and why. The receipts such a customer
asks for with ``dlr-url`` are built by `engine.webhooks.jasmin_dlr`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth import password_account
from api.jasmin_args import (
    BALANCE_FIELDS,
    RATE_FIELDS,
    SEND_FIELDS,
    Args,
    JasminError,
    invalid,
    parse_json,
    parse_query,
    validate,
)
from api.jasmin_send import apply_defaults, check_content, send_item
from api.openapi import Operation, Parameter
from api.rate_limits import limit_headers
from engine import AccountConfig, Engine

_MICRO_UNITS = 1_000_000
_NOT_DEFINED = "ND"
"""Jasmin's word for a quota that is not set."""
_CHARGING = "Cannot charge submit_sm, check RouterPB log file for details"
_NO_ROUTE = "No route found"
_AUTHENTICATION = "Authentication failure for username:{}"

_REFUSALS: dict[str, tuple[int, str]] = {
    "no_route": (412, _NO_ROUTE),
    "rejected": (412, _NO_ROUTE),
    "no_credit": (403, _CHARGING),
    "quota_exceeded": (403, _CHARGING),
    "throttled": (403, "User throughput exceeded"),
    "overloaded": (403, "User throughput exceeded"),
    "account_disabled": (403, _AUTHENTICATION),
    "unknown_account": (403, _AUTHENTICATION),
    "ledger_unavailable": (
        500,
        "Cannot send submit_sm, check SMPPClientManagerPB log file for details",
    ),
    "message_too_long": (400, "Content too long: {detail}"),
    "invalid_send_at": (400, "Invalid sdt: {detail}"),
    "invalid_validity": (400, "Invalid validity-period: {detail}"),
    "invalid_message": (400, "Invalid content: {detail}"),
    "unencodable": (400, "Invalid content: {detail}"),
}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="text/plain", headers=headers)


def _json(status: int, body: str | bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def amount(micro_units: int) -> str:
    """Micro-units as the decimal number Jasmin prints for a float (``9.96``,
    ``100.0``), written exactly: no float ever holds the money."""
    sign = "-" if micro_units < 0 else ""
    whole, fraction = divmod(abs(micro_units), _MICRO_UNITS)
    return f"{sign}{whole}.{f'{fraction:06d}'.rstrip('0') or '0'}"


async def _args(request: Request) -> Args:
    """The query's arguments; a POST body's (form or JSON) take precedence, as in Jasmin."""
    args = parse_query(request.scope["query_string"])
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if media_type == "application/json":
            args.update(parse_json(body))
        elif media_type in ("application/x-www-form-urlencoded", ""):
            args.update(parse_query(body))
    return args


async def _authenticate(request: Request, args: Args) -> AccountConfig:
    """Throttled per source and account (`api.auth.password_account`); a
    lockout reads as any authentication failure, as Jasmin's clients expect."""
    username = args["username"].decode("utf-8", "replace")
    password = args["password"].decode("utf-8", "replace")
    account = await password_account(request, username, password)
    if account is None:
        raise JasminError(403, _AUTHENTICATION.format(username))
    return account


def refusal(code: str, detail: str, username: str) -> JasminError:
    """The engine's refusal of a message (`SendResult.refusal`) in Jasmin's words."""
    status, message = _REFUSALS.get(code, (400, "{detail}"))
    return JasminError(status, message.format(username, detail=detail or code))


def _refused(code: str, detail: str, args: Args) -> JasminError:
    return refusal(code, detail, args["username"].decode("utf-8", "replace"))


# -- /send ---------------------------------------------------------------------


async def send(request: Request) -> Response:
    try:
        message_id = await _send(request)
    except JasminError as exc:
        return _text(exc.status, f'Error "{exc.message}"', exc.headers)
    return _text(200, f'Success "{message_id}"')


async def _send(request: Request) -> str:
    engine = _engine(request)
    args = await _args(request)
    apply_defaults(args)
    validate(args, SEND_FIELDS)
    check_content(args, required=True)
    item = send_item(args, engine.gateway.config.limits.validity, time.time())
    account = await _authenticate(request, args)
    if item.callback is not None:
        try:
            await engine.check_webhook(item.callback.url)
        except ValueError:
            raise invalid("dlr-url", args["dlr-url"]) from None
    [result], _ = await engine.send(account, [item])
    if not result.accepted:
        refused = _refused(result.refusal, result.detail, args)
        refused.headers = await limit_headers(engine, account, result.refusal) or {}
        raise refused
    return result.message_id


# -- /rate ---------------------------------------------------------------------


async def rate(request: Request) -> Response:
    engine = _engine(request)
    args = parse_query(request.scope["query_string"])
    args.setdefault("coding", b"0")
    if "content" not in args and "hex-content" not in args:
        args["content"] = b""
    try:
        validate(args, RATE_FIELDS)
        check_content(args, required=False)
        item = send_item(args, engine.gateway.config.limits.validity, time.time())
        account = await _authenticate(request, args)
        quote = engine.quote(account, item)
        if quote.refusal:
            raise _refused(quote.refusal, quote.detail, args)
    except JasminError as exc:
        return _json(exc.status, orjson.dumps(exc.message))
    unit_rate = amount(quote.price_per_part)
    return _json(200, f'{{"unit_rate": {unit_rate}, "submit_sm_count": {quote.parts}}}')


# -- /balance ------------------------------------------------------------------


async def balance(request: Request) -> Response:
    """The account's own money left, holds for messages in flight deducted (Jasmin
    charges at submission); the credit limit is not added. ``sms_count``: "ND"."""
    engine = _engine(request)
    args = parse_query(request.scope["query_string"])
    try:
        validate(args, BALANCE_FIELDS)
        account = await _authenticate(request, args)
        try:
            found = await engine.balance(account.id)
        except Exception as exc:  # the ledger (Redis) does not answer
            raise JasminError(500, f"Unknown error: {type(exc).__name__}") from exc
        if found is None:
            raise _refused("unknown_account", "", args)
    except JasminError as exc:
        return _json(exc.status, orjson.dumps(exc.message))
    left = amount(found.balance - found.held)
    return _json(200, f'{{"balance": {left}, "sms_count": "{_NOT_DEFINED}"}}')


# -- /ping ---------------------------------------------------------------------


async def ping(request: Request) -> Response:
    return _text(200, "Jasmin/PONG")


routes: list[BaseRoute] = [
    Route("/send", send, methods=["GET", "POST"]),
    Route("/rate", rate, methods=["GET"]),
    Route("/balance", balance, methods=["GET"]),
    Route("/ping", ping, methods=["GET"]),
]


# -- OpenAPI -------------------------------------------------------------------

_CREDENTIAL = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[^\r\n]*$"}
_ARGUMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "username": (_CREDENTIAL, "The account id."),
    "password": (_CREDENTIAL, "The account's SMPP password."),
    "to": ({"type": "string", "pattern": r"^\+?[0-9]{1,20}$"}, "One recipient."),
    "from": (
        {"type": "string", "pattern": r"^(?:[A-Za-z0-9]{1,11}|\+?[0-9]{1,20})$"},
        "Sender: 1 to 11 letters and digits, or up to 20 digits.",
    ),
    "coding": (
        {
            "type": "string",
            "enum": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "13", "14"],
        },
        "data_coding; 0 (default): UTF-8 text sent in GSM 03.38, others: content octets as given.",
    ),
    "content": ({"type": "string", "maxLength": 65535}, "The message (see coding)."),
    "hex-content": (
        {"type": "string", "pattern": r"^(?:[0-9A-Fa-f]{2}){0,65535}$"},
        "The message's octets in hexadecimal, instead of content.",
    ),
    "priority": (
        {"type": "string", "enum": ["0", "1", "2", "3"]},
        "3: OTP class, 2: express, 0 and 1: the account's class.",
    ),
    "validity-period": ({"type": "string", "pattern": r"^[0-9]{1,9}$"}, "Minutes."),
    "sdt": (
        {"type": "string", "pattern": r"^[0-9]{15}[-+R]$"},
        "Send at this SMPP time (absolute, or relative ending in 000R).",
    ),
    "dlr": ({"type": "string", "enum": ["yes", "no"]}, "Ask for a DLR callback."),
    "dlr-url": (
        {"type": "string", "pattern": r"^https?://[^\s]+$", "maxLength": 2048},
        "Where the DLR callback goes (Jasmin's form).",
    ),
    "dlr-level": (
        {"type": "string", "enum": ["1", "2", "3"]},
        "1: operator accepted, 2: receipt, 3: both.",
    ),
    "dlr-method": ({"type": "string", "enum": ["GET", "POST"]}, "How the DLR is sent."),
    "tags": ({"type": "string", "pattern": r"^[-a-zA-Z0-9,]*$"}, "Accepted, not used."),
}
_REQUIRED = ("username", "password", "to")
_SEND_NAMES = tuple(_ARGUMENTS)
_RATE_NAMES = ("username", "password", "to", "from", "coding", "content", "hex-content")
_RATE_NAMES += ("priority", "validity-period", "tags")


_IN_A_URL = {
    "content": {"type": "string", "maxLength": 2000},
    "hex-content": {"type": "string", "pattern": r"^(?:[0-9A-Fa-f]{2}){0,2000}$"},
}
"""A query string is bounded by the HTTP server's request line limit: send
longer content by POST."""


def _parameters(names: tuple[str, ...]) -> tuple[Parameter, ...]:
    return tuple(
        Parameter(
            name=name,
            required=name in _REQUIRED,
            schema=_IN_A_URL.get(name, _ARGUMENTS[name][0]),
            description=_ARGUMENTS[name][1],
        )
        for name in names
    )


def _form(names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name for name in names if name in _REQUIRED],
        "properties": {
            name: {**_ARGUMENTS[name][0], "description": _ARGUMENTS[name][1]} for name in names
        },
        "additionalProperties": False,
    }


_SEND_ANSWERS: dict[int, Any] = dict.fromkeys((200, 400, 403, 412, 500), "text/plain")
_JSON_ANSWERS: dict[int, Any] = dict.fromkeys((200, 400, 403, 412, 500), "application/json")

OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path="/send",
        summary='Jasmin: send one message; answers Success "<id>" or Error "<why>"',
        tag="jasmin",
        operation_id="jasminSendGet",
        security=None,
        parameters=_parameters(_SEND_NAMES),
        responses=_SEND_ANSWERS,
    ),
    Operation(
        method="POST",
        path="/send",
        summary='Jasmin: send one message (form or JSON body); answers Success "<id>"',
        tag="jasmin",
        operation_id="jasminSendPost",
        security=None,
        form=_form(_SEND_NAMES),
        responses=_SEND_ANSWERS,
    ),
    Operation(
        method="GET",
        path="/rate",
        summary="Jasmin: price of one part and number of parts of a message",
        tag="jasmin",
        operation_id="jasminRate",
        security=None,
        parameters=_parameters(_RATE_NAMES),
        responses=_JSON_ANSWERS,
    ),
    Operation(
        method="GET",
        path="/balance",
        summary="Jasmin: the account's balance in the currency",
        tag="jasmin",
        operation_id="jasminBalance",
        security=None,
        parameters=_parameters(("username", "password")),
        responses=dict.fromkeys((200, 400, 403, 500), "application/json"),
    ),
    Operation(
        method="GET",
        path="/ping",
        summary="Jasmin: answers Jasmin/PONG",
        tag="jasmin",
        operation_id="jasminPing",
        security=None,
        responses={200: "text/plain"},
    ),
]
