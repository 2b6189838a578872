"""A warning that may repeat thousands of times a second, logged as counts.

A flood (100,000 receipts for ids nobody knows, a customer's full hold list)
must not flood the log (DESIGN: no per-message logging on the hot path): the
first occurrences are told on the next loop turn, so a burst of one iteration
is one line; later ones are summed per key (an account, a connector) and told
at most once per interval while they keep coming.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

INTERVAL = 60.0
"""Seconds between two lines of one warning."""


class RepeatedWarning:
    def __init__(self, logger: Any, event: str, *, by: str, interval: float = INTERVAL) -> None:
        self._logger = logger
        self.event = event
        self.by = by
        """The field naming the counts per key, e.g. "accounts"."""
        self.interval = interval
        self.total = 0
        """Occurrences since start, for metrics and tests."""
        self._counts: Counter[str] = Counter()
        self._sample: dict[str, Any] = {}
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None

    def add(self, key: str, count: int = 1, **sample: Any) -> None:
        """``count`` more occurrences for ``key``; ``sample`` describes the
        last one (logged with the counts)."""
        self.total += count
        self._counts[key] += count
        self._sample = sample
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_soon(self._tell)

    def _tell(self) -> None:
        if not self._counts:
            self._timer = None
            return
        self._logger.warning(self.event, **{self.by: dict(self._counts)}, **self._sample)
        self._counts.clear()
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._tell)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
