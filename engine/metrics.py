"""Prometheus metrics of one shard.

Counts and gauges are read from the components when Prometheus scrapes (a
custom collector), and so are the histograms: the hot path only adds to
plain lists and numbers, and pays nothing for exposition.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

if TYPE_CHECKING:
    from engine.gateway import Gateway

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


class GatewayCollector:
    """Reads counters, queue depths and bind states at scrape time."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gateway = self.gateway
        messages = CounterMetricFamily(
            "smsgw_messages", "Messages by what happened to them.", labels=["event"]
        )
        for event, count in gateway.pipeline.counters.items():
            messages.add_metric([event], count)
        yield messages
        depth = GaugeMetricFamily(
            "smsgw_queue_depth",
            "Messages waiting per connector and class.",
            labels=["connector", "priority"],
        )
        for name, scheduler in gateway.schedulers.items():
            for priority, count in scheduler.depth_by_priority().items():
                depth.add_metric([name, priority.name.lower()], count)
        yield depth
        binds = GaugeMetricFamily(
            "smsgw_connector_binds", "Operator binds by state.", labels=["connector", "state"]
        )
        in_flight = GaugeMetricFamily(
            "smsgw_connector_in_flight", "submit_sm awaiting a response.", labels=["connector"]
        )
        for name, connector in gateway.connectors.items():
            state = connector.state()
            for bind_state in {b.value for b in state.binds}:
                count = sum(1 for b in state.binds if b.value == bind_state)
                binds.add_metric([name, bind_state], count)
            in_flight.add_metric([name], state.in_flight)
        yield binds
        yield in_flight
        customers = GaugeMetricFamily(
            "smsgw_customer_binds", "Customer SMPP binds by account.", labels=["account"]
        )
        for account in gateway.accounts:
            customers.add_metric([account], gateway.binds.count(account))
        yield customers
        yield GaugeMetricFamily(
            "smsgw_held_deliveries",
            "Receipts and MO waiting for a receiving bind of their account.",
            value=len(gateway.held),
        )
        webhooks = CounterMetricFamily(
            "smsgw_webhooks", "Webhook deliveries by outcome.", labels=["outcome"]
        )
        for outcome, count in gateway.webhooks.counters.items():
            webhooks.add_metric([outcome], count)
        yield webhooks
        yield GaugeMetricFamily(
            "smsgw_webhooks_held",
            "Webhook deliveries queued, in flight or waiting to retry.",
            value=gateway.webhooks.held,
        )
