"""Finding the routes whose set-like filters all pass, for every route at once.

Jasmin tests each route in turn; with hundreds of routes that linear scan is the
cost of a decision. Here route ``i`` is bit ``i`` of an integer. For each filter
field the index keeps, per value, the routes that value satisfies and the routes
it excludes (``unless``); destination prefixes come precomputed with the
destination's other facts (``router.destinations``). A decision then costs a few
dict lookups, whatever the number of routes, and the set bits of the result
are the routes to try, lowest first.
"""

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

from router.destinations import Masks, PrefixRoutes
from router.facts import MessageFacts
from router.filters import VALUE_FIELDS, Filter, PrefixFilter, ValueFilter

_FieldIndex = tuple[Callable[[MessageFacts], Any], bool, int, dict[object, Masks]]
"""(read the field, several values?, routes free of the field, value -> masks)."""


class FilteredRoute(Protocol):
    """A route as the index sees it: filters that must match, filters that must not."""

    @property
    def filters(self) -> tuple[Filter, ...]: ...

    @property
    def unless(self) -> tuple[Filter, ...]: ...


R = TypeVar("R", bound=FilteredRoute)


NETWORK_FIELD = "destination_network"
"""The one set-like field read from the destination (``info``) rather than from the facts."""

MEMO_LIMIT = 4096
"""Distinct message-fact combinations (and route sets) remembered before a memo starts over.

Accounts, groups, priorities and tags repeat from one message to the next, so a
table meets few combinations; the bound keeps a client inventing tags from
growing the memo without end.
"""


class RouteIndex(Generic[R]):
    """The routes whose indexed filters pass, in table order.

    The masks of the fields read from the message facts are remembered per
    combination of their values: a remembered combination costs one dict lookup
    instead of one per field (measured on the router benchmark: 0.78 us of a
    4.9 us decision for four fields). The routes of a mask are remembered too,
    so a decision walks a tuple instead of picking bits one at a time.
    """

    __slots__ = (
        "_all",
        "_fact_fields",
        "_memo",
        "_network",
        "_ordered",
        "_read_facts",
        "_routes",
        "prefix_routes",
    )

    def __init__(self, routes: Sequence[R]) -> None:
        self._routes = tuple(routes)
        self._all = (1 << len(routes)) - 1
        values = _value_indexes(routes, self._all)
        network = values.pop(NETWORK_FIELD, None)
        self._network = (network[2], network[3]) if network is not None else None
        self._fact_fields = tuple(values.values())
        names = [VALUE_FIELDS[field][1] for field in values]
        self._read_facts = attrgetter(*names) if names else None
        self._memo: dict[object, int] = {}
        self._ordered: dict[int, tuple[R, ...]] = {}
        demanding, masks = _prefix_masks(routes)
        self.prefix_routes = PrefixRoutes(masks, self._all & ~demanding)

    def candidates(self, facts: MessageFacts, network: str, prefix_routes: int) -> tuple[R, ...]:
        """The routes whose indexed filters pass for a message, first to try first.

        ``network`` and ``prefix_routes`` (what ``PrefixRoutes.allowed`` made of
        the folded masks of its prefixes) are what the message's destination says.
        """
        routes = self._all
        if self._read_facts is not None:
            key = self._read_facts(facts)
            routes = self._memo.get(key, -1)
            if routes < 0:
                routes = self._remember(key, facts)
        if self._network is not None:
            free, masks = self._network
            found = masks.get(network)
            routes &= (free | found[0]) & ~found[1] if found is not None else free
        routes &= prefix_routes
        ordered = self._ordered.get(routes)
        if ordered is None:
            if len(self._ordered) >= MEMO_LIMIT:
                self._ordered.clear()
            ordered = self._ordered[routes] = tuple(
                route for position, route in enumerate(self._routes) if routes >> position & 1
            )
        return ordered

    def _remember(self, key: object, facts: MessageFacts) -> int:
        """The routes the fact fields of a message allow, computed and remembered."""
        routes = self._all
        for read, several, free, masks in self._fact_fields:
            value = read(facts)
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
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = routes
        return routes


def is_indexed(item: Filter) -> bool:
    """Whether the index answers this filter, so a route need not test it itself."""
    return isinstance(item, ValueFilter | PrefixFilter)


def _value_indexes(routes: Sequence[FilteredRoute], everything: int) -> dict[str, _FieldIndex]:
    """Per field some route tests, how to read it and the masks of its values."""
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
            attrgetter(VALUE_FIELDS[field][1]),
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
