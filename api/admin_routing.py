"""Admin endpoints for the routing table: read it, replace it whole, explain a decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import AUTH_PROBLEMS, admin_endpoint, decode, json
from api.openapi import Operation
from api.problems import Problem
from engine import (
    Administration,
    AdminRefused,
    MoRouted,
    MtRouted,
    PriorityName,
    Rejected,
    RouteTrace,
    RoutingConfig,
    RoutingConfigError,
)

_Address = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=21,
        pattern=r"^[\x20-\x7e]+$(?!\n)",
        description="1 to 21 printable ASCII characters.",
    ),
]
_Name = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_.\-]{1,64}$(?!\n)",
        description="1 to 64 letters, digits, '_', '.' or '-'.",
    ),
]


class RoutingIssue(msgspec.Struct, frozen=True):
    place: str
    message: str


class RoutingApplied(msgspec.Struct, frozen=True, kw_only=True):
    mt_routes: int
    mo_routes: int
    published: bool
    """Sent to the other shards on Redis pub/sub (False without Redis)."""


class ExplainRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename={"sender": "from"}
):
    """A sample message: MT from ``account``, or MO from ``connector``."""

    direction: Literal["mt", "mo"] = "mt"
    account: _Name | None = None
    connector: _Name | None = None
    sender: _Address
    to: _Address
    text: Annotated[str, Meta(max_length=10_000)] = ""
    data_coding: Annotated[int, Meta(ge=0, le=255)] = 0
    priority: PriorityName | None = None
    """Default: the account's."""
    tags: Annotated[list[_Name], Meta(max_length=32)] = msgspec.field(default_factory=list)
    at: Annotated[datetime, Meta(tz=True)] | None = None
    """When to route it (time-of-day and dated rules, tariffs); default now."""


class Decision(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    kind: Literal["routed", "rejected", "no_route"]
    route_id: str | None = None
    connectors: list[str] | None = None
    """MT: tried in this order."""
    accounts: list[str] | None = None
    """MO: tried in this order."""
    destination: str | None = None
    network: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2 of the destination."""
    sell_per_part: int | None = None
    """The list price per part, in ``currency`` (the account's discount and
    exchange rate apply at accept: docs/billing.md)."""
    cost_per_part: int | None = None
    currency: str | None = None
    cost_currency: str | None = None
    plan_id: str | None = None
    """The tariff plan that priced it, when one did."""
    command_status: int | None = None
    reason: str | None = None


class ExplainAnswer(msgspec.Struct, frozen=True, kw_only=True):
    destination: str
    """In international form, as routed and priced."""
    network: str
    country: str
    routes: list[RouteTrace]
    """Every route in table order: whether its filters matched, and why not."""
    decision: Decision
    pricing: str
    """Which tariff priced it, whose (plan, account, route) and in which currency."""
    ported: str = ""
    """For a ported number: the network it is on now and the one its prefix says."""


@admin_endpoint
async def get_routing(request: Request, admin: Administration) -> Response:
    return json(admin.routing_document())


@admin_endpoint
async def put_routing(request: Request, admin: Administration) -> Response:
    """Every issue of the document at once, each with its place; nothing changes then."""
    data = await decode(request, Any)  # type: ignore[arg-type]
    try:
        config = await admin.put_routing(data)
    except RoutingConfigError as exc:
        issues = [RoutingIssue(issue.place, issue.message) for issue in exc.issues]
        raise Problem(
            422,
            "invalid_routing",
            "The routing document has errors",
            f"{len(issues)} issue(s)",
            issues=msgspec.to_builtins(issues),
        ) from exc
    applied = RoutingApplied(
        mt_routes=len(config.mt_routes),
        mo_routes=len(config.mo_routes),
        published=admin.redis is not None,
    )
    return json(applied)


@admin_endpoint
async def explain(request: Request, admin: Administration) -> Response:
    sample = await decode(request, ExplainRequest)
    if sample.direction == "mt" and sample.account is None:
        raise Problem(400, "invalid_request", "Invalid request", "an MT sample needs an account")
    if sample.direction == "mo" and sample.connector is None:
        raise Problem(400, "invalid_request", "Invalid request", "an MO sample needs a connector")
    try:
        facts = admin.facts(
            source=sample.sender,
            destination=sample.to,
            account=sample.account or "",
            connector=sample.connector or "",
            content=sample.text,
            data_coding=sample.data_coding,
            priority=sample.priority,
            tags=sample.tags,
            at=sample.at,
        )
    except AdminRefused as exc:
        raise Problem(422, exc.code, "Unknown account", exc.detail) from exc
    found = admin.explain(sample.direction, facts)
    answer = ExplainAnswer(
        destination=found.destination,
        network=found.network,
        country=found.country,
        routes=list(found.routes),
        decision=_decision(found.decision),
        pricing=found.pricing,
        ported=found.ported,
    )
    return json(answer)


def _decision(decision: object) -> Decision:
    if isinstance(decision, MtRouted):
        return Decision(
            kind="routed",
            route_id=decision.route_id,
            connectors=list(decision.connectors),
            destination=decision.destination,
            network=decision.network,
            country=decision.country or None,
            sell_per_part=decision.sell_per_part,
            cost_per_part=decision.cost_per_part,
            currency=decision.currency,
            cost_currency=decision.cost_currency,
            plan_id=decision.plan_id or None,
        )
    if isinstance(decision, MoRouted):
        return Decision(kind="routed", route_id=decision.route_id, accounts=list(decision.accounts))
    if isinstance(decision, Rejected):
        return Decision(
            kind="rejected",
            route_id=decision.route_id,
            command_status=decision.command_status,
            reason=decision.reason,
        )
    return Decision(kind="no_route")


routes: list[BaseRoute] = [
    Route("/admin/routing", get_routing, methods=["GET"]),
    Route("/admin/routing", put_routing, methods=["PUT"]),
    Route("/admin/routing/explain", explain, methods=["POST"]),
]

_AUTH = AUTH_PROBLEMS

OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path="/admin/routing",
        summary="The routing table in use (routes, tariffs, numbering), as PUT takes it",
        tag="admin: routing",
        operation_id="adminGetRouting",
        security="admin",
        responses={200: RoutingConfig, **_AUTH},
    ),
    Operation(
        method="PUT",
        path="/admin/routing",
        summary="Replace the routing table whole: checked first, swapped atomically, "
        "published to every shard",
        tag="admin: routing",
        operation_id="adminPutRouting",
        security="admin",
        request=RoutingConfig,
        responses={200: RoutingApplied, 400: "problem", **_AUTH, 415: "problem", 422: "problem"}
        | {503: "problem"},
    ),
    Operation(
        method="POST",
        path="/admin/routing/explain",
        summary="Which route a sample message takes, and why every route did or did not apply",
        tag="admin: routing",
        operation_id="adminExplainRoute",
        security="admin",
        request=ExplainRequest,
        responses={200: ExplainAnswer, 400: "problem", **_AUTH, 415: "problem", 422: "problem"},
    ),
]
