"""The customer API v1 for resellers: their sub-accounts, credit moved down
(or back up) and the markup each pays (docs/resellers.md).

The bearer key names the reseller account; every call is scoped to its own
sub-accounts. Errors: 403 ``not_reseller`` (the key's account is not a
reseller), 404 ``sub_account_not_found`` (also for another reseller's
sub-account), 400 ``invalid_request`` (the field named), 402 ``no_credit``
(the transfer exceeds the giving account's available credit), 402
``insufficient_balance`` (credit moved back up exceeds the sub-account's
balance less its holds: its credit limit never funds its reseller), 409
``account_exists``, 409 ``balance_limit``, ``unknown_account`` or ``undone``
(the transfer is refused; nothing moved), 503 ``resellers_unavailable`` (not
installed on this shard).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import AUTH_PROBLEMS, admin_endpoint, admin_operation, json
from api.auth import account_of
from api.openapi import Operation, Parameter
from api.problems import Problem, pattern_words, readable
from engine import (
    MAX_AMOUNT,
    Administration,
    AdminRefused,
    Engine,
    MarginLine,
    Resellers,
    SubAccount,
    TransferIncomplete,
    TransferOutcome,
    TransferResult,
    month,
)

SubAccountId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_.\-]{1,15}$(?!\n)",
        description="Also the SMPP system_id: 1 to 15 of A-Z a-z 0-9 _ . -",
    ),
]
Markup = Annotated[
    int, Meta(ge=0, le=1_000_000, description="Basis points over your price: 2500 = 25%")
]


class NewSubAccountRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: SubAccountId
    markup: Markup = 0
    password: (
        Annotated[str, Meta(pattern=r"^[!-~]{1,8}$(?!\n)", description="SMPP password")] | None
    ) = None


class MarkupChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    markup: Markup


class CreditRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: Annotated[
        int,
        Meta(
            ge=-MAX_AMOUNT,
            le=MAX_AMOUNT,
            description="Micro-units: positive moves credit down, negative back up",
        ),
    ]
    reference: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9_.:\-]{1,64}$(?!\n)",
            description="Names the transfer: a retry with it moves nothing twice",
        ),
    ]


class MarginsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    month: Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}$(?!\n)", description="YYYY-MM (UTC)")]


class MarginsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    margins: list[MarginLine]
    """One line per reseller: what its settlement did."""


class SubAccountList(msgspec.Struct, frozen=True, kw_only=True):
    sub_accounts: list[SubAccount]


class CreditAnswer(msgspec.Struct, frozen=True, kw_only=True):
    transfer: TransferResult
    sub_account: SubAccount


_T = TypeVar("_T")
_WORDS = {
    **pattern_words(NewSubAccountRequest),
    **pattern_words(CreditRequest),
}
_STATUS_OF_REFUSAL = {
    "not_reseller": (403, "not_reseller", "Only a reseller account has sub-accounts"),
    "unknown_sub_account": (404, "sub_account_not_found", "No such sub-account"),
    "account_exists": (409, "account_exists", "The account id is taken"),
}


def _resellers(request: Request) -> Resellers:
    engine: Engine = request.app.state.engine
    resellers = engine.platform.resellers
    if resellers is None:
        raise Problem(503, "resellers_unavailable", "Resellers are not installed on this shard")
    return resellers


def _refused(exc: AdminRefused) -> Problem:
    status, code, title = _STATUS_OF_REFUSAL.get(exc.code, (400, exc.code, "Refused"))
    return Problem(status, code, title, exc.detail)


def _json(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


async def _body(request: Request, kind: type[_T]) -> _T:
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "unsupported_media_type", "Send application/json", media_type)
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.DecodeError as exc:
        raise Problem(
            400, "invalid_request", "Invalid request", readable(str(exc), _WORDS)
        ) from exc


async def list_sub_accounts(request: Request) -> Response:
    account = await account_of(request)
    try:
        children = await _resellers(request).sub_accounts(account.id)
    except AdminRefused as exc:
        raise _refused(exc) from None
    return _json(SubAccountList(sub_accounts=children))


async def create_sub_account(request: Request) -> Response:
    account = await account_of(request)
    resellers = _resellers(request)
    new = await _body(request, NewSubAccountRequest)
    try:
        created = await resellers.create(
            account.id, new.id, markup=new.markup, password=new.password
        )
    except AdminRefused as exc:
        raise _refused(exc) from None
    return _json(created, 201)


async def get_sub_account(request: Request) -> Response:
    account = await account_of(request)
    try:
        found = await _resellers(request).sub_account(account.id, request.path_params["id"])
    except AdminRefused as exc:
        raise _refused(exc) from None
    return _json(found)


async def change_sub_account(request: Request) -> Response:
    account = await account_of(request)
    resellers = _resellers(request)
    change = await _body(request, MarkupChange)
    try:
        changed = await resellers.set_markup(account.id, request.path_params["id"], change.markup)
    except AdminRefused as exc:
        raise _refused(exc) from None
    return _json(changed)


async def move_credit(request: Request) -> Response:
    account = await account_of(request)
    resellers = _resellers(request)
    sub_account_id = request.path_params["id"]
    credit = await _body(request, CreditRequest)
    if credit.amount == 0:
        raise Problem(400, "invalid_request", "Invalid request", "amount: must not be 0")
    try:
        moved = await resellers.move_credit(
            account.id, sub_account_id, credit.amount, credit.reference
        )
        sub_account = await resellers.sub_account(account.id, sub_account_id)
    except AdminRefused as exc:
        raise _refused(exc) from None
    except TransferIncomplete as exc:
        raise Problem(503, "transfer_incomplete", "Retry the same transfer", str(exc)) from exc
    if moved.outcome is TransferOutcome.NO_CREDIT:
        giver = account.id if credit.amount > 0 else sub_account_id
        raise Problem(402, "no_credit", "Not enough credit", f"{giver} has too little credit")
    if moved.outcome is TransferOutcome.INSUFFICIENT_BALANCE:
        detail = f"{sub_account_id}'s balance less its holds is below {-credit.amount}"
        raise Problem(402, "insufficient_balance", "Not enough balance", detail)
    if moved.outcome not in (TransferOutcome.OK, TransferOutcome.DUPLICATE):
        raise Problem(409, str(moved.outcome), "Transfer refused", str(moved.outcome))
    return _json(CreditAnswer(transfer=moved, sub_account=sub_account))


@admin_endpoint
async def settle_margins(request: Request, admin: Administration) -> Response:
    """Credits every reseller its margin of a month that is over, once (admin)."""
    body = await _body(request, MarginsRequest)
    try:
        period = month(body.month)
    except ValueError as exc:
        raise Problem(400, "invalid_request", "Invalid request", str(exc)) from None
    return json(MarginsAnswer(margins=await _resellers(request).settle_margins(period)))


routes: list[BaseRoute] = [
    Route("/admin/resellers/margins", settle_margins, methods=["POST"]),
    Route("/v1/sub-accounts", list_sub_accounts, methods=["GET"]),
    Route("/v1/sub-accounts", create_sub_account, methods=["POST"]),
    Route("/v1/sub-accounts/{id}", get_sub_account, methods=["GET"]),
    Route("/v1/sub-accounts/{id}", change_sub_account, methods=["PATCH"]),
    Route("/v1/sub-accounts/{id}/credit", move_credit, methods=["POST"]),
]

_ID = Parameter(name="id", location="path", required=True, description="The sub-account's id")
_PROBLEMS = (401, 403, 404, 503)
OPERATIONS: list[Operation] = [
    admin_operation(
        "resellers",
        "POST",
        "/admin/resellers/margins",
        "Credit every reseller its margin of a month, once (from PostgreSQL)",
        "settleResellerMargins",
        request=MarginsRequest,
        responses={200: MarginsAnswer, 400: "problem", 409: "problem", **AUTH_PROBLEMS},
    ),
    Operation(
        method="GET",
        path="/v1/sub-accounts",
        summary="Your sub-accounts with their balances (resellers only)",
        tag="resellers",
        operation_id="listSubAccounts",
        responses={200: SubAccountList, **dict.fromkeys((401, 403, 503), "problem")},
    ),
    Operation(
        method="POST",
        path="/v1/sub-accounts",
        summary="Create a sub-account in your currency, with its markup",
        tag="resellers",
        operation_id="createSubAccount",
        request=NewSubAccountRequest,
        responses={201: SubAccount, **dict.fromkeys((400, 401, 403, 409, 415, 503), "problem")},
    ),
    Operation(
        method="GET",
        path="/v1/sub-accounts/{id}",
        summary="One of your sub-accounts",
        tag="resellers",
        operation_id="getSubAccount",
        parameters=(_ID,),
        responses={200: SubAccount, **dict.fromkeys(_PROBLEMS, "problem")},
    ),
    Operation(
        method="PATCH",
        path="/v1/sub-accounts/{id}",
        summary="Set a sub-account's markup over your price",
        tag="resellers",
        operation_id="changeSubAccount",
        request=MarkupChange,
        parameters=(_ID,),
        responses={200: SubAccount, **dict.fromkeys((400, 415, *_PROBLEMS), "problem")},
    ),
    Operation(
        method="POST",
        path="/v1/sub-accounts/{id}/credit",
        summary="Move credit down to a sub-account (or back up), once per reference",
        tag="resellers",
        operation_id="moveSubAccountCredit",
        request=CreditRequest,
        parameters=(_ID,),
        responses={200: CreditAnswer, **dict.fromkeys((400, 402, 409, 415, *_PROBLEMS), "problem")},
    ),
]
