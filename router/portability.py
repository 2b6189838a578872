"""Number portability: the network a number is on now, when it left its range's.

A number keeps its digits when its subscriber changes operator, so the
numbering plan (``[networks]``, longest prefix) names the wrong network for
it. A national portability database lists the numbers that moved, millions of
them; an MT decision looks the destination up here before the prefixes, and a
listed number's network is the one it is on now (``RoutingTable.decide_mt``).

Millions of entries rule out a dict (about 100 bytes an entry with its ints
and strings): ``PortedNumbers`` keeps the numbers in one ``array('q')`` and a
parallel array of small indexes into its few networks, about 9.5 bytes an
entry, and finds a number with ``bisect`` in C. It never changes: an update
builds a new one (``updated``), and the engine swaps the table's reference to
it whole (``RoutingTable.with_ported``), as it swaps routing tables. Reading
the files is the engine's (``engine.numbers``).
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate, islice, pairwise, repeat
from operator import add, and_, eq, lshift, mod, or_, rshift

MAX_DIGITS = 15
"""ITU-T E.164 §6.1: an international number has at most 15 digits."""
INTERNATIONAL = r"\+?([1-9][0-9]{0,14})"
"""An international number as files write it: E.164 digits, an optional ``+``; group 1 the
digits."""
NETWORK_BITS = 13
"""Bits of a network index under its number in a packed row (10**15 < 2**50, 50 + 13 < 64)."""
MAX_NETWORKS = 1 << NETWORK_BITS
ROW_BITS = 63
"""Bits of a packed (number, network index) row; its bucket goes above them."""
NUMBERS = (1 << (ROW_BITS - NETWORK_BITS)) - 1
PER_BUCKET = 8
"""Numbers a bucket holds on average: a bisect in it stays within a cache line or two."""

_INTERNATIONAL = re.compile(INTERNATIONAL)


class RepeatedNumbers(ValueError):
    """Rows that list one number more than once: which network is it on?"""

    def __init__(self, numbers: list[int]) -> None:
        super().__init__(f"numbers listed more than once: {', '.join(map(str, numbers))}")
        self.numbers = numbers


class PortedNumbers:
    """Ported numbers and the network (MCC+MNC) each is on now; immutable.

    Number ``n`` lives in bucket ``n % _buckets``: ``_numbers`` holds the
    buckets in turn, each sorted, bucket ``b`` from ``_offsets[b]`` to
    ``_offsets[b + 1]``; ``_codes[i]`` indexes ``_networks`` for
    ``_numbers[i]``. A bisect over the whole array touches a score of cache
    lines of a many-megabyte array (measured on 2 million numbers: 1.5 us a
    lookup); one over a bucket of about ``PER_BUCKET`` numbers touches one or
    two (0.7 us), for half a byte an entry of offsets.
    """

    __slots__ = ("_buckets", "_codes", "_networks", "_numbers", "_offsets")

    def __init__(
        self, numbers: array[int], codes: array[int], offsets: array[int], networks: tuple[str, ...]
    ) -> None:
        """Arrays as ``_arranged`` lays them out; build a table with the functions below."""
        self._numbers = numbers
        self._codes = codes
        self._offsets = offsets
        self._buckets = len(offsets) - 1
        self._networks = networks

    def __len__(self) -> int:
        return len(self._numbers)

    def network_of(self, number: str) -> str | None:
        """The network international ``number`` is ported to, or None when it is not ported.

        A destination that is not all ASCII digits, or starts with 0 (not
        international), is never ported: ``int`` would read ``"3_3"`` or
        ``"033"`` as another number.
        """
        if len(number) > MAX_DIGITS or not number.isdigit() or not number.isascii():
            return None
        if number[0] == "0":
            return None
        key = int(number)
        bucket = key % self._buckets
        offsets = self._offsets
        end = offsets[bucket + 1]
        numbers = self._numbers
        at = bisect_left(numbers, key, offsets[bucket], end)
        if at != end and numbers[at] == key:
            return self._networks[self._codes[at]]
        return None

    def items(self) -> Iterator[tuple[str, str]]:
        """(number, network) pairs, in the table's own order."""
        networks = self._networks
        for number, code in zip(self._numbers, self._codes, strict=True):
            yield str(number), networks[code]

    @property
    def nbytes(self) -> int:
        """Bytes its arrays hold, headers included: what millions of entries cost."""
        return sum(map(sys.getsizeof, (self._numbers, self._codes, self._offsets)))

    def updated(self, changes: Mapping[str, str]) -> PortedNumbers:
        """A new table with ``changes``: number to the network it is on now, ``""`` for not ported.

        The runs between changed numbers are copied as array slices, so an
        update of thousands of numbers over millions costs little more than a
        copy of the arrays. A table grown past twice its buckets' measure is
        laid out anew.
        """
        networks = _Networks(self._networks)
        buckets = self._buckets
        by_key = {_number(key): networks[net] if net else None for key, net in changes.items()}
        edits = sorted((key % buckets, key, code) for key, code in by_key.items())
        networks.check()
        old_numbers, old_codes, old_offsets = self._numbers, self._codes, self._offsets
        if old_codes.typecode != networks.typecode():
            old_codes = array(networks.typecode(), old_codes)
        numbers, codes = array("q"), array(old_codes.typecode)
        grown = array("q", bytes(8 * (buckets + 1)))
        start = 0
        for bucket, key, code in edits:
            end = old_offsets[bucket + 1]
            at = bisect_left(old_numbers, key, max(start, old_offsets[bucket]), end)
            numbers += old_numbers[start:at]
            codes += old_codes[start:at]
            present = at != end and old_numbers[at] == key
            start = at + 1 if present else at
            if code is not None:
                numbers.append(key)
                codes.append(code)
            grown[bucket + 1] += (code is not None) - present
        numbers += old_numbers[start:]
        codes += old_codes[start:]
        if _bucket_count(len(numbers)) > 2 * buckets:
            return PortedNumbers(*_arranged(numbers, codes, networks), networks.names())
        offsets = array("I", map(add, old_offsets, accumulate(grown)))
        return PortedNumbers(numbers, codes, offsets, networks.names())


NO_PORTED = PortedNumbers(array("q"), array("B"), array("I", [0, 0]), ())
"""No number ported."""


def ported_numbers(pairs: Iterable[tuple[str, str]]) -> PortedNumbers:
    """A table of (international number, network) pairs; a repeated number's last pair wins."""
    networks = _Networks(())
    by_key = {_number(number): networks[network] for number, network in pairs}
    networks.check()
    numbers, codes = array("q", by_key), array("H", by_key.values())
    return PortedNumbers(*_arranged(numbers, codes, networks), networks.names())


def from_arrays(numbers: array[int], codes: array[int], networks: tuple[str, ...]) -> PortedNumbers:
    """A table of ``numbers[i]`` on ``networks[codes[i]]``, as a file reader collects them.

    Millions of rows stay in arrays until they are sorted into buckets as
    Python ints, about 50 bytes an entry while the sort runs, then 9.5. The
    numbers must be international (1 to 15 digits, no leading 0) and each
    listed once: raises RepeatedNumbers naming (up to 20 of) those repeated.
    """
    if numbers and not (min(numbers) >= 1 and max(numbers) < 10**MAX_DIGITS):
        raise ValueError("numbers must be international: 1 to 15 digits, no leading 0")
    known = _Networks(networks)
    known.check()
    arranged = _arranged(numbers, codes, known)
    in_order = arranged[0]
    if any(map(eq, in_order, islice(in_order, 1, None))):
        raise RepeatedNumbers(sorted({a for a, b in pairwise(in_order) if a == b})[:20])
    return PortedNumbers(*arranged, known.names())


class _Networks(dict[str, int]):
    """Network name to its index, numbering a new one as it is met."""

    def __init__(self, known: tuple[str, ...]) -> None:
        super().__init__((name, index) for index, name in enumerate(known))

    def __missing__(self, name: str) -> int:
        index = self[name] = len(self)
        return index

    def check(self) -> None:
        if len(self) > MAX_NETWORKS:
            raise ValueError(f"more than {MAX_NETWORKS} networks")

    def names(self) -> tuple[str, ...]:
        return tuple(sys.intern(name) for name in self)

    def typecode(self) -> str:
        return "B" if len(self) <= 256 else "H"


def _number(number: str) -> int:
    """An international number as the table keys it; ValueError naming it otherwise."""
    match = _INTERNATIONAL.fullmatch(number)
    if match is None:
        raise ValueError(f"number {number!r} is not international: 1 to 15 digits, no leading 0")
    return int(match[1])


def _bucket_count(entries: int) -> int:
    """Buckets for ``entries`` numbers: prime to 10, so runs of numbers spread evenly."""
    buckets = max(1, entries // PER_BUCKET)
    while buckets % 2 == 0 or buckets % 5 == 0:
        buckets += 1
    return buckets


def _arranged(
    numbers: array[int], codes: array[int], networks: _Networks
) -> tuple[array[int], array[int], array[int]]:
    """Numbers, codes and offsets laid out in buckets (``PortedNumbers``).

    Each row is sorted as one int, its bucket over its number over its code,
    so the sort runs in C; a repeated number ends up beside itself.
    """
    buckets = _bucket_count(len(numbers))
    rows = map(or_, map(lshift, numbers, repeat(NETWORK_BITS)), codes)
    bucket_ids = map(lshift, map(mod, numbers, repeat(buckets)), repeat(ROW_BITS))
    packed = sorted(map(or_, bucket_ids, rows))
    in_order = array("q", map(and_, map(rshift, packed, repeat(NETWORK_BITS)), repeat(NUMBERS)))
    in_codes = array(networks.typecode(), map(and_, packed, repeat(MAX_NETWORKS - 1)))
    starts = array("q", map(rshift, packed, repeat(ROW_BITS)))
    del packed
    offsets = array("I", map(bisect_left, repeat(starts), range(buckets + 1)))
    return in_order[:], in_codes[:], offsets
