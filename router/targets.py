"""Route targets: which connectors (MT) or accounts (MO) a matched route yields.

Each target turns the endpoints usable right now into the ordered list the
engine tries: the first gets the message, the rest are where it fails over on a
temporary error. Health is the engine's knowledge, handed in as a container of
usable ids (``None``: all usable); an unusable endpoint is left out, and a
target left with none makes its route not apply, so the next route is tried.

The engine hands the same few frozensets of live connectors to thousands of
decisions, so what a target derives from one (its endpoints left, their
rotations or weights) is remembered per frozenset (``PerUsable``); any other
container is read afresh each time.
"""

import itertools
import random
from bisect import bisect_right
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from router.destinations import Costs, DestinationInfo
from router.tariffs import price_on

Usable = Container[str] | None
"""Endpoints that can take a message now (connectors for MT, accounts for MO); None: all."""

T = TypeVar("T")


USABLE_MEMO_LIMIT = 64
"""Distinct sets of usable endpoints a target remembers before it starts over.

The engine builds a new frozenset whenever binds come and go; equal sets share
an entry, and the bound keeps a flapping connector from growing the memo."""


class PerUsable(Generic[T]):
    """What a target derives from a container of usable endpoints.

    Remembered per frozenset, which is hashable and cannot change; other
    containers (a set, a dict) are derived from each time.
    """

    __slots__ = ("_derive", "_memo")

    def __init__(self, derive: Callable[[Container[str]], T]) -> None:
        self._derive = derive
        self._memo: dict[frozenset[str], T] = {}

    def get(self, usable: Container[str]) -> T:
        if type(usable) is not frozenset:
            return self._derive(usable)
        found = self._memo.get(usable)
        if found is None:
            if len(self._memo) >= USABLE_MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[usable] = self._derive(usable)
        return found


def _ready_of(endpoints: tuple[str, ...]) -> Callable[[Container[str]], tuple[str, ...]]:
    """The endpoints that are usable, in configured order."""

    def ready(usable: Container[str]) -> tuple[str, ...]:
        return tuple(endpoint for endpoint in endpoints if endpoint in usable)

    return ready


@dataclass(frozen=True, slots=True)
class StaticTarget:
    """Always the same endpoint."""

    endpoint: str
    endpoints: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoints", (self.endpoint,))

    def choose(self, usable: Usable) -> tuple[str, ...]:
        if usable is None or self.endpoint in usable:
            return self.endpoints
        return ()


class FailoverTarget:
    """Endpoints in the configured order of preference."""

    __slots__ = ("_ready", "endpoints")

    def __init__(self, endpoints: tuple[str, ...]) -> None:
        self.endpoints = endpoints
        self._ready = PerUsable(_ready_of(endpoints))

    def choose(self, usable: Usable) -> tuple[str, ...]:
        if usable is None:
            return self.endpoints
        return self._ready.get(usable)


class RoundRobinTarget:
    """Each message starts one endpoint further along; the others follow in turn.

    The turn is taken among usable endpoints, so when one is down the others
    share its load evenly. The counter belongs to the route and restarts when a
    new table is loaded.
    """

    __slots__ = ("_counter", "_ready_rotations", "_rotations")

    def __init__(self, endpoints: Sequence[str]) -> None:
        ordered = tuple(endpoints)
        self._rotations = _rotations(ordered)
        self._counter = itertools.count()
        ready = _ready_of(ordered)
        self._ready_rotations = PerUsable(lambda usable: _rotations(ready(usable)))

    @property
    def endpoints(self) -> tuple[str, ...]:
        return self._rotations[0]

    def choose(self, usable: Usable) -> tuple[str, ...]:
        turn = next(self._counter)
        rotations = self._rotations if usable is None else self._ready_rotations.get(usable)
        return rotations[turn % len(rotations)] if rotations else ()


def _rotations(ordered: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Per turn, the endpoints starting from that one."""
    return tuple(ordered[i:] + ordered[:i] for i in range(len(ordered)))


_Draws = tuple[tuple[int, ...], int, tuple[tuple[str, ...], ...]]
"""(bounds, total, orders) of a weighted draw: see ``_draws``."""


class WeightedTarget:
    """One endpoint drawn with probability proportional to its weight, then the rest.

    The rest follow in configured order as failover. The random source is
    injected so tests can fix it.
    """

    __slots__ = ("_draws", "_random", "_ready", "endpoints", "weights")

    def __init__(self, weights: dict[str, int], source: random.Random) -> None:
        self.endpoints = tuple(weights)
        self.weights = tuple(weights.values())
        self._draws = _draws(self.endpoints, self.weights)
        self._random = source
        self._ready = PerUsable(self._draws_among)

    def choose(self, usable: Usable) -> tuple[str, ...]:
        bounds, total, orders = self._draws if usable is None else self._ready.get(usable)
        if not orders:
            return ()
        return orders[bisect_right(bounds, self._random.random() * total)]

    def _draws_among(self, usable: Container[str]) -> _Draws:
        pairs = [(e, w) for e, w in zip(self.endpoints, self.weights, strict=True) if e in usable]
        return _draws(tuple(e for e, _ in pairs), tuple(w for _, w in pairs))


def _draws(endpoints: tuple[str, ...], weights: tuple[int, ...]) -> _Draws:
    """What a weighted draw among ``endpoints`` needs.

    A draw is ``random() * total`` and picks the first endpoint whose
    cumulative weight exceeds it; ``bounds`` leaves out the last cumulative
    weight, so a draw that rounds up to ``total`` still picks the last endpoint.
    ``orders`` holds per endpoint drawn the order to try: it, then the others as
    configured.
    """
    cumulative = tuple(itertools.accumulate(weights))
    orders = tuple(
        (endpoint, *endpoints[:drawn], *endpoints[drawn + 1 :])
        for drawn, endpoint in enumerate(endpoints)
    )
    return cumulative[:-1], cumulative[-1] if cumulative else 0, orders


class LeastCostTarget:
    """Usable connectors that carry the destination, cheapest first.

    A connector carries a destination when its cost tariff has a rate valid now
    for it; ties keep the configured order. Costs come with the destination
    (``router.destinations``), looked up once per decision. Where they never
    change (``fixed_prices``), the order is remembered per destination prefix
    and set of usable connectors: ranking eight connectors was most of a
    least-cost decision.
    """

    __slots__ = ("_memo", "_ready", "endpoints")

    def __init__(self, connectors: Sequence[str]) -> None:
        self.endpoints = tuple(connectors)
        self._ready = PerUsable(_ready_of(self.endpoints))
        self._memo: dict[tuple[DestinationInfo, Usable], tuple[tuple[str, ...], int | None]] = {}

    def choose_priced(
        self, usable: Usable, info: DestinationInfo, now: float
    ) -> tuple[tuple[str, ...], int | None]:
        """The connectors, cheapest first, and the cost of the first."""
        if not info.fixed_prices or not (usable is None or type(usable) is frozenset):
            return self._rank(usable, info.costs, now)
        key = (info, usable)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= LEAST_COST_MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[key] = self._rank(usable, info.costs, now)
        return found

    def _rank(self, usable: Usable, costs: Costs, now: float) -> tuple[tuple[str, ...], int | None]:
        priced = []
        ready = self.endpoints if usable is None else self._ready.get(usable)
        for position, connector in enumerate(ready):
            schedule = costs.get(connector)
            if schedule is not None:
                cost = price_on(schedule, now)
                if cost is not None:
                    priced.append((cost, position, connector))
        if not priced:
            return (), None
        priced.sort()
        return tuple([connector for _, _, connector in priced]), priced[0][0]


LEAST_COST_MEMO_LIMIT = 8192
"""Destination prefixes (times usable sets) a least-cost target remembers its order for.

Traffic goes mostly to a few networks; the bound keeps a table of tens of
thousands of prefixes from holding an order for each."""


Target = StaticTarget | FailoverTarget | RoundRobinTarget | WeightedTarget | LeastCostTarget
UsabilityTarget = StaticTarget | FailoverTarget | RoundRobinTarget | WeightedTarget
"""Targets that order endpoints by usability alone; MO routes have only these."""
