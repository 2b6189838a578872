"""Routes compiled from config: filters ready to test, a target ready to choose.

The filter order here is the order ``explain`` reports them in: who sent it
first, then where it goes, then what it says, then when.
"""

import random
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from router import targets
from router.decisions import Rejected
from router.filters import (
    WEEKDAY_NUMBERS,
    DateFilter,
    Filter,
    PatternFilter,
    PrefixFilter,
    PreparedMessage,
    TimeOfDayFilter,
    ValueFilter,
)
from router.index import is_indexed
from router.schema import (
    CommonFilters,
    FailoverTarget,
    LeastCostTarget,
    MoFailoverTarget,
    MoRoundRobinTarget,
    MoRouteConfig,
    MoStaticTarget,
    MoTarget,
    MoWeightedTarget,
    MtRouteConfig,
    MtTarget,
    RejectTarget,
    RoundRobinTarget,
    StaticTarget,
    WeightedTarget,
)

_VALUE_FIELDS = ("account", "account_group", "connector", "priority")


@dataclass(frozen=True, slots=True)
class Route:
    """A route ready for decisions.

    ``unindexed`` and ``unindexed_unless`` are the filters the route index does
    not answer; a candidate route tests only these itself, and only when
    ``tests_itself`` says it has any. ``rejection`` is the target of a reject
    route (else None) and ``by_cost`` says the target is least-cost, so a
    decision reads what to do instead of testing the target's type.
    ``sell_tariff`` is the id of the tariff that prices its messages.
    """

    route_id: str
    filters: tuple[Filter, ...]
    unless: tuple[Filter, ...]
    unindexed: tuple[Filter, ...]
    unindexed_unless: tuple[Filter, ...]
    target: targets.Target | Rejected
    sell_tariff: str | None
    tests_itself: bool
    rejection: Rejected | None
    by_cost: bool

    def passes_unindexed(self, message: PreparedMessage) -> bool:
        for item in self.unindexed:
            if not item.matches(message):
                return False
        unless = self.unindexed_unless
        return not unless or not any(item.matches(message) for item in unless)

    def mismatch(self, message: PreparedMessage) -> str | None:
        """Why this route's filters do not match ``message``, or None when they do."""
        for item in self.filters:
            if not item.matches(message):
                return f"filters.{item.field}: {item.observed(message)}, wanted {item.summary()}"
        for item in self.unless:
            if item.matches(message):
                return f"unless.{item.field}: {item.observed(message)}, excluded {item.summary()}"
        return None


def compile_mt_route(config: MtRouteConfig, source: random.Random) -> Route:
    """``source`` is the ``random.Random`` of weighted targets."""
    filters = compile_filters(config.filters)
    unless = compile_filters(config.unless) if config.unless else ()
    target = _mt_target(config.id, config.target, source)
    return _route(config.id, filters, unless, target, config.sell_tariff)


def compile_mo_route(config: MoRouteConfig, source: random.Random) -> Route:
    """``source`` is the ``random.Random`` of weighted targets."""
    filters = compile_filters(config.filters)
    unless = compile_filters(config.unless) if config.unless else ()
    return _route(config.id, filters, unless, _mo_target(config.id, config.target, source), None)


def compile_filters(config: CommonFilters) -> tuple[Filter, ...]:
    """The filters of one ``filters`` or ``unless`` table, in explain order."""
    compiled: list[Filter] = []
    for field in _VALUE_FIELDS:
        values = getattr(config, field, None)
        if values is not None:
            compiled.append(ValueFilter(field, frozenset(values)))
    if config.source is not None:
        compiled.append(PatternFilter("source", re.compile(config.source)))
    if config.destination_prefix is not None:
        compiled.append(PrefixFilter(tuple(config.destination_prefix)))
    if config.destination_network is not None:
        compiled.append(ValueFilter("destination_network", frozenset(config.destination_network)))
    for field in ("destination", "content"):
        pattern = getattr(config, field)
        if pattern is not None:
            compiled.append(PatternFilter(field, re.compile(pattern)))
    for field in ("data_coding", "tag"):
        values = getattr(config, field)
        if values is not None:
            compiled.append(ValueFilter(field, frozenset(values)))
    if config.date is not None:
        compiled.append(
            DateFilter(_timestamp(config.date.start, -1), _timestamp(config.date.end, 1))
        )
    window = config.time_of_day
    if window is not None:
        weekdays = window.weekdays or list(WEEKDAY_NUMBERS)
        compiled.append(
            TimeOfDayFilter(
                start=window.start,
                end=window.end,
                zone=zoneinfo.ZoneInfo(window.timezone),
                weekdays=frozenset(WEEKDAY_NUMBERS[day] for day in weekdays),
            )
        )
    return tuple(compiled)


def prefix_count(routes: tuple[Route, ...]) -> int:
    """How many distinct destination prefixes the filters of ``routes`` name."""
    prefixes: set[str] = set()
    for route in routes:
        for item in route.filters + route.unless:
            if isinstance(item, PrefixFilter):
                prefixes.update(item.prefixes)
    return len(prefixes)


def _route(
    route_id: str,
    filters: tuple[Filter, ...],
    unless: tuple[Filter, ...],
    target: targets.Target | Rejected,
    sell_tariff: str | None,
) -> Route:
    unindexed = tuple(item for item in filters if not is_indexed(item))
    unindexed_unless = tuple(item for item in unless if not is_indexed(item))
    return Route(
        route_id=route_id,
        filters=filters,
        unless=unless,
        unindexed=unindexed,
        unindexed_unless=unindexed_unless,
        target=target,
        sell_tariff=sell_tariff,
        tests_itself=bool(unindexed or unindexed_unless),
        rejection=target if isinstance(target, Rejected) else None,
        by_cost=isinstance(target, targets.LeastCostTarget),
    )


_MT_TARGETS: dict[type, Callable[[Any, random.Random], targets.Target]] = {
    StaticTarget: lambda config, _: targets.StaticTarget(config.connector),
    WeightedTarget: lambda config, source: targets.WeightedTarget(dict(config.weights), source),
    RoundRobinTarget: lambda config, _: targets.RoundRobinTarget(config.connectors),
    FailoverTarget: lambda config, _: targets.FailoverTarget(tuple(config.connectors)),
    LeastCostTarget: lambda config, _: targets.LeastCostTarget(config.connectors),
}
_MO_TARGETS: dict[type, Callable[[Any, random.Random], targets.UsabilityTarget]] = {
    MoStaticTarget: lambda config, _: targets.StaticTarget(config.account),
    MoWeightedTarget: lambda config, source: targets.WeightedTarget(dict(config.weights), source),
    MoRoundRobinTarget: lambda config, _: targets.RoundRobinTarget(config.accounts),
    MoFailoverTarget: lambda config, _: targets.FailoverTarget(tuple(config.accounts)),
}


def _mt_target(route_id: str, config: MtTarget, source: random.Random) -> targets.Target | Rejected:
    if isinstance(config, RejectTarget):
        return _rejection(route_id, config)
    return _MT_TARGETS[type(config)](config, source)


def _mo_target(
    route_id: str, config: MoTarget, source: random.Random
) -> targets.UsabilityTarget | Rejected:
    if isinstance(config, RejectTarget):
        return _rejection(route_id, config)
    return _MO_TARGETS[type(config)](config, source)


def _rejection(route_id: str, config: RejectTarget) -> Rejected:
    return Rejected(route_id=route_id, command_status=config.command_status, reason=config.reason)


def _timestamp(moment: datetime | None, open_side: int) -> float:
    return moment.timestamp() if moment is not None else open_side * float("inf")
