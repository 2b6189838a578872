"""Sender IDs over HTTP (docs/senders.md): the admin decides, a customer asks.

- ``/admin/sender-ids`` GET ``?state=requested|approved|rejected&account=``:
  the registry, what waits for a decision first.
- ``/admin/sender-ids/{account}/{sender}/approve`` POST (no body): approves
  it, requested or not; ``/reject`` POST ``{"reason"}``: rejects a request or
  withdraws an approval (the reason is required: the customer sees it).
- ``/v1/sender-ids`` GET: the account's sender IDs, its ``sender_policy``
  and ``default_sender``; POST ``{"sender", "note"}``: a request, 201.

A sender of the wrong shape is a 422 ``invalid_sender``; asking again for
one requested or approved a 409 ``sender_requested`` / ``sender_approved``;
deciding on one the account never had (reject) a 404 ``unknown_sender``.
The console calls `approve_sender`, `reject_sender` and `request_sender`:
the same code paths, audited alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import (
    AUTH_PROBLEMS,
    admin_endpoint,
    admin_operation,
    decode,
    engine_of,
    invalid,
    json,
)
from api.auth import account_of
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import (
    SENDER_STATES,
    Administration,
    Engine,
    InvalidSender,
    SenderId,
    SenderRefused,
    SenderRegistry,
    SenderState,
)

_STATUS_OF_REFUSAL = {
    "unknown_sender": (404, "No such sender ID"),
    "sender_requested": (409, "Requested already"),
    "sender_approved": (409, "Approved already"),
    "reason_required": (422, "Say why"),
    "invalid_note": (422, "Invalid note"),
    "invalid_reason": (422, "Invalid reason"),
}
_TEXT = r"^[^\x00-\x1f\x7f]*$(?!\n)"


class SenderRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sender: Annotated[
        str,
        Meta(
            max_length=20,
            description="Alphanumeric (up to 11 GSM 03.38 characters, no /) or up to 16 digits.",
        ),
    ]
    note: Annotated[
        str, Meta(max_length=500, pattern=_TEXT, description="For the reviewer: brand, use.")
    ] = ""


class Rejection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[
        str,
        Meta(min_length=1, max_length=500, pattern=_TEXT, description="Shown to the customer."),
    ]


class SenderView(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    sender: str
    state: SenderState
    note: str
    reason: str
    """Why it was rejected; "" otherwise."""
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


class SenderList(msgspec.Struct, frozen=True, kw_only=True):
    sender_ids: list[SenderView]


class AccountSenders(msgspec.Struct, frozen=True, kw_only=True):
    sender_policy: str
    """open (any sender goes), refuse (an unapproved one is refused) or
    rewrite (it goes from default_sender)."""
    default_sender: str
    sender_ids: list[SenderView]


def view(entry: SenderId) -> SenderView:
    return SenderView(
        account=entry.account,
        sender=entry.sender,
        state=entry.state,
        note=entry.note,
        reason=entry.reason,
        requested_by=entry.requested_by,
        requested_at=_time(entry.requested_at),
        decided_by=entry.decided_by,
        decided_at=_time(entry.decided_at) if entry.decided_at else None,
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def registry_of(engine: Engine) -> SenderRegistry:
    """The shard's registry: ``Engine.platform.senders``."""
    registry: SenderRegistry | None = engine.platform.senders
    if registry is None:
        raise Problem(503, "senders_unavailable", "No sender-ID registry", "not set up here")
    return registry


def problem_of(exc: SenderRefused | InvalidSender) -> Problem:
    if isinstance(exc, InvalidSender):
        return Problem(422, "invalid_sender", "Invalid sender", str(exc))
    status, title = _STATUS_OF_REFUSAL.get(exc.code, (409, "Refused"))
    return Problem(status, exc.code, title, exc.detail)


def _unavailable(exc: Exception) -> Problem:
    return Problem(503, "senders_unavailable", "The sender-ID registry does not answer", str(exc))


# -- what the console calls too ---------------------------------------------------


async def approve_sender(
    engine: Engine, admin: Administration, account: str, sender: str
) -> SenderId:
    """Approves and audits (as the actor of the block: `engine.acting_as`)."""
    entry = await registry_of(engine).approve(account, sender)
    await admin.audit.record("sender_id.approve", account, sender=entry.sender)
    return entry


async def reject_sender(
    engine: Engine, admin: Administration, account: str, sender: str, reason: str
) -> SenderId:
    entry = await registry_of(engine).reject(account, sender, reason)
    await admin.audit.record("sender_id.reject", account, sender=entry.sender, reason=entry.reason)
    return entry


async def request_sender(engine: Engine, account: str, sender: str, note: str, by: str) -> SenderId:
    """A customer's request; ``by``: ``api`` or ``console:<user>``."""
    return await registry_of(engine).request(account, sender, note, by)


# -- admin -----------------------------------------------------------------------------


def _known_account(request: Request, account: str | None) -> str | None:
    if account is not None and engine_of(request).account(account) is None:
        raise Problem(404, "unknown_account", "No such account", account[:80])
    return account


def _filters(request: Request) -> tuple[SenderState | None, str | None]:
    unknown = set(request.query_params) - {"state", "account"}
    if unknown:
        raise invalid(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    given = request.query_params.get("state") or None
    state = next((known for known in SENDER_STATES if known == given), None)
    if given is not None and state is None:
        raise invalid(f"state: one of {', '.join(SENDER_STATES)}")
    return state, _known_account(request, request.query_params.get("account") or None)


def _path(request: Request) -> tuple[str, str]:
    account: str = request.path_params["account"]
    _known_account(request, account)
    return account, request.path_params["sender"]


async def _deciding(coroutine: Any) -> Response:
    try:
        return json(view(await coroutine))
    except (SenderRefused, InvalidSender) as exc:
        raise problem_of(exc) from exc


@admin_endpoint
async def admin_list(request: Request, admin: Administration) -> Response:
    state, account = _filters(request)
    entries = await registry_of(engine_of(request)).entries(state, account)
    return json(SenderList(sender_ids=[view(entry) for entry in entries]))


@admin_endpoint
async def admin_approve(request: Request, admin: Administration) -> Response:
    account, sender = _path(request)
    return await _deciding(approve_sender(engine_of(request), admin, account, sender))


@admin_endpoint
async def admin_reject(request: Request, admin: Administration) -> Response:
    account, sender = _path(request)
    reason = (await decode(request, Rejection)).reason
    return await _deciding(reject_sender(engine_of(request), admin, account, sender, reason))


# -- the customer's own ----------------------------------------------------------------


async def customer_list(request: Request) -> Response:
    account = await account_of(request)
    try:
        entries = await registry_of(engine_of(request)).entries(account=account.id)
    except RedisError as exc:
        raise _unavailable(exc) from exc
    return json(
        AccountSenders(
            sender_policy=account.sender_policy,
            default_sender=account.default_sender,
            sender_ids=[view(entry) for entry in entries],
        )
    )


async def customer_request(request: Request) -> Response:
    account = await account_of(request)
    asked = await decode(request, SenderRequest)
    try:
        entry = await request_sender(
            engine_of(request), account.id, asked.sender, asked.note, "api"
        )
    except (SenderRefused, InvalidSender) as exc:
        raise problem_of(exc) from exc
    except RedisError as exc:
        raise _unavailable(exc) from exc
    return json(view(entry), 201)


_ADMIN = "/admin/sender-ids"
_V1 = "/v1/sender-ids"

routes: list[BaseRoute] = [
    Route(_ADMIN, admin_list, methods=["GET"]),
    Route(f"{_ADMIN}/{{account}}/{{sender}}/approve", admin_approve, methods=["POST"]),
    Route(f"{_ADMIN}/{{account}}/{{sender}}/reject", admin_reject, methods=["POST"]),
    Route(_V1, customer_list, methods=["GET"]),
    Route(_V1, customer_request, methods=["POST"]),
]

_PATH = (
    Parameter(name="account", location="path", required=True),
    Parameter(
        name="sender",
        location="path",
        required=True,
        description="The sender ID, URL-encoded (a space is %20); a number without +.",
    ),
)
_DECIDED: dict[int, Any] = {
    200: SenderView,
    400: "problem",
    404: "problem",
    422: "problem",
    503: "problem",
    **AUTH_PROBLEMS,
}


def _admin(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return admin_operation("admin: sender IDs", method, path, summary, operation_id, **fields)


OPERATIONS: list[Operation] = [
    _admin(
        "GET",
        _ADMIN,
        "The sender-ID registry: requested first (oldest first), then approved, then rejected",
        "adminListSenderIds",
        parameters=(
            Parameter(
                name="state",
                schema={"type": "string", "enum": list(SENDER_STATES)},
                description="Only sender IDs in this state.",
            ),
            Parameter(name="account", description="Only this account's."),
        ),
        responses={200: SenderList, 400: "problem", 404: "problem", **AUTH_PROBLEMS},
    ),
    _admin(
        "POST",
        f"{_ADMIN}/{{account}}/{{sender}}/approve",
        "Approve a sender ID for an account (requested or not): its messages may use it",
        "adminApproveSenderId",
        parameters=_PATH,
        responses=_DECIDED,
    ),
    _admin(
        "POST",
        f"{_ADMIN}/{{account}}/{{sender}}/reject",
        "Reject a requested sender ID, or withdraw an approved one, saying why",
        "adminRejectSenderId",
        parameters=_PATH,
        request=Rejection,
        responses={**_DECIDED, 415: "problem"},
    ),
    Operation(
        method="GET",
        path=_V1,
        summary="The account's sender IDs, its sender policy and default sender",
        tag="sender IDs",
        operation_id="listSenderIds",
        responses={200: AccountSenders, 401: "problem", 503: "problem"},
    ),
    Operation(
        method="POST",
        path=_V1,
        summary="Ask for a sender ID; staff approve or reject it",
        tag="sender IDs",
        operation_id="requestSenderId",
        request=SenderRequest,
        responses={
            201: SenderView,
            400: "problem",
            401: "problem",
            409: "problem",
            415: "problem",
            422: "problem",
            503: "problem",
        },
    ),
]
