"""How an operator connector is doing lately, and whether routing should use it.

A bound operator can still be useless: answering every submit_sm with an
error, throttling everything, or accepting messages and then reporting them
undeliverable. Each connector keeps a rolling window of ``health_window``
seconds, in `BUCKETS` buckets, of its submit_sm answers (latency, errors,
throttling) and of its final receipts (delivered or not). Sans-IO: the clock
is injected; the binds feed each answer, the pipeline each matched receipt
(through the gateway), and the gateway asks `ConnectorHealth.in_routing` at
every health check.

Whether the connector is routed to is a circuit breaker:

- ``in``: routed. Taken ``out`` when, over the samples since it was last let
  in, the error or throttle rate is above its maximum or the delivery ratio
  below its minimum, each judged on at least ``health_min_samples`` samples.
- ``out``: routing passes it by (failover routes take its traffic, and the
  gateway moves its queue like that of a connector without a bind) for
  ``health_probe_interval`` seconds, then it goes on ``trial``.
- ``trial``: routed again and judged on the samples since the trial began:
  back ``in`` once the figure that took it out passes on enough samples,
  ``out`` again as soon as any figure fails.

Each move out and back in is one log line with the figures.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Literal

import msgspec
import structlog

from engine.messages.metrics import SUBMIT_BUCKETS, PlainBuckets
from engine.operators.connector_config import ConnectorConfig
from engine.operators.error_map import ErrorKind, ErrorMap
from smpp import pdu as p
from smpp.aio import ResponseTimeout

log = structlog.get_logger("smsgw.connector")

BUCKETS = 20
"""Buckets of a window: it slides by a twentieth of its length."""

Routing = Literal["in", "out", "trial"]


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    """A connector's figures over its window, for metrics and the admin API.
    A rate or ratio with nothing to divide is None."""

    routing: Routing
    window: float
    """Seconds the figures cover."""
    submits: int
    """submit_sm answered or unanswered in time."""
    errors: int
    """Answered with an error other than throttling, or not answered in time."""
    throttled: int
    """Answered with a status the connector's error map calls throttling."""
    timeouts: int
    """Not answered within ``response_timeout`` (counted in ``errors`` too)."""
    error_rate: float | None
    throttle_rate: float | None
    latency_mean: float | None
    """Seconds from submit_sm to its response, over answered ones."""
    latency_max: float | None
    receipts: int
    """Final receipts matched to this connector's submits."""
    delivered: int
    delivery_ratio: float | None


class _Bucket:
    """The counts of one slice of the window."""

    __slots__ = (
        "delivered",
        "errors",
        "index",
        "latency_max",
        "latency_sum",
        "receipts",
        "submits",
        "throttled",
        "timeouts",
    )

    def __init__(self, index: int) -> None:
        self.reset(index)

    def reset(self, index: int) -> None:
        self.index = index
        self.submits = self.errors = self.throttled = self.timeouts = 0
        self.receipts = self.delivered = 0
        self.latency_sum = self.latency_max = 0.0


class _Totals:
    """Buckets added up."""

    def __init__(self, buckets: list[_Bucket]) -> None:
        self.submits = sum(b.submits for b in buckets)
        self.errors = sum(b.errors for b in buckets)
        self.throttled = sum(b.throttled for b in buckets)
        self.timeouts = sum(b.timeouts for b in buckets)
        self.receipts = sum(b.receipts for b in buckets)
        self.delivered = sum(b.delivered for b in buckets)
        answered = self.submits - self.timeouts
        self.latency_mean = sum(b.latency_sum for b in buckets) / answered if answered else None
        self.latency_max = max(b.latency_max for b in buckets) if answered else None
        self.error_rate = self.errors / self.submits if self.submits else None
        self.throttle_rate = self.throttled / self.submits if self.submits else None
        self.delivery_ratio = self.delivered / self.receipts if self.receipts else None

    def figures(self) -> dict[str, object]:
        """The figures a log line shows."""
        return {
            "submits": self.submits,
            "error_rate": _rounded(self.error_rate),
            "throttle_rate": _rounded(self.throttle_rate),
            "receipts": self.receipts,
            "delivery_ratio": _rounded(self.delivery_ratio),
            "latency_mean": _rounded(self.latency_mean),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class ConnectorHealth:
    """The rolling window and the routing breaker of one connector."""

    def __init__(
        self,
        config: ConnectorConfig,
        errors: ErrorMap,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._errors = errors
        self._clock = clock
        self._width = config.health_window / BUCKETS
        self._ring = [_Bucket(-BUCKETS) for _ in range(BUCKETS)]
        self.routing: Routing = "in"
        self._since: float | None = None
        """Start of the samples judged: when it last went on trial (None: never out)."""
        self._out_at = 0.0
        self._cause = ""
        """The figure that last took it out."""
        self.latency = PlainBuckets(SUBMIT_BUCKETS)
        self.statuses: dict[int, int] = {}
        self.timeouts = 0
        """Since start, for the metrics (the window forgets): answers' latency,
        answers by command_status, submit_sm unanswered in time."""

    # -- samples ------------------------------------------------------------

    def answered(self, future: asyncio.Future[p.Pdu], latency: float) -> None:
        """One submit_sm's end: its response, or no response in time. One lost
        with its bind says nothing about the operator's answers."""
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            self.response(future.result().command_status, latency)
        elif isinstance(error, ResponseTimeout):
            self.timed_out()

    def response(self, status: int, latency: float) -> None:
        self.latency.observe(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        bucket = self._bucket()
        bucket.submits += 1
        bucket.latency_sum += latency
        if latency > bucket.latency_max:
            bucket.latency_max = latency
        if status:
            if self._errors.classify(status) is ErrorKind.THROTTLING:
                bucket.throttled += 1
            else:
                bucket.errors += 1

    def timed_out(self) -> None:
        self.timeouts += 1
        bucket = self._bucket()
        bucket.submits += 1
        bucket.errors += 1
        bucket.timeouts += 1

    def receipt(self, delivered: bool) -> None:
        """A final receipt of one of this connector's submits."""
        bucket = self._bucket()
        bucket.receipts += 1
        if delivered:
            bucket.delivered += 1

    def _bucket(self) -> _Bucket:
        index = int(self._clock() // self._width)
        bucket = self._ring[index % BUCKETS]
        if bucket.index != index:
            bucket.reset(index)
        return bucket

    def _totals(self, since: float | None = None) -> _Totals:
        """The window's buckets, only those begun at ``since`` or later if given."""
        first = int(self._clock() // self._width) - BUCKETS + 1
        if since is not None:
            first = max(first, math.ceil(since / self._width))
        return _Totals([b for b in self._ring if b.index >= first])

    # -- reading ------------------------------------------------------------

    def report(self) -> HealthReport:
        totals = self._totals()
        return HealthReport(
            routing=self.routing,
            window=self.config.health_window,
            submits=totals.submits,
            errors=totals.errors,
            throttled=totals.throttled,
            timeouts=totals.timeouts,
            error_rate=totals.error_rate,
            throttle_rate=totals.throttle_rate,
            latency_mean=totals.latency_mean,
            latency_max=totals.latency_max,
            receipts=totals.receipts,
            delivered=totals.delivered,
            delivery_ratio=totals.delivery_ratio,
        )

    # -- the breaker --------------------------------------------------------

    def in_routing(self) -> bool:
        """Whether routing may choose this connector now; moves the breaker
        (and logs the move) when its figures or the probe interval say so."""
        now = self._clock()
        config = self.config
        if self.routing == "out":
            if now - self._out_at < config.health_probe_interval:
                return False
            self.routing, self._since = "trial", now
        totals = self._totals(self._since)
        cause = self._failing(totals)
        if cause is not None:
            self._take_out(now, cause, totals)
            return False
        if self.routing == "trial" and self._passes(self._cause, totals):
            self.routing = "in"
            log.info(
                "connector back in routing",
                connector=config.id,
                cause=self._cause,
                **totals.figures(),
            )
        return True

    def _take_out(self, now: float, cause: str, totals: _Totals) -> None:
        event = "connector trial failed" if self.routing == "trial" else "connector out of routing"
        self.routing, self._out_at, self._cause = "out", now, cause
        log.warning(
            event,
            connector=self.config.id,
            cause=cause,
            probe_in=self.config.health_probe_interval,
            **totals.figures(),
        )

    def _failing(self, totals: _Totals) -> str | None:
        """The first figure past its threshold on enough samples, or None."""
        config = self.config
        enough = config.health_min_samples
        if totals.submits >= enough:
            assert totals.error_rate is not None and totals.throttle_rate is not None
            if totals.error_rate > config.health_max_error_rate:
                return "error_rate"
            if totals.throttle_rate > config.health_max_throttle_rate:
                return "throttle_rate"
        if totals.receipts >= enough:
            assert totals.delivery_ratio is not None
            if totals.delivery_ratio < config.health_min_delivery_ratio:
                return "delivery_ratio"
        return None

    def _passes(self, cause: str, totals: _Totals) -> bool:
        """Whether a trial has shown, on enough samples, that ``cause`` is gone
        (the caller already knows no figure fails)."""
        samples = totals.receipts if cause == "delivery_ratio" else totals.submits
        return samples >= self.config.health_min_samples
