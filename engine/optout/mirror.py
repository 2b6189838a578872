"""Each shard's copy of the opt-out lists, read per message on the accept path.

Sets of E.164 strings (the routed destination's own form, so a lookup is one
hash of a string the router already made, no conversion): O(1), well under a
microsecond. A list is read again whole at start, when a shard publishes a
large change, and every ``reload_interval``; small changes are marked number
by number (`mark`).

A full read takes a while (HSCAN slices) while this shard goes on marking
numbers: marks made during a read are kept aside and applied to what it read
before it replaces the list, so the read never undoes a newer change.
"""

from __future__ import annotations

from collections.abc import Iterable

_NONE: frozenset[str] = frozenset()


class OptOutMirror:
    def __init__(self) -> None:
        self.everyone: set[str] = set()
        """The global list."""
        self.accounts: dict[str, set[str]] = {}
        """Each account's list (absent: empty)."""
        self._marks: dict[str | None, dict[str, bool]] = {}
        """Per list being read whole: the numbers marked meanwhile, listed or not."""

    def listed(self, account: str | None, number: str) -> bool:
        return number in self._numbers(account)

    def size(self, account: str | None) -> int:
        return len(self._numbers(account))

    def mark(self, account: str | None, numbers: Iterable[str], listed: bool) -> None:
        held = self.everyone if account is None else self.accounts.setdefault(account, set())
        marks = self._marks.get(account)
        for number in numbers:
            if listed:
                held.add(number)
            else:
                held.discard(number)
            if marks is not None:
                marks[number] = listed

    def begin_read(self, account: str | None) -> None:
        """A full read of the list starts: keep the marks made until `replace`."""
        self._marks[account] = {}

    def cancel_read(self, account: str | None) -> None:
        """A full read failed: the list stays as marked."""
        self._marks.pop(account, None)

    def replace(self, account: str | None, numbers: set[str]) -> None:
        """The list as read whole since `begin_read`, with the marks made meanwhile."""
        for number, listed in self._marks.pop(account, {}).items():
            if listed:
                numbers.add(number)
            else:
                numbers.discard(number)
        if account is None:
            self.everyone = numbers
        elif numbers:
            self.accounts[account] = numbers
        else:
            self.accounts.pop(account, None)

    def _numbers(self, account: str | None) -> set[str] | frozenset[str]:
        if account is None:
            return self.everyone
        return self.accounts.get(account, _NONE)
