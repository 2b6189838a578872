"""Prometheus metrics of one shard.

Counts and gauges are read from the components when Prometheus scrapes (a
custom collector), so the hot path pays nothing for them; only the latency
and batch-size histograms are observed per message or per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from engine.gateway import Gateway

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class PipelineMetrics:
    """Histograms the pipeline observes; one registry per gateway (tests make many)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.accept_to_submit = Histogram(
            "smsgw_accept_to_submit_seconds",
            "From the ledger's commit to the operator's submit_sm_resp OK.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.submit_to_receipt = Histogram(
            "smsgw_submit_to_receipt_seconds",
            "From the operator's submit_sm_resp OK to its delivery receipt.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ledger_batch = Histogram(
            "smsgw_ledger_accept_batch_size",
            "Messages per accept_many call to the ledger.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=registry,
        )


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
