"""Tariffs: a price per message part by destination prefix, with validity windows.

A sell tariff prices a message for an account; a cost tariff says what a
connector charges us. Prices are integers in micro-units (see ``decisions``).
A rate applies from ``valid_from`` (inclusive) until ``valid_until``
(exclusive); the price of a destination is that of the longest prefix holding a
rate valid now, so a scheduled or expired operator-range rate falls back to the
country rate instead of leaving the number unpriced.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from router.prefixes import PrefixMap, ancestor

MICRO_UNITS = 1_000_000
"""Micro-units in one major unit of a currency: prices are integers in these."""

OPEN_START = -math.inf
"""The start of a window open in the past: one shared float object, as ``math.inf`` is
for the end, so the windows of a large tariff do not each hold their own copies in
memory that every decision reads."""

Window = tuple[float, float, int]
"""(start timestamp, end timestamp, price) of one rate; -inf/+inf when open."""


@dataclass(frozen=True, slots=True)
class Rate:
    """One row of a tariff, with POSIX timestamps for its validity window."""

    prefix: str
    price: int
    valid_from: float = OPEN_START
    valid_until: float = math.inf


class Tariff:
    """A compiled tariff: for each prefix, its windows then those of its ancestors."""

    __slots__ = ("_chains", "tariff_id")

    def __init__(self, tariff_id: str, rates: Iterable[Rate]) -> None:
        by_prefix: dict[str, list[Window]] = {}
        for rate in rates:
            window = (rate.valid_from, rate.valid_until, rate.price)
            by_prefix.setdefault(rate.prefix, []).append(window)
        chains: dict[str, tuple[Window, ...]] = {}
        for prefix in sorted(by_prefix, key=len):
            own = tuple(sorted(by_prefix[prefix]))
            chains[prefix] = own + (ancestor(chains, prefix) or ())
        self.tariff_id = tariff_id
        self._chains = PrefixMap(chains.items())

    def __len__(self) -> int:
        return len(self._chains)

    def chains(self) -> Iterable[tuple[str, tuple[Window, ...]]]:
        """Each prefix with its windows and those of its ancestors, longest prefix first."""
        return self._chains.items()

    def price_at(self, destination: str, now: float) -> int | None:
        """Price per part for ``destination`` at POSIX time ``now``, or None if unpriced."""
        return price_in(self._chains.longest(destination) or (), now)


def price_in(windows: tuple[Window, ...], now: float) -> int | None:
    """The price of the first window open at ``now``.

    Windows of one prefix never overlap and those of longer prefixes come first,
    so the first open window is the longest prefix's rate valid now.
    """
    for start, end, price in windows:
        if start <= now < end:
            return price
    return None
