"""Prometheus histograms of the message pipeline.

Counts and gauges are read from the components when Prometheus scrapes (a
custom collector), and so are the histograms: the hot path only adds to
plain lists and numbers, and pays nothing for exposition.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    HistogramMetricFamily,
    Metric,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class PlainHistogram:
    """A Prometheus histogram observed without a lock.

    prometheus-client's own takes a lock per bucket and per sum on every
    observation: two of them per message were 7% of the engine's CPU on
    bench.e2e. One event loop thread observes here, so a list and a number
    do, and the scrape turns them into cumulative buckets.
    """

    __slots__ = ("_bounds", "_counts", "documentation", "name", "sum")

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self._bounds = tuple(buckets)
        self._counts = [0] * (len(self._bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Counts ``value`` in the first bucket whose upper bound is at least it."""
        self._counts[bisect_left(self._bounds, value)] += 1
        self.sum += value

    def collect(self) -> Iterator[Metric]:
        cumulative = list(accumulate(self._counts))
        buckets = [(_bound(b), n) for b, n in zip(self._bounds, cumulative, strict=False)]
        buckets.append(("+Inf", cumulative[-1]))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, self.sum)
        yield family


def _bound(value: float) -> str:
    """A bucket bound as prometheus-client spells it (``le="1.0"``)."""
    return repr(float(value))


class PipelineMetrics:
    """Histograms the pipeline observes; one registry per gateway (tests make many)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.accept_to_submit = PlainHistogram(
            "smsgw_accept_to_submit_seconds",
            "From the ledger's commit to the operator's submit_sm_resp OK.",
            LATENCY_BUCKETS,
        )
        self.submit_to_receipt = PlainHistogram(
            "smsgw_submit_to_receipt_seconds",
            "From the operator's submit_sm_resp OK to its delivery receipt.",
            LATENCY_BUCKETS,
        )
        self.ledger_batch = PlainHistogram(
            "smsgw_ledger_accept_batch_size",
            "Messages per accept_many call to the ledger.",
            (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        )
        for histogram in (self.accept_to_submit, self.submit_to_receipt, self.ledger_batch):
            registry.register(histogram)
