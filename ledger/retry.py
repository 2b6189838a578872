"""Retry policies as small objects, apart from the connections they pace.

The one retry/backoff family of smsgw, in the spirit of redis-py's
``Backoff.compute(failures)`` and ``Retry``: operator binds reconnect and
messages retry by it (`engine.operators`), webhooks retry by it
(`engine.webhooks`), the message history and settlement batches retry their
Redis writes by it (`engine.messages`), and the persister retries Redis and
PostgreSQL by it (`ledger.persister`). It lives in ledger/ because that is the
lowest room that retries anything: every room that needs it may import it.

After the n-th failure in a row we wait ``min(cap, base * 2**(n - 1))``
seconds, spread by jitter so that binds which lost the same operator at the
same moment do not all come back in the same second (the lesson of Jasmin's
fixed reconnect delay). Full jitter draws from the whole interval and spreads
best; equal jitter keeps at least half of it, which suits reconnects, where
"at once" is never right. The random source is injected so tests are exact.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from enum import Enum
from typing import Protocol

_MAX_EXPONENT = 64
"""Beyond this the doubling is far past any cap; it also keeps 2**n finite."""


class BackoffPolicy(Protocol):
    """Seconds to wait after ``failures`` failures in a row (0 failures: none)."""

    def compute(self, failures: int) -> float: ...


class Jitter(Enum):
    """How much of the exponential delay is randomised."""

    NONE = "none"
    """Exactly the capped exponential: for tests and single clients."""
    FULL = "full"
    """Uniform in [0, delay]."""
    EQUAL = "equal"
    """delay / 2 plus uniform in [0, delay / 2]."""


class Backoff:
    """Capped exponential backoff with jitter."""

    __slots__ = ("_random", "base", "cap", "jitter")

    def __init__(
        self,
        base: float,
        cap: float,
        jitter: Jitter = Jitter.EQUAL,
        rng: random.Random | None = None,
    ) -> None:
        if not (math.isfinite(cap) and 0 < base <= cap):
            raise ValueError(f"need 0 < base <= cap, got base={base!r} cap={cap!r}")
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self._random = rng or random.Random()

    def ceiling(self, failures: int) -> float:
        """The delay before jitter: 0 with no failure, then base, 2 * base, ... cap."""
        if failures < 0:
            raise ValueError(f"failures must be >= 0, not {failures!r}")
        if failures == 0:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - 1, _MAX_EXPONENT))

    def compute(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row."""
        ceiling = self.ceiling(failures)
        if self.jitter is Jitter.FULL:
            return self._random.uniform(0.0, ceiling)
        if self.jitter is Jitter.EQUAL:
            return ceiling / 2 + self._random.uniform(0.0, ceiling / 2)
        return ceiling


class ScheduledBackoff:
    """Delays from a fixed table (the n-th failure waits ``delays[n - 1]``, the
    last one repeating), each spread by +/-``spread`` so that the failures of
    one campaign do not all come back in the same second."""

    __slots__ = ("_random", "delays", "spread")

    def __init__(
        self, delays: Sequence[float], spread: float = 0.0, rng: random.Random | None = None
    ) -> None:
        if not delays or any(not (math.isfinite(d) and d >= 0) for d in delays):
            raise ValueError(f"need one or more delays >= 0, got {delays!r}")
        if not 0 <= spread < 1:
            raise ValueError(f"need 0 <= spread < 1, got {spread!r}")
        self.delays = tuple(delays)
        self.spread = spread
        self._random = rng or random.Random()

    def compute(self, failures: int) -> float:
        if failures < 0:
            raise ValueError(f"failures must be >= 0, not {failures!r}")
        if failures == 0:
            return 0.0
        delay = self.delays[min(failures, len(self.delays)) - 1]
        if not self.spread:
            return delay
        return delay * self._random.uniform(1 - self.spread, 1 + self.spread)


class RetryPolicy:
    """How often to try one operation and how long to wait in between."""

    __slots__ = ("backoff", "max_attempts")

    def __init__(self, backoff: BackoffPolicy, max_attempts: int) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, not {max_attempts!r}")
        self.backoff = backoff
        self.max_attempts = max_attempts

    def next_delay(self, attempts: int) -> float | None:
        """Seconds before the next try after ``attempts`` (>= 1) failed tries,
        or None when the policy allows no other."""
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, not {attempts!r}")
        return self.backoff.compute(attempts) if attempts < self.max_attempts else None
