"""The pace of one connector adapting to an operator that throttles: AIMD.

An operator that answers ESME_RTHROTTLED (or what the connector's error map
calls throttling) says "slower", not "never". So the connector's token bucket
runs below the contracted throughput for a while, as TCP's congestion window
does (RFC 5681 §3.1): multiplicative decrease when throttled, additive
increase while answers are OK, never above the configured throughput nor
below a floor.

- Decrease: the rate is multiplied by ``decrease`` at most once per
  ``interval``. The answers to a full window sent at the old rate come back
  together, and the operator counts submits per second: both say one thing,
  "too fast", which must halve the rate once, not once per answer.
- Increase: every OK answer adds ``(ceiling - floor) / recovery`` per second
  elapsed since the last throttled answer or the last increase, so with
  answers flowing the rate climbs back from the floor in ``recovery`` seconds
  and stays put while the operator keeps throttling.

A *throttle spell* runs from the first throttled answer at full rate until
the rate is back at the ceiling (the pace is below the ceiling only during
one); it is logged once when it starts (with
the status) and once when it ends (its length and how many answers were
throttled). Sans-IO: the clock is injected and nothing here waits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import structlog

from engine.loop.throttle import TokenBucket
from engine.operators.error_map import status_name

log = structlog.get_logger("smsgw.connector")


class AdaptivePacing:
    """Adapts ``bucket``'s rate between ``floor`` and its rate at start."""

    __slots__ = (
        "_bucket",
        "_burst",
        "_clock",
        "_decreased_at",
        "_grown_at",
        "_spell_answers",
        "_spell_lowest",
        "_spell_started",
        "ceiling",
        "decrease",
        "floor",
        "interval",
        "name",
        "spells",
        "step",
        "throttled",
    )

    def __init__(
        self,
        bucket: TokenBucket,
        *,
        floor: float,
        decrease: float,
        interval: float,
        recovery: float,
        clock: Callable[[], float],
        name: str = "",
    ) -> None:
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be a factor between 0 and 1, not {decrease!r}")
        if not (floor > 0 and interval >= 0 and recovery > 0):
            raise ValueError("need floor > 0, interval >= 0 and recovery > 0")
        self._bucket = bucket
        self._burst = bucket.burst
        self._clock = clock
        self.name = name
        self.ceiling = bucket.rate
        self.floor = min(floor, self.ceiling)
        self.decrease = decrease
        self.interval = interval
        self.step = (self.ceiling - self.floor) / recovery
        """Submits per second regained per second of OK answers."""
        self.spells = 0
        """Throttle spells since start."""
        self.throttled = 0
        """Throttled answers since start."""
        self._decreased_at = -math.inf
        self._grown_at = 0.0
        self._spell_started: float | None = None
        self._spell_answers = 0
        self._spell_lowest = self.ceiling

    @property
    def rate(self) -> float:
        """submit_sm per second allowed now."""
        return self._bucket.rate

    def on_throttled(self, status: int, answers: int = 1) -> None:
        """``answers`` answers (of one message) said ``status``, a throttling one."""
        now = self._clock()
        self.throttled += answers
        self._grown_at = now
        if now - self._decreased_at >= self.interval:
            self._decreased_at = now
            self._set(max(self.floor, self.rate * self.decrease))
        if self._spell_started is None:
            self._spell_started = now
            self._spell_answers = 0
            self._spell_lowest = self.rate
            self.spells += 1
            log.warning(
                "operator throttling: slowing down",
                connector=self.name,
                status=status_name(status),
                rate=round(self.rate, 3),
            )
        self._spell_answers += answers
        self._spell_lowest = min(self._spell_lowest, self.rate)

    def on_accepted(self) -> None:
        """An OK answer: regain pace for the time since the last change."""
        if self._spell_started is None:
            return  # at full rate, the common case: one test per answer
        now = self._clock()
        rate = min(self.ceiling, self.rate + self.step * (now - self._grown_at))
        self._grown_at = now
        self._set(rate)
        if rate >= self.ceiling:
            log.info(
                "operator throttling over: full rate again",
                connector=self.name,
                seconds=round(now - self._spell_started, 3),
                throttled_answers=self._spell_answers,
                lowest_rate=round(self._spell_lowest, 3),
            )
            self._spell_started = None

    def _set(self, rate: float) -> None:
        """The bucket's rate, its burst scaled alike: a slowed connector must not
        spend a full-rate burst after a pause."""
        self._bucket.set_rate(rate, max(1.0, self._burst * rate / self.ceiling))
