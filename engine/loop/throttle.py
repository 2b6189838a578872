"""A token bucket: the one rate limiter of the engine.

Operators contract a throughput in submit_sm per second and answer
ESME_RTHROTTLED (SMPP 3.4 §5.1.3) to a client that goes faster; our own SMPP
server owes the same limits to each bind and account. A bucket holds at most
``burst`` tokens and gains ``rate`` of them per second; each PDU takes one.
The clock is injected so tests count tokens against a fake time instead of
the wall clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

_ROUNDING = 1e-9
"""Tokens that float arithmetic may lose while adding up elapsed time; without
it ``0.1 * 3`` seconds at 10 per second would leave a taker short forever."""


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; starts full."""

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "rate")

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number of tokens per second, not {rate!r}")
        if not (math.isfinite(burst) and burst >= 1):
            raise ValueError(f"burst must be at least one token, not {burst!r}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        # A clock that steps back (it should not: it is monotonic) must not
        # mint tokens later, so the stamp follows it either way.
        self._stamp = now

    def set_rate(self, rate: float, burst: float) -> None:
        """Change the rate from now on: tokens earned so far count at the old
        rate, and what is saved beyond the new ``burst`` is dropped."""
        if not (math.isfinite(rate) and rate > 0 and math.isfinite(burst) and burst >= 1):
            raise ValueError(f"need rate > 0 and burst >= 1, got {rate!r} and {burst!r}")
        self._refill()
        self.rate = rate
        self.burst = burst
        self._tokens = min(self._tokens, burst)

    def _check(self, n: float) -> None:
        if not 0 < n <= self.burst:
            raise ValueError(f"can take 0 < n <= burst ({self.burst}) tokens, not {n!r}")

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        self._refill()
        return self._tokens

    def try_take(self, n: float = 1) -> bool:
        """Take ``n`` tokens if they are all there; take nothing otherwise."""
        self._check(n)
        self._refill()
        if self._tokens + _ROUNDING >= n:
            self._tokens = max(0.0, self._tokens - n)
            return True
        return False

    def delay(self, n: float = 1) -> float:
        """Seconds until ``n`` tokens are available (0.0 if they are now)."""
        self._check(n)
        self._refill()
        missing = n - self._tokens
        return missing / self.rate if missing > _ROUNDING else 0.0
