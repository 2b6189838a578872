"""Route targets: which connectors (MT) or accounts (MO) a matched route yields.

Each target turns the endpoints usable right now into the ordered list the
engine tries: the first gets the message, the rest are where it fails over on a
temporary error. Health is the engine's knowledge, handed in as a container of
usable ids (``None``: all usable); an unusable endpoint is left out, and a
target left with none makes its route not apply, so the next route is tried.
"""

import itertools
import random
from bisect import bisect_right
from collections.abc import Container, Sequence
from dataclasses import dataclass

from router.destinations import Costs
from router.tariffs import price_in

Usable = Container[str] | None
"""Endpoints that can take a message now (connectors for MT, accounts for MO); None: all."""


@dataclass(frozen=True, slots=True)
class StaticTarget:
    """Always the same endpoint."""

    endpoint: str

    @property
    def endpoints(self) -> tuple[str, ...]:
        return (self.endpoint,)

    def choose(self, usable: Usable) -> tuple[str, ...]:
        if usable is None or self.endpoint in usable:
            return (self.endpoint,)
        return ()


@dataclass(frozen=True, slots=True)
class FailoverTarget:
    """Endpoints in the configured order of preference."""

    endpoints: tuple[str, ...]

    def choose(self, usable: Usable) -> tuple[str, ...]:
        if usable is None:
            return self.endpoints
        return tuple(endpoint for endpoint in self.endpoints if endpoint in usable)


class RoundRobinTarget:
    """Each message starts one endpoint further along; the others follow in turn.

    The turn is taken among usable endpoints, so when one is down the others
    share its load evenly. The counter belongs to the route and restarts when a
    new table is loaded.
    """

    __slots__ = ("_counter", "_rotations")

    def __init__(self, endpoints: Sequence[str]) -> None:
        ordered = tuple(endpoints)
        self._rotations = tuple(ordered[i:] + ordered[:i] for i in range(len(ordered)))
        self._counter = itertools.count()

    @property
    def endpoints(self) -> tuple[str, ...]:
        return self._rotations[0]

    def choose(self, usable: Usable) -> tuple[str, ...]:
        turn = next(self._counter)
        if usable is None:
            return self._rotations[turn % len(self._rotations)]
        ready = tuple(endpoint for endpoint in self._rotations[0] if endpoint in usable)
        if not ready:
            return ()
        start = turn % len(ready)
        return ready[start:] + ready[:start]


class WeightedTarget:
    """One endpoint drawn with probability proportional to its weight, then the rest.

    The rest follow in configured order as failover. The random source is
    injected so tests can fix it.
    """

    __slots__ = ("_cumulative", "_orders", "_random", "endpoints", "weights")

    def __init__(self, weights: dict[str, int], source: random.Random) -> None:
        self.endpoints = tuple(weights)
        self.weights = tuple(weights.values())
        self._cumulative = tuple(itertools.accumulate(self.weights))
        self._orders = _orders(self.endpoints)
        self._random = source

    def choose(self, usable: Usable) -> tuple[str, ...]:
        if usable is None:
            return self._orders[self._draw(self._cumulative)]
        pairs = [(e, w) for e, w in zip(self.endpoints, self.weights, strict=True) if e in usable]
        if not pairs:
            return ()
        endpoints = tuple(endpoint for endpoint, _ in pairs)
        drawn = self._draw(tuple(itertools.accumulate(weight for _, weight in pairs)))
        return (endpoints[drawn], *endpoints[:drawn], *endpoints[drawn + 1 :])

    def _draw(self, cumulative: tuple[int, ...]) -> int:
        """The position drawn, each with probability proportional to its weight."""
        drawn = bisect_right(cumulative, self._random.random() * cumulative[-1])
        return min(drawn, len(cumulative) - 1)


def _orders(endpoints: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Per endpoint drawn first, the order to try: it, then the others as configured."""
    return tuple(
        (endpoint, *endpoints[:drawn], *endpoints[drawn + 1 :])
        for drawn, endpoint in enumerate(endpoints)
    )


class LeastCostTarget:
    """Usable connectors that carry the destination, cheapest first.

    A connector carries a destination when its cost tariff has a rate valid now
    for it; ties keep the configured order. Costs come with the destination
    (``router.destinations``), looked up once per decision.
    """

    __slots__ = ("endpoints",)

    def __init__(self, connectors: Sequence[str]) -> None:
        self.endpoints = tuple(connectors)

    def choose_priced(
        self, usable: Usable, costs: Costs, now: float
    ) -> tuple[tuple[str, ...], int | None]:
        """The connectors, cheapest first, and the cost of the first."""
        priced = []
        for position, connector in enumerate(self.endpoints):
            windows = costs.get(connector)
            if windows is None or (usable is not None and connector not in usable):
                continue
            cost = price_in(windows, now)
            if cost is not None:
                priced.append((cost, position, connector))
        if not priced:
            return (), None
        priced.sort()
        return tuple([connector for _, _, connector in priced]), priced[0][0]


Target = StaticTarget | FailoverTarget | RoundRobinTarget | WeightedTarget | LeastCostTarget
UsabilityTarget = StaticTarget | FailoverTarget | RoundRobinTarget | WeightedTarget
"""Targets that order endpoints by usability alone; MO routes have only these."""
