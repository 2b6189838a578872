"""The customer API v1, Verify: one-time codes made, sent and checked for the account.

- ``POST /v1/verifications`` makes a code and sends it as an OTP message
  (billed, reported and webhooked as ``POST /v1/messages`` would): 201 with
  the verification, ``status`` ``pending``. ``Idempotency-Key`` as for
  messages: a retry gets the same verification, not a second code.
- ``POST /v1/verifications/{id}/check`` answers 200 with the check's
  ``status``: ``approved`` (once), ``pending`` (wrong code; ``attempts_left``),
  ``expired``, ``max_attempts_reached`` or ``already_used``.
- ``GET /v1/verifications/{id}``: where it stands.

Errors: 400 ``invalid_request`` (the field named); 404
``verification_not_found`` (also for another account's id); 429
``too_many_verifications`` (Retry-After; ``limit`` names the setting); the
send's own refusals as ``POST /v1/messages`` answers them (402 ``no_credit``,
422 ``no_route``...); 503 ``verify_unavailable`` (Redis does not answer).
docs/verify.md tells the whole story.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.auth import account_of
from api.idempotency import IDEMPOTENCY_PARAMETER, answer_once
from api.numbers import InvalidNumber, international, refusal
from api.openapi import Operation, Parameter
from api.problems import Problem, pattern_words, readable
from api.v1.send import Recipient, Sender, refusal_problem
from engine import (
    VERIFY_CODE_LENGTH,
    VERIFY_EXPIRY,
    AccountConfig,
    Checked,
    Engine,
    InvalidVerification,
    Limited,
    NewVerification,
    SendResult,
    Snapshot,
    Verdict,
    VerificationStatus,
    Verifier,
    VerifyRefused,
)

_SHORTEST, _LONGEST = VERIFY_CODE_LENGTH
_SOONEST, _LATEST = VERIFY_EXPIRY


class VerificationRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename={"sender": "from"}
):
    """A code to send to one number."""

    to: Recipient
    sender: Sender | None = None
    template: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=480,
                description="The SMS text with {code} where the code goes.",
            ),
        ]
        | None
    ) = None
    code_length: Annotated[int, Meta(ge=_SHORTEST, le=_LONGEST)] | None = None
    expiry: (
        Annotated[
            int,
            Meta(ge=VERIFY_EXPIRY[0], le=VERIFY_EXPIRY[1], description="Seconds the code lives."),
        ]
        | None
    ) = None
    channel: Literal["sms"] = "sms"


class CheckRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: Annotated[
        str,
        Meta(
            pattern=rf"^[0-9]{{{_SHORTEST},{_LONGEST}}}$(?!\n)",
            description=f"The code the person typed: {_SHORTEST} to {_LONGEST} digits.",
        ),
    ]


class VerificationView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: VerificationStatus
    to: str
    channel: str
    code_length: int
    attempts_left: int
    created_at: str
    expires_at: str
    message_id: str
    """The SMS that carried the code (GET /v1/messages/{id})."""


class CheckAnswer(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: Verdict
    """``approved`` once; then ``already_used``."""
    to: str
    attempts_left: int
    expires_at: str


_T = TypeVar("_T")
_decode_start = msgspec.json.Decoder(VerificationRequest).decode
_decode_check = msgspec.json.Decoder(CheckRequest).decode
_WORDS = {**pattern_words(VerificationRequest), **pattern_words(CheckRequest)}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _verifier(request: Request) -> Verifier:
    verifier: Verifier | None = _engine(request).verify
    if verifier is None:
        raise Problem(503, "verify_unavailable", "Verify is not configured on this shard")
    return verifier


def _json(value: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(value),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _view(snapshot: Snapshot) -> VerificationView:
    return VerificationView(
        id=snapshot.id,
        status=snapshot.status,
        to=snapshot.to,
        channel=snapshot.channel,
        code_length=snapshot.code_length,
        attempts_left=snapshot.attempts_left,
        created_at=_time(snapshot.created_at),
        expires_at=_time(snapshot.expires_at),
        message_id=snapshot.message_id,
    )


def _decode(request: Request, body: bytes, decode: Callable[[bytes], _T]) -> _T:
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "unsupported_media_type", "Send application/json", media_type)
    try:
        return decode(body)
    except msgspec.DecodeError as exc:
        raise Problem(
            400, "invalid_request", "Invalid request", readable(str(exc), _WORDS)
        ) from exc


def _not_found(verification_id: str) -> Problem:
    return Problem(
        404,
        "verification_not_found",
        "No such verification",
        f"no verification {verification_id!r}",
    )


def _unavailable(exc: Exception) -> Problem:
    return Problem(
        503,
        "verify_unavailable",
        "Verifications cannot be read or written now",
        str(exc),
        headers={"Retry-After": "1"},
    )


# -- POST /v1/verifications ------------------------------------------------------


async def start_verification(request: Request) -> Response:
    account = await account_of(request)
    body = await request.body()
    return await answer_once(request, account, body, lambda: _start(request, account, body))


async def _start(request: Request, account: AccountConfig, body: bytes) -> Response:
    asked = _decode(request, body, _decode_start)
    try:
        to = international(asked.to)
    except InvalidNumber as exc:
        detail = refusal("to", asked.to, exc)
        result = SendResult(to=asked.to.removeprefix("+"), refusal="invalid_number", detail=detail)
        raise await refusal_problem(_engine(request), account, result) from None
    new = NewVerification(
        to=to,
        template=asked.template,
        code_length=asked.code_length,
        expiry=asked.expiry,
        sender=asked.sender.removeprefix("+") if asked.sender is not None else None,
        channel=asked.channel,
    )
    verifier = _verifier(request)
    try:
        started = await verifier.start(account, new)
    except InvalidVerification as exc:
        raise Problem(400, "invalid_request", "Invalid request", str(exc)) from None
    except Exception as exc:  # the store (Redis) does not answer
        raise _unavailable(exc) from exc
    if isinstance(started, Limited):
        raise Problem(
            429,
            "too_many_verifications",
            "Too many codes to this number",
            started.detail,
            headers={"Retry-After": str(int(started.retry_after))},
            limit=started.limit,
        )
    if isinstance(started, VerifyRefused):
        result = SendResult(to=to, refusal=started.code, detail=started.detail)
        raise await refusal_problem(_engine(request), account, result)
    location = f"/v1/verifications/{started.id}"
    return _json(_view(started), 201, {"Location": location})


# -- POST /v1/verifications/{id}/check ------------------------------------------


async def check_verification(request: Request) -> Response:
    account = await account_of(request)
    verification_id = request.path_params["verification_id"]
    asked = _decode(request, await request.body(), _decode_check)
    verifier = _verifier(request)
    try:
        checked: Checked | None = await verifier.check(account.id, verification_id, asked.code)
    except Exception as exc:  # the store (Redis) does not answer
        raise _unavailable(exc) from exc
    if checked is None:
        raise _not_found(verification_id)
    snapshot = checked.verification
    return _json(
        CheckAnswer(
            id=snapshot.id,
            status=checked.verdict,
            to=snapshot.to,
            attempts_left=snapshot.attempts_left,
            expires_at=_time(snapshot.expires_at),
        )
    )


# -- GET /v1/verifications/{id} ---------------------------------------------------


async def get_verification(request: Request) -> Response:
    account = await account_of(request)
    verification_id = request.path_params["verification_id"]
    verifier = _verifier(request)
    try:
        found = await verifier.get(account.id, verification_id)
    except Exception as exc:  # the store (Redis) does not answer
        raise _unavailable(exc) from exc
    if found is None:
        raise _not_found(verification_id)
    return _json(_view(found))


routes: list[BaseRoute] = [
    Route("/v1/verifications", start_verification, methods=["POST"]),
    Route("/v1/verifications/{verification_id}/check", check_verification, methods=["POST"]),
    Route("/v1/verifications/{verification_id}", get_verification, methods=["GET"]),
]

_ID = Parameter(name="verification_id", location="path", required=True)
OPERATIONS: list[Operation] = [
    Operation(
        method="POST",
        path="/v1/verifications",
        summary="Make a one-time code and send it to a number as an OTP message",
        tag="verify",
        operation_id="startVerification",
        request=VerificationRequest,
        parameters=(IDEMPOTENCY_PARAMETER,),
        responses={
            201: VerificationView,
            **dict.fromkeys((400, 401, 402, 403, 409, 413, 415, 422, 429, 503), "problem"),
        },
    ),
    Operation(
        method="POST",
        path="/v1/verifications/{verification_id}/check",
        summary="Check a code: approved once, pending with attempts left, expired...",
        tag="verify",
        operation_id="checkVerification",
        request=CheckRequest,
        parameters=(_ID,),
        responses={
            200: CheckAnswer,
            **dict.fromkeys((400, 401, 404, 413, 415, 503), "problem"),
        },
    ),
    Operation(
        method="GET",
        path="/v1/verifications/{verification_id}",
        summary="Where a verification stands",
        tag="verify",
        operation_id="getVerification",
        parameters=(_ID,),
        responses={200: VerificationView, 401: "problem", 404: "problem", 503: "problem"},
    ),
]
