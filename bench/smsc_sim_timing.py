"""Time-keeping of the simulated SMSC: delayed callbacks batched per time slot.

At 10,000 submit_sm a second, one loop timer (or worse, one task) per delayed
response or receipt would be most of the simulator's work. `DelayQueue` keeps
one timer per slot of `SLOT_SECONDS` instead: everything due in the same slot
fires from one callback, in the order it was scheduled.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

SLOT_SECONDS = 0.001
"""Resolution of delayed answers; a millisecond is below any latency worth simulating."""


class DelayQueue:
    """Callbacks due after a delay, batched per slot so a busy second costs at
    most one loop timer per millisecond whatever the message rate."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slot_seconds: float = SLOT_SECONDS) -> None:
        self._loop = loop
        self._slot_seconds = slot_seconds
        self._slots: dict[int, tuple[asyncio.TimerHandle, list[tuple[Callable[[Any], None], Any]]]]
        self._slots = {}

    def call_later(self, delay: float, callback: Callable[[Any], None], argument: Any) -> None:
        """Call ``callback(argument)`` in ``delay`` seconds or up to one slot later,
        never earlier: a slot fires at its end."""
        slot = math.ceil((self._loop.time() + delay) / self._slot_seconds)
        entry = self._slots.get(slot)
        if entry is None:
            handle = self._loop.call_at(slot * self._slot_seconds, self._fire, slot)
            entry = self._slots[slot] = (handle, [])
        entry[1].append((callback, argument))

    def cancel(self) -> None:
        """Forget everything scheduled (the simulator is stopping)."""
        for handle, _ in self._slots.values():
            handle.cancel()
        self._slots.clear()

    def _fire(self, slot: int) -> None:
        _, due = self._slots.pop(slot)
        for callback, argument in due:
            callback(argument)
