"""When a webhook attempt is retried, and after how long (sans-IO).

A 2xx answer delivers. A network error, a timeout, 429 (Too Many Requests)
or a 5xx is the receiver's passing trouble and is tried again after the next
delay of a fixed table; other answers (3xx, since redirects are not followed,
and 4xx) say the call itself is wrong, and repeating it would not help.
Delays are spread by +/-20% so that the receipts of one campaign that failed
together do not all come back in the same second.
"""

from __future__ import annotations

import random
from enum import Enum

JITTER = 0.2


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


def verdict_of_status(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 429 or status >= 500:
        return Verdict.RETRY
    return Verdict.FAILED


class WebhookRetryPolicy:
    """The delay before the next attempt, from a table of delays in seconds."""

    __slots__ = ("_random", "delays")

    def __init__(self, delays: tuple[float, ...], rng: random.Random | None = None) -> None:
        if any(delay < 0 for delay in delays):
            raise ValueError(f"retry delays must be >= 0, got {delays!r}")
        self.delays = delays
        self._random = rng or random.Random()

    def delay_after(self, attempts: int) -> float | None:
        """Seconds to wait after ``attempts`` failed tries, or None when they are used up."""
        if not 1 <= attempts <= len(self.delays):
            return None
        delay = self.delays[attempts - 1]
        return delay * self._random.uniform(1 - JITTER, 1 + JITTER)
