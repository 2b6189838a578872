"""The staff console's routing page: the routing document in a text area
(JSON shown; JSON or TOML taken), replaced through `Administration.put_routing`
like ``PUT /admin/routing`` (every issue shown with its place, nothing changed
on error), the tariffs, and the explain form of ``POST /admin/routing/explain``:
which route, connectors and price a number would take, and why."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import AdminRefused, Engine, MtRouted, Rejected, RoutingConfigError, acting_as

_ADDRESS = re.compile(r"[\x20-\x7e]{1,21}")
"""A number or sender as SMPP carries it (the admin API's rule)."""
_MAX_DOCUMENT = 2_000_000
"""Characters: a routing table larger than this is a mistake in a form."""


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def document_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def parse_document(text: str) -> Any:
    """The routing section's data from JSON, or TOML with or without its
    ``[routing]`` nesting; ValueError saying where the text is broken."""
    if len(text) > _MAX_DOCUMENT:
        raise ValueError(f"at most {_MAX_DOCUMENT} characters")
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"neither JSON nor TOML: {exc}") from None
    return data["routing"] if set(data) == {"routing"} else data


def _explain(engine: Engine, values: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """The explanation of the form's sample (MT from its account), or the
    errors of its fields; nothing when no number was asked for yet."""
    if not values["to"]:
        return None, {}
    errors = {}
    if not _ADDRESS.fullmatch(values["to"]):
        errors["to"] = "1 to 21 printable ASCII characters."
    if values["sender"] and not _ADDRESS.fullmatch(values["sender"]):
        errors["sender"] = "1 to 21 printable ASCII characters."
    if not values["account"]:
        errors["account"] = "Choose the account that would send it."
    if errors:
        return None, errors
    try:
        facts = engine.admin.facts(
            source=values["sender"], destination=values["to"], account=values["account"]
        )
    except AdminRefused as exc:
        return None, {"account": exc.detail}
    return engine.admin.explain("mt", facts), {}


def decision_of(explanation: Any) -> dict[str, Any]:
    """What the template shows of the decision: routed (route, connectors,
    price), rejected (route, status, reason) or no route."""
    decision = explanation.decision
    if isinstance(decision, MtRouted):
        return {
            "kind": "routed",
            "route_id": decision.route_id,
            "connectors": list(decision.connectors),
            "sell_per_part": decision.sell_per_part,
            "currency": decision.currency,
            "cost_per_part": decision.cost_per_part,
            "cost_currency": decision.cost_currency,
            "plan_id": decision.plan_id,
        }
    if isinstance(decision, Rejected):
        return {
            "kind": "rejected",
            "route_id": decision.route_id,
            "command_status": decision.command_status,
            "reason": decision.reason,
        }
    return {"kind": "no_route"}


async def _routing_page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    engine = _engine(request)
    values = {name: request.query_params.get(name, "").strip() for name in ("to", "sender")}
    accounts = [account.id for account in await engine.admin.accounts()]
    values["account"] = request.query_params.get("account", accounts[0] if accounts else "")
    explanation, explain_errors = _explain(engine, values)
    routing = engine.admin.routing
    page_context = {
        "document": document_text(engine.admin.routing_document()),
        "issues": [],
        "tariffs": routing.tariffs,
        "plans": routing.plans,
        "currency": str(routing.currency),
        "accounts": accounts,
        "explain": values,
        "explanation": explanation,
        "decision": decision_of(explanation) if explanation is not None else None,
        "explain_errors": explain_errors,
        **context,
    }
    return render(request, "staff_routing.html", page_context, status)


@page
async def routing(request: Request) -> Response:
    """GET shows the document (and explains ``?to=&account=&sender=``); POST
    replaces it, as ``PUT /admin/routing`` does."""
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        return await _routing_page(request, {})
    user = await require_user(request, "admin")
    text = str((await request.form()).get("document", ""))
    try:
        data = parse_document(text)
        with acting_as(f"console:{user.name}"):
            await _engine(request).admin.put_routing(data)
    except ValueError as exc:  # RoutingConfigError is one, with every issue
        issues = (
            [(issue.place, issue.message) for issue in exc.issues]
            if isinstance(exc, RoutingConfigError)
            else [("", str(exc))]
        )
        return await _routing_page(request, {"document": text, "issues": issues}, 422)
    except RedisError as exc:
        issues = [("", f"not published to the other shards, nothing changed: {exc}")]
        return await _routing_page(request, {"document": text, "issues": issues}, 503)
    return RedirectResponse("/console/routing?saved=1", status_code=303)
