"""Route explain: which routes a message met, and why each did or did not apply.

For an operator debugging a table (and for the admin API), every route is
tested by itself with its filters in order, not through the index, and the first
failing filter is reported in words. The route that decides is the first whose
filters match and whose target can deliver, exactly as in ``decide_mt`` and
``decide_mo``; routes after it are only tested, not applied.

Explaining applies the deciding route for real: a round-robin counter advances
and a weighted draw is taken, as for one more message.

An MT explanation also says what priced the message (``pricing``): a plan of
the account or of one of its groups, the account's own tariff or the route's,
and in which currency; the plan that held but had no rate for the destination
is named too, since that is what an operator asks about. It says too whether
the destination is ported (``ported``): its ``network`` is then the one it is on
now, which ``destination_network`` filters test, not its prefix's.
"""

from collections.abc import Callable

import msgspec

from router.decisions import NO_ROUTE, MoDecision, MtDecision, MtRouted
from router.facts import MessageFacts
from router.filters import PreparedMessage
from router.routes import Route
from router.table import RoutingTable
from router.targets import Usable
from router.tariffs import price_on

NOT_TRIED = "filters match; not tried, an earlier route decided"


class RouteTrace(msgspec.Struct, frozen=True, kw_only=True):
    """How one route met the message: ``matched`` means its filters all passed."""

    route_id: str
    matched: bool
    decided: bool
    reason: str


class Explanation(msgspec.Struct, frozen=True, kw_only=True):
    """The destination as routed, one trace per route in table order, and the decision.

    ``country`` is the destination's (ISO 3166-1, or ``""``); ``pricing`` says
    which tariff gave an MT decision's price, whose it is and its currency
    (``""`` when nothing was priced); ``ported`` the network a ported MT
    destination is on now and the one its prefix names (``""`` when not ported).
    """

    destination: str
    network: str
    country: str
    routes: tuple[RouteTrace, ...]
    decision: MtDecision | MoDecision
    pricing: str
    ported: str = ""


def explain_mt(table: RoutingTable, facts: MessageFacts, usable: Usable = None) -> Explanation:
    """Why ``table.decide_mt`` decides what it does for ``facts``."""
    message = table.prepare(facts, mt=True)
    explanation = _explain(message, table.mt_routes, table.apply_mt, usable)
    network = table.ported.network_of(message.destination) if table.ported else None
    if network is None:
        return explanation
    range_network = table.prepare(facts).info.network
    said = f"its prefix says {range_network!r}" if range_network else "its prefix names none"
    return msgspec.structs.replace(explanation, ported=f"ported to {network!r}; {said}")


def explain_mo(table: RoutingTable, facts: MessageFacts, usable: Usable = None) -> Explanation:
    """Why ``table.decide_mo`` decides what it does for ``facts``."""
    return _explain(table.prepare(facts), table.mo_routes, table.apply_mo, usable)


def _explain(
    message: PreparedMessage,
    routes: tuple[Route, ...],
    apply: Callable[[Route, PreparedMessage, Usable], MtDecision | MoDecision | str],
    usable: Usable,
) -> Explanation:
    traces = []
    decision: MtDecision | MoDecision | None = None
    pricing = ""
    for route in routes:
        mismatch = route.mismatch(message)
        if mismatch is not None:
            traces.append(
                RouteTrace(route_id=route.route_id, matched=False, decided=False, reason=mismatch)
            )
            continue
        if decision is not None:
            traces.append(
                RouteTrace(route_id=route.route_id, matched=True, decided=False, reason=NOT_TRIED)
            )
            continue
        outcome = apply(route, message, usable)
        if isinstance(outcome, str):
            traces.append(
                RouteTrace(route_id=route.route_id, matched=True, decided=False, reason=outcome)
            )
            continue
        decision = outcome
        if isinstance(outcome, MtRouted):
            pricing = _priced_by(message, route, outcome)
        traces.append(
            RouteTrace(route_id=route.route_id, matched=True, decided=True, reason="decides")
        )
    return Explanation(
        destination=message.destination,
        network=message.info.network,
        country=message.info.country,
        routes=tuple(traces),
        decision=decision if decision is not None else NO_ROUTE,
        pricing=pricing,
    )


def _priced_by(message: PreparedMessage, route: Route, decision: MtRouted) -> str:
    """Whose tariff gave ``decision`` its price: the account's pricing first, as in ``apply_mt``."""
    pricing = message.pricing
    schedule = message.info.prices.get(pricing.tariff) if pricing.tariff is not None else None
    if schedule is not None and price_on(schedule, message.facts.now.timestamp()) is not None:
        return f"{pricing.source}: tariff {pricing.tariff!r} in {decision.currency}"
    by_route = f"route {route.route_id!r}: tariff {route.sell_tariff!r} in {decision.currency}"
    if pricing.tariff is None:
        return by_route
    return f"{by_route} ({pricing.source}: tariff {pricing.tariff!r} has no rate for it)"
