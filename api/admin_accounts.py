"""Admin endpoints for accounts: settings, SMPP password, API keys, credit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import (
    AUTH_PROBLEMS,
    Reason,
    admin_endpoint,
    admin_operation,
    decode,
    engine_of,
    json,
    path_id,
)
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import (
    MAX_AMOUNT,
    AccountChanges,
    AccountView,
    AdjustOutcome,
    Administration,
    Balance,
    NewAccount,
    SmppPassword,
)


class AccountList(msgspec.Struct, frozen=True):
    accounts: list[AccountView]


class GroupList(msgspec.Struct, frozen=True):
    groups: list[str]


class PasswordRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    password: SmppPassword | None = None
    """None: generate one (8 letters and digits) and show it once."""


class PasswordAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    account: str
    password: str | None = None
    """Only when generated: shown this once, never again."""


class NewApiKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Annotated[
        str,
        Meta(
            max_length=100,
            pattern=r"^[\x20-\x7e]*$(?!\n)",
            description="Up to 100 printable ASCII characters.",
        ),
    ] = ""


class ApiKeyView(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    label: str
    created_at: datetime
    """RFC 3339, UTC."""
    revoked_at: datetime | None
    """RFC 3339, UTC; None while the key works."""


class IssuedApiKey(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    label: str
    created_at: datetime
    key: str
    """Shown this once: only its SHA-256 is kept."""


class ApiKeyList(msgspec.Struct, frozen=True):
    api_keys: list[ApiKeyView]


class Adjustment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: Annotated[
        int,
        Meta(
            ge=-MAX_AMOUNT,
            le=MAX_AMOUNT,
            description="Micro-units; positive tops up, negative debits; never 0.",
        ),
    ]
    reason: Reason
    reference: Annotated[
        str,
        Meta(
            pattern=r"^[!-~]{1,128}$(?!\n)",
            description="1 to 128 printable ASCII characters without spaces; the same"
            " reference again changes nothing.",
        ),
    ]
    method: Literal["bank_transfer", "card", "cash", "credit_note", "other"] = "other"
    """How a top-up was paid, kept with its payment record (docs/billing.md)."""


class AdjustmentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    outcome: str
    """``ok``, or ``duplicate`` when this reference was already applied (nothing changed)."""
    balance: int
    held: int
    currency: str


_ADJUST_PROBLEMS = {
    AdjustOutcome.NO_CREDIT: (409, "no_credit", "The debit exceeds the available credit"),
    AdjustOutcome.BALANCE_LIMIT: (422, "balance_limit", "The balance would leave its range"),
    AdjustOutcome.UNKNOWN_ACCOUNT: (404, "unknown_account", "Account unknown to the ledger"),
}


# -- accounts and groups -----------------------------------------------------------


@admin_endpoint
async def list_accounts(request: Request, admin: Administration) -> Response:
    return json(AccountList(await admin.accounts()))


@admin_endpoint
async def create_account(request: Request, admin: Administration) -> Response:
    new = await decode(request, NewAccount)
    return json(await admin.create_account(new), 201)


@admin_endpoint
async def get_account(request: Request, admin: Administration) -> Response:
    return json(await admin.account(path_id(request, "account_id")))


@admin_endpoint
async def update_account(request: Request, admin: Administration) -> Response:
    account_id = path_id(request, "account_id")
    changes = await decode(request, AccountChanges)
    return json(await admin.update_account(account_id, changes))


@admin_endpoint
async def list_groups(request: Request, admin: Administration) -> Response:
    return json(GroupList(admin.groups()))


# -- credentials -------------------------------------------------------------------


@admin_endpoint
async def set_password(request: Request, admin: Administration) -> Response:
    account_id = path_id(request, "account_id")
    body = await decode(request, PasswordRequest)
    generated = await admin.set_password(account_id, body.password)
    return json(PasswordAnswer(account=account_id, password=generated))


def _utc(seconds: int) -> datetime:
    """Stored as Unix seconds; shown, like every time of the API, in RFC 3339."""
    return datetime.fromtimestamp(seconds, UTC)


@admin_endpoint
async def list_api_keys(request: Request, admin: Administration) -> Response:
    records = await admin.api_keys_of(path_id(request, "account_id"))
    return json(
        ApiKeyList(
            [
                ApiKeyView(
                    key_id=r.key_id,
                    label=r.label,
                    created_at=_utc(r.created_at),
                    revoked_at=_utc(r.revoked_at) if r.revoked_at else None,
                )
                for r in records
            ]
        )
    )


@admin_endpoint
async def issue_api_key(request: Request, admin: Administration) -> Response:
    account_id = admin.known(path_id(request, "account_id")).id
    body = await decode(request, NewApiKey)
    record, key = await engine_of(request).issue_api_key(account_id, body.label)
    issued = IssuedApiKey(
        key_id=record.key_id, label=record.label, created_at=_utc(record.created_at), key=key
    )
    return json(issued, 201)


@admin_endpoint
async def revoke_api_key(request: Request, admin: Administration) -> Response:
    account_id = admin.known(path_id(request, "account_id")).id
    key_id = path_id(request, "key_id")
    if not await engine_of(request).revoke_api_key(account_id, key_id):
        raise Problem(
            404, "unknown_key", "No such key", "unknown, already revoked or not this account's"
        )
    return Response(status_code=204)


# -- credit ------------------------------------------------------------------------


@admin_endpoint
async def get_balance(request: Request, admin: Administration) -> Response:
    account_id = admin.known(path_id(request, "account_id")).id
    found = await engine_of(request).balance(account_id)
    if found is None:
        raise Problem(404, "unknown_account", "Account unknown to the ledger")
    return json(found)


@admin_endpoint
async def adjust_balance(request: Request, admin: Administration) -> Response:
    account_id = path_id(request, "account_id")
    body = await decode(request, Adjustment)
    if body.amount == 0:
        raise Problem(400, "invalid_request", "Invalid request", "amount must not be 0 ($.amount)")
    try:
        result = await admin.adjust(
            account_id,
            body.amount,
            reason=body.reason,
            reference=body.reference,
            method=body.method,
        )
    except ValueError as exc:  # the ledger's own checks (e.g. an unprintable reason)
        raise Problem(400, "invalid_request", "Invalid request", str(exc)) from exc
    problem = _ADJUST_PROBLEMS.get(result.outcome)
    if problem is not None:
        status, code, title = problem
        raise Problem(status, code, title, reference=result.reference)
    answer = AdjustmentAnswer(
        reference=result.reference,
        outcome=str(result.outcome),
        balance=result.balance,
        held=result.held,
        currency=engine_of(request).billing.currency_of(account_id),
    )
    return json(answer, 201 if result.outcome is AdjustOutcome.OK else 200)


_ACCOUNT = "/admin/accounts/{account_id}"

routes: list[BaseRoute] = [
    Route("/admin/accounts", list_accounts, methods=["GET"]),
    Route("/admin/accounts", create_account, methods=["POST"]),
    Route(_ACCOUNT, get_account, methods=["GET"]),
    Route(_ACCOUNT, update_account, methods=["PATCH"]),
    Route("/admin/groups", list_groups, methods=["GET"]),
    Route(f"{_ACCOUNT}/smpp-password", set_password, methods=["PUT"]),
    Route(f"{_ACCOUNT}/api-keys", list_api_keys, methods=["GET"]),
    Route(f"{_ACCOUNT}/api-keys", issue_api_key, methods=["POST"]),
    Route(f"{_ACCOUNT}/api-keys/{{key_id}}", revoke_api_key, methods=["DELETE"]),
    Route(f"{_ACCOUNT}/balance", get_balance, methods=["GET"]),
    Route(f"{_ACCOUNT}/balance/adjustments", adjust_balance, methods=["POST"]),
]

_AUTH = AUTH_PROBLEMS
_ACCOUNT_ID = Parameter(name="account_id", location="path")


def _op(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return admin_operation("admin: accounts", method, path, summary, operation_id, **fields)


OPERATIONS: list[Operation] = [
    _op(
        "GET",
        "/admin/accounts",
        "Every account of this shard, with its ledger state",
        "adminListAccounts",
        responses={200: AccountList, **_AUTH, 503: "problem"},
    ),
    _op(
        "POST",
        "/admin/accounts",
        "Create an account (in the ledger, on this shard, published to the others)",
        "adminCreateAccount",
        request=NewAccount,
        responses={201: AccountView, 400: "problem", **_AUTH, 409: "problem", 415: "problem"}
        | {422: "problem", 503: "problem"},
    ),
    _op(
        "GET",
        _ACCOUNT,
        "One account",
        "adminGetAccount",
        parameters=(_ACCOUNT_ID,),
        responses={200: AccountView, **_AUTH, 404: "problem", 503: "problem"},
    ),
    _op(
        "PATCH",
        _ACCOUNT,
        "Change an account's settings or limits, disable or enable it",
        "adminUpdateAccount",
        request=AccountChanges,
        parameters=(_ACCOUNT_ID,),
        responses={200: AccountView, 400: "problem", **_AUTH, 404: "problem", 415: "problem"}
        | {422: "problem", 503: "problem"},
    ),
    _op(
        "GET",
        "/admin/groups",
        "Every account group in use",
        "adminListGroups",
        responses={200: GroupList, **_AUTH},
    ),
    _op(
        "PUT",
        f"{_ACCOUNT}/smpp-password",
        "Set or replace the SMPP password; without one, a generated password is shown once",
        "adminSetSmppPassword",
        request=PasswordRequest,
        parameters=(_ACCOUNT_ID,),
        responses={200: PasswordAnswer, 400: "problem", **_AUTH, 404: "problem", 415: "problem"},
    ),
    _op(
        "GET",
        f"{_ACCOUNT}/api-keys",
        "The account's API keys (ids and labels, never the keys)",
        "adminListApiKeys",
        parameters=(_ACCOUNT_ID,),
        responses={200: ApiKeyList, **_AUTH, 404: "problem", 503: "problem"},
    ),
    _op(
        "POST",
        f"{_ACCOUNT}/api-keys",
        "Issue an API key (shown once)",
        "adminIssueApiKey",
        request=NewApiKey,
        parameters=(_ACCOUNT_ID,),
        responses={201: IssuedApiKey, 400: "problem", **_AUTH, 404: "problem", 415: "problem"}
        | {503: "problem"},
    ),
    _op(
        "DELETE",
        f"{_ACCOUNT}/api-keys/{{key_id}}",
        "Revoke an API key",
        "adminRevokeApiKey",
        parameters=(_ACCOUNT_ID, Parameter(name="key_id", location="path")),
        responses={204: None, **_AUTH, 404: "problem", 503: "problem"},
    ),
    _op(
        "GET",
        f"{_ACCOUNT}/balance",
        "The account's balance, held amount and credit limit (micro-units)",
        "adminGetBalance",
        parameters=(_ACCOUNT_ID,),
        responses={200: Balance, **_AUTH, 404: "problem", 503: "problem"},
    ),
    _op(
        "POST",
        f"{_ACCOUNT}/balance/adjustments",
        "Top up or debit the balance, with a reason; idempotent by reference",
        "adminAdjustBalance",
        request=Adjustment,
        parameters=(_ACCOUNT_ID,),
        responses={201: AdjustmentAnswer, 200: AdjustmentAnswer, 400: "problem", **_AUTH}
        | {404: "problem", 409: "problem", 415: "problem", 422: "problem", 503: "problem"},
    ),
]
