"""Finding the routes whose set-like filters all pass, for every route at once.

Jasmin tests each route in turn; with hundreds of routes that linear scan is the
cost of a decision. Here route ``i`` is bit ``i`` of an integer. For each filter
field the index keeps, per value, the routes that value satisfies and the routes
it excludes (``unless``); destination prefixes and networks come precomputed with
the destination's other facts (``router.destinations``). A decision then costs a
few dict lookups, whatever the number of routes, and the set bits of the result
are the routes to try, lowest first.
"""

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from router.destinations import DestinationRoutes, Masks
from router.facts import MessageFacts
from router.filters import VALUE_FIELDS, Filter, PrefixFilter, ValueFilter

FactKey = tuple[str, tuple[str, ...], str, int, str, tuple[str, ...]]
"""A message's set-like facts, the attributes ``FACT_KEY_FIELDS`` names in that order."""

FACT_KEY_FIELDS = ("account", "groups", "connector", "data_coding", "priority", "tags")
"""The ``MessageFacts`` attributes a route may test as sets, in ``FactKey`` order."""

_FieldIndex = tuple[bool, int, dict[object, Masks]]
"""(several values?, routes free of the field, value -> masks)."""


class FilteredRoute(Protocol):
    """A route as the index sees it: filters that must match, filters that must not."""

    @property
    def filters(self) -> tuple[Filter, ...]: ...

    @property
    def unless(self) -> tuple[Filter, ...]: ...


R = TypeVar("R", bound=FilteredRoute)
K = TypeVar("K")
V = TypeVar("V")


NETWORK_FIELD = "destination_network"
"""The one set-like field read from the destination (``info``) rather than from the facts."""

MEMO_LIMIT = 4096
"""Distinct message-fact combinations (and route sets) remembered before a memo starts over.

Accounts, groups, priorities and tags repeat from one message to the next, so a
table meets few combinations; the bound keeps a client inventing tags from
growing the memo without end.
"""


class Memo(dict[K, V], Generic[K, V]):
    """A dict that computes a value it lacks and keeps it, starting over at ``MEMO_LIMIT``.

    Read with a subscript: a value already there costs no Python call.
    """

    __slots__ = ("_compute",)

    def __init__(self, compute: Callable[[K], V]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: K) -> V:
        if len(self) >= MEMO_LIMIT:
            self.clear()
        value = self[key] = self._compute(key)
        return value


def fact_key(facts: MessageFacts) -> FactKey:
    """The set-like facts of a message, as ``RouteIndex.by_facts`` is keyed."""
    return (
        facts.account,
        facts.groups,
        facts.connector,
        facts.data_coding,
        facts.priority,
        facts.tags,
    )


class RouteIndex(Generic[R]):
    """The routes whose indexed filters pass, in table order.

    ``by_facts`` holds the routes the set-like facts of a message allow, per
    combination of them: a remembered combination costs one dict lookup instead
    of one per field (measured on the router benchmark: 0.78 us of a 4.9 us
    decision for four fields). ``ordered`` holds the routes of a mask as a
    tuple, so a decision walks a tuple instead of picking bits one at a time.
    ``candidates`` reads both; an MT decision reads them itself, with
    ``fact_key`` spelled out (the call to ``candidates`` was 6.5% of its
    instructions). The key holds all six fields, tested by some route or not:
    read in line they cost a third of an ``attrgetter`` of the four the
    benchmark's routes test, which was 3.7% of a decision.
    ``destination_routes`` is what ``destination_map`` folds into each destination.
    """

    __slots__ = ("_all", "_fact_fields", "_routes", "by_facts", "destination_routes", "ordered")

    def __init__(self, routes: Sequence[R]) -> None:
        self._routes = tuple(routes)
        self._all = (1 << len(routes)) - 1
        values = _value_indexes(routes, self._all)
        _, network_free, networks = values.pop(NETWORK_FIELD, (False, self._all, {}))
        self._fact_fields = tuple(
            (FACT_KEY_FIELDS.index(VALUE_FIELDS[field][1]), several, free, masks)
            for field, (several, free, masks) in values.items()
        )
        self.by_facts: Memo[FactKey, int] = Memo(self._fact_routes)
        self.ordered: Memo[int, tuple[R, ...]] = Memo(self._in_order)
        demanding, prefixes = _prefix_masks(routes)
        self.destination_routes = DestinationRoutes(
            prefixes=prefixes,
            prefix_free=self._all & ~demanding,
            networks=networks,
            network_free=network_free,
        )

    def candidates(self, facts: MessageFacts, destination_routes: int) -> tuple[R, ...]:
        """The routes whose indexed filters pass for a message, first to try first.

        ``destination_routes`` are those its destination allows (``DestinationInfo.mt_routes``
        or ``mo_routes``).
        """
        return self.ordered[self.by_facts[fact_key(facts)] & destination_routes]

    def _fact_routes(self, key: FactKey) -> int:
        """The routes the set-like facts of a message allow."""
        routes = self._all
        for position, several, free, masks in self._fact_fields:
            value = key[position]
            if several:
                satisfied = excluded = 0
                for item in value:
                    found = masks.get(item)
                    if found is not None:
                        satisfied |= found[0]
                        excluded |= found[1]
            else:
                found = masks.get(value)
                if found is None:
                    routes &= free
                    continue
                satisfied, excluded = found
            routes &= (free | satisfied) & ~excluded
        return routes

    def _in_order(self, routes: int) -> tuple[R, ...]:
        """The routes of a mask, first to try first."""
        return tuple(route for position, route in enumerate(self._routes) if routes >> position & 1)


def is_indexed(item: Filter) -> bool:
    """Whether the index answers this filter, so a route need not test it itself."""
    return isinstance(item, ValueFilter | PrefixFilter)


def _value_indexes(routes: Sequence[FilteredRoute], everything: int) -> dict[str, _FieldIndex]:
    """Per field some route tests, whether it holds several values and the masks of its values."""
    demanding: dict[str, int] = {}
    masks: dict[str, dict[object, list[int]]] = {}
    for position, route in enumerate(routes):
        bit = 1 << position
        for side, items in ((0, route.filters), (1, route.unless)):
            for item in items:
                if isinstance(item, ValueFilter):
                    if side == 0:
                        demanding[item.field] = demanding.get(item.field, 0) | bit
                    field_masks = masks.setdefault(item.field, {})
                    for value in item.values:
                        field_masks.setdefault(value, [0, 0])[side] |= bit
    return {
        field: (
            VALUE_FIELDS[field][2],
            everything & ~demanding.get(field, 0),
            {value: (pair[0], pair[1]) for value, pair in masks[field].items()},
        )
        for field in sorted(masks)
    }


def _prefix_masks(routes: Sequence[FilteredRoute]) -> tuple[int, dict[str, Masks]]:
    """Routes demanding a prefix, and per prefix the routes it satisfies and excludes."""
    demanding = 0
    own: dict[str, list[int]] = {}
    for position, route in enumerate(routes):
        bit = 1 << position
        for side, items in ((0, route.filters), (1, route.unless)):
            for item in items:
                if isinstance(item, PrefixFilter):
                    if side == 0:
                        demanding |= bit
                    for prefix in item.prefixes:
                        own.setdefault(prefix, [0, 0])[side] |= bit
    return demanding, {prefix: (pair[0], pair[1]) for prefix, pair in own.items()}
