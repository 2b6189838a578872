"""Longest-prefix lookup over digit strings.

Destinations are routed and priced by the longest configured prefix they start
with (country code, operator range, number block); a table holds tens of
thousands of prefixes, so lookup must not scan them.

The map is the level-hashed form of a trie: one hash table keyed by prefix,
probed with the key cut to each stored prefix length, longest first. A lookup
costs one probe per distinct length above the match (a handful: prefixes run
from 1 to 8 digits in practice) instead of one node per digit. Only the
lengths that occur under the key's first `HEAD` digits are probed: a number
that no long prefix covers (often most of them) skips straight to the short
ones (1.05 us -> 0.57 us per lookup on the router benchmark's table). Measured on
20,000 prefixes against a dict-of-dicts trie: 2.1 MB against 6.6 MB (keys
included), 4 ms against 43 ms to build, and 0.41 us against 0.70 us per lookup
when eight such maps share the cache, as a table's do.
"""

from collections.abc import Iterable
from typing import Generic, TypeVar

V = TypeVar("V")

HEAD = 3
"""Digits that pick the prefix lengths worth probing for a key."""


class PrefixMap(Generic[V]):
    """An immutable map from prefixes to values, queried by longest prefix.

    Values must not be None: None is the answer for "no prefix matches".
    """

    __slots__ = ("_entries", "_lengths_by_head", "_short_lengths")

    def __init__(self, items: Iterable[tuple[str, V]]) -> None:
        self._entries: dict[str, V] = dict(items)
        lengths = sorted({len(prefix) for prefix in self._entries}, reverse=True)
        self._short_lengths = tuple(length for length in lengths if length < HEAD)
        heads: dict[str, set[int]] = {}
        for prefix in self._entries:
            if len(prefix) >= HEAD:
                heads.setdefault(prefix[:HEAD], set()).add(len(prefix))
        self._lengths_by_head = {
            head: (*sorted(under, reverse=True), *self._short_lengths)
            for head, under in heads.items()
        }

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterable[tuple[str, V]]:
        return self._entries.items()

    def longest(self, key: str) -> V | None:
        """The value of the longest stored prefix of ``key``, or None if no prefix matches."""
        entries = self._entries
        for length in self._lengths_by_head.get(key[:HEAD], self._short_lengths):
            value = entries.get(key[:length])
            if value is not None:
                return value
        return None


def ancestor(found: dict[str, V], prefix: str) -> V | None:
    """The value of the longest proper prefix of ``prefix`` in ``found``, if any.

    Builders that fold values down a prefix hierarchy (masks, tariff windows)
    visit prefixes shortest first and call this on what they built so far.
    """
    for length in range(len(prefix) - 1, -1, -1):
        value = found.get(prefix[:length])
        if value is not None:
            return value
    return None
