"""How late the event loop runs a timer: CPU saturation as the engine feels it.

The engine is one thread: when the CPU it gets is not enough for what it has
admitted, each loop iteration grows, and every message waits a few of them.
A timer asked for every ``interval`` seconds fires late by about the length
of the iteration it waited behind; that lateness is reported to a callback
(the admission's limit follows it). One timer per interval, nothing per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class LoopLag:
    """Reports, every ``interval`` seconds, how late the loop ran the last timer."""

    def __init__(self, interval: float, report: Callable[[float], None]) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, not {interval!r}")
        self.interval = interval
        self._report = report
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._due = loop.time() + self.interval
        self._handle = loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        self._report(max(0.0, now - self._due))
        self._due = now + self.interval
        self._handle = loop.call_at(self._due, self._tick, loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
