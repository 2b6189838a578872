"""Finding the routes whose set-like filters all pass, for every route at once.

Jasmin tests each route in turn; with hundreds of routes that linear scan is the
cost of a decision. Here route ``i`` is bit ``i`` of an integer. For each filter
field the index keeps, per value, the routes that value satisfies and the routes
it excludes (``unless``); destination prefixes come precomputed with the
destination's other facts (``router.destinations``). A decision then costs a few
dict lookups, whatever the number of routes, and the lowest set bit of the
result is the first route to try.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from router.destinations import Masks
from router.filters import VALUE_FIELDS, Filter, PrefixFilter, PreparedMessage, ValueFilter

_FieldIndex = tuple[Callable[[PreparedMessage], Any], bool, int, dict[object, Masks]]
"""(read the field, several values?, routes free of the field, value -> masks)."""


@dataclass(frozen=True, slots=True)
class RouteFilters:
    """A route's filters as the index sees them: those that must match, those that must not."""

    required: tuple[Filter, ...]
    excluded: tuple[Filter, ...]


class RouteIndex:
    """The set of routes whose indexed filters pass, as a bit mask."""

    __slots__ = ("_all", "_free_of_prefix", "_values", "prefix_masks")

    def __init__(self, routes: Sequence[RouteFilters]) -> None:
        self._all = (1 << len(routes)) - 1
        self._values = _value_indexes(routes, self._all)
        demanding, self.prefix_masks = _prefix_masks(routes)
        self._free_of_prefix = self._all & ~demanding

    def candidates(self, message: PreparedMessage, prefix_masks: Masks) -> int:
        """Bit mask of the routes whose indexed filters pass for ``message``.

        ``prefix_masks`` are the folded masks of the destination's prefixes.
        """
        routes = self._all
        for read, several, free, masks in self._values:
            value = read(message)
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
        satisfied, excluded = prefix_masks
        return routes & (self._free_of_prefix | satisfied) & ~excluded


def is_indexed(item: Filter) -> bool:
    """Whether the index answers this filter, so a route need not test it itself."""
    return isinstance(item, ValueFilter | PrefixFilter)


def _value_indexes(routes: Sequence[RouteFilters], everything: int) -> tuple[_FieldIndex, ...]:
    demanding: dict[str, int] = {}
    masks: dict[str, dict[object, list[int]]] = {}
    for position, route in enumerate(routes):
        bit = 1 << position
        for side, items in ((0, route.required), (1, route.excluded)):
            for item in items:
                if isinstance(item, ValueFilter):
                    if side == 0:
                        demanding[item.field] = demanding.get(item.field, 0) | bit
                    field_masks = masks.setdefault(item.field, {})
                    for value in item.values:
                        field_masks.setdefault(value, [0, 0])[side] |= bit
    return tuple(
        (
            *VALUE_FIELDS[field],
            everything & ~demanding.get(field, 0),
            {value: (pair[0], pair[1]) for value, pair in masks[field].items()},
        )
        for field in sorted(masks)
    )


def _prefix_masks(routes: Sequence[RouteFilters]) -> tuple[int, dict[str, Masks]]:
    """Routes demanding a prefix, and per prefix the routes it satisfies and excludes."""
    demanding = 0
    own: dict[str, list[int]] = {}
    for position, route in enumerate(routes):
        bit = 1 << position
        for side, items in ((0, route.required), (1, route.excluded)):
            for item in items:
                if isinstance(item, PrefixFilter):
                    if side == 0:
                        demanding |= bit
                    for prefix in item.prefixes:
                        own.setdefault(prefix, [0, 0])[side] |= bit
    return demanding, {prefix: (pair[0], pair[1]) for prefix, pair in own.items()}
