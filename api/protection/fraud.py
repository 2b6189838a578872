"""The fraud guard's admin endpoints (docs/fraud.md): review and lift its
automatic blocks, set an account's geo list and limits.

- ``/admin/fraud/blocks`` GET (``?account=`` to filter): the blocks in force
  (rule, refusal code, reason with its figures, since, until) and the
  allowances lifts gave;
- ``/admin/fraud/blocks/{account}/{prefix}`` DELETE (``?allow_for=`` seconds,
  default `LIFT_ALLOWANCE`; 0 lifts only, and a rule whose figures still
  exceed blocks again at the next message): 404 ``unknown_block`` when none;
- ``/admin/fraud/accounts/{account}`` GET: the account's settings in force,
  where they come from (``admin``, ``config``, ``default``) and its limits;
  PUT: a `FraudSettings` document replacing the admin's settings of the
  account (unset limits: the shard's defaults).

Every shard applies a lift or a settings change at once (pub/sub).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
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
    path_id,
)
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import (
    LIFT_ALLOWANCE,
    Administration,
    AdminRefused,
    Allowance,
    Block,
    FraudConfig,
    FraudGuard,
    FraudLimits,
    FraudSettings,
    Rule,
)
from engine import FraudSource as Source

_PREFIX_DIGITS = 15
_ALLOW_FOR_MAX = FraudConfig().allow_for_max
"""The default: a shard configured otherwise refuses more with a 400."""


class BlockView(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    prefix: str
    """A destination prefix, or a whole number (the per-number limit)."""
    rule: Rule
    code: str
    """What a refused message gets: ``blocked_velocity``, ``blocked_spike``..."""
    reason: str
    since: datetime
    until: datetime | None
    """None: until an admin lifts it."""
    shard: str
    """The shard that made it."""


class AllowanceView(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    prefix: str
    until: datetime
    """The automatic rules leave this prefix alone until then."""
    lifted: BlockView


class BlockList(msgspec.Struct, frozen=True, kw_only=True):
    blocks: list[BlockView]
    allowances: list[AllowanceView]


class Lifted(msgspec.Struct, frozen=True, kw_only=True):
    lifted: BlockView
    allowed_until: datetime | None
    """None: lifted without an allowance."""


class AccountFraud(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    source: Source
    """Where ``settings`` come from: the admin API, the config file, or none set."""
    settings: FraudSettings
    limits: FraudLimits
    """The limits in force: ``settings``' own, else the shard's defaults."""


def _guard(request: Request) -> FraudGuard:
    """The shard's fraud guard: ``Engine.protection.fraud``."""
    guard: FraudGuard | None = engine_of(request).protection.fraud
    if guard is None:
        raise Problem(
            503, "fraud_guard_off", "No fraud guard", "[fraud] enabled = false on this shard"
        )
    return guard


def _time(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _block(block: Block) -> BlockView:
    return BlockView(
        account=block.account,
        prefix=block.prefix,
        rule=block.rule,
        code=block.code,
        reason=block.reason,
        since=_time(block.since),
        until=_time(block.until) if block.until else None,
        shard=block.shard,
    )


def _allowance(allowance: Allowance) -> AllowanceView:
    return AllowanceView(
        account=allowance.account,
        prefix=allowance.prefix,
        until=_time(allowance.until),
        lifted=_block(allowance.lifted),
    )


def _account(guard: FraudGuard, account: str) -> AccountFraud:
    rules = guard.rules_of(account)
    return AccountFraud(
        account=account,
        source=rules.source,
        settings=rules.settings,
        limits=rules.limits,
    )


@admin_endpoint
async def list_blocks(request: Request, admin: Administration) -> Response:
    account = request.query_params.get("account")
    guard = _guard(request)
    blocks = [_block(block) for block in guard.blocks(account)]
    allowances = [_allowance(allowance) for allowance in guard.allowances(account)]
    return json(BlockList(blocks=blocks, allowances=allowances))


@admin_endpoint
async def lift_block(request: Request, admin: Administration) -> Response:
    account = path_id(request, "account")
    prefix: str = request.path_params["prefix"]
    if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= _PREFIX_DIGITS):
        raise Problem(404, "unknown_block", "No such block", prefix[:80])
    allow_for = _seconds(request.query_params.get("allow_for"))
    try:
        block, allowance = await _guard(request).lift(account, prefix, allow_for)
    except AdminRefused as exc:
        if exc.code == "unknown_block":
            raise Problem(404, exc.code, "No such block", exc.detail) from exc
        raise
    except ValueError as exc:
        raise invalid(str(exc)) from exc
    await admin.audit.record(
        "fraud.lift", f"{account}/{prefix}", rule=block.rule, allow_for=allow_for
    )
    until = _time(allowance.until) if allowance is not None else None
    return json(Lifted(lifted=_block(block), allowed_until=until))


@admin_endpoint
async def get_account(request: Request, admin: Administration) -> Response:
    account = path_id(request, "account")
    return json(_account(_guard(request), account))


@admin_endpoint
async def put_account(request: Request, admin: Administration) -> Response:
    account = path_id(request, "account")
    settings = await decode(request, FraudSettings)
    guard = _guard(request)
    await guard.put_settings(account, settings)
    await admin.audit.record("fraud.account", account, **msgspec.to_builtins(settings))
    return json(_account(guard, account))


def _seconds(given: str | None) -> float:
    """``?allow_for=``: seconds (absent: `LIFT_ALLOWANCE`)."""
    if given is None:
        return LIFT_ALLOWANCE
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise invalid(f"allow_for: {given[:40]!r} is not a number of seconds")
    return seconds


_BLOCKS = "/admin/fraud/blocks"
_ACCOUNT = "/admin/fraud/accounts/{account}"

routes: list[BaseRoute] = [
    Route(_BLOCKS, list_blocks, methods=["GET"]),
    Route(_BLOCKS + "/{account}/{prefix}", lift_block, methods=["DELETE"]),
    Route(_ACCOUNT, get_account, methods=["GET"]),
    Route(_ACCOUNT, put_account, methods=["PUT"]),
]


def _op(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return admin_operation("admin: fraud", method, path, summary, operation_id, **fields)


_ACCOUNT_PARAMETER = Parameter(name="account", location="path", required=True)

OPERATIONS: list[Operation] = [
    _op(
        "GET",
        _BLOCKS,
        "The fraud guard's automatic blocks in force, why and since when, and"
        " the allowances given by lifts",
        "adminListFraudBlocks",
        parameters=(Parameter(name="account", description="Only this account's."),),
        responses={200: BlockList, **AUTH_PROBLEMS},
    ),
    _op(
        "DELETE",
        _BLOCKS + "/{account}/{prefix}",
        "Lift a block on every shard; the automatic rules then leave the prefix"
        f" alone for allow_for seconds (default {LIFT_ALLOWANCE:.0f}; 0: none)",
        "adminLiftFraudBlock",
        parameters=(
            _ACCOUNT_PARAMETER,
            Parameter(
                name="prefix",
                location="path",
                required=True,
                schema={"type": "string", "pattern": "^[0-9]{1,15}$"},
            ),
            Parameter(
                name="allow_for",
                schema={"type": "number", "minimum": 0, "maximum": _ALLOW_FOR_MAX},
                description="Seconds the automatic rules leave the prefix alone"
                " (at most the shard's [fraud] allow_for_max).",
            ),
        ),
        responses={200: Lifted, 400: "problem", 404: "problem", 503: "problem", **AUTH_PROBLEMS},
    ),
    _op(
        "GET",
        _ACCOUNT,
        "An account's geo-permissions and fraud limits in force, and where they come from",
        "adminGetFraudAccount",
        parameters=(_ACCOUNT_PARAMETER,),
        responses={200: AccountFraud, 404: "problem", **AUTH_PROBLEMS},
    ),
    _op(
        "PUT",
        _ACCOUNT,
        "Replace an account's geo-permissions and fraud limits on every shard",
        "adminPutFraudAccount",
        parameters=(_ACCOUNT_PARAMETER,),
        request=FraudSettings,
        responses={
            200: AccountFraud,
            400: "problem",
            404: "problem",
            415: "problem",
            503: "problem",
            **AUTH_PROBLEMS,
        },
    ),
]
