"""A shard's Prometheus figures, read from its parts when Prometheus scrapes.

The hot path only adds to plain ints and lists (`engine.messages.metrics`);
this collector turns them into metric families on each scrape, so exposing
them costs nothing per message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from engine.customers.accounts import AccountConfig, BindRegistry
from engine.customers.delivery import CustomerDelivery
from engine.customers.held import HeldDeliveries
from engine.messages.metrics import histogram_family
from engine.messages.pipeline import Pipeline
from engine.operators.bind import BindState
from engine.operators.connector import Connector
from engine.operators.health_metrics import health_metrics
from engine.operators.scheduler import Scheduler
from engine.webhooks import WebhookDispatcher
from smpp.constants import status_name


class GatewayParts(Protocol):
    """What the collector reads of a gateway (`engine.gateway.Gateway`)."""

    pipeline: Pipeline
    schedulers: dict[str, Scheduler]
    connectors: dict[str, Connector]
    accounts: dict[str, AccountConfig]
    binds: BindRegistry
    held: HeldDeliveries
    delivery: CustomerDelivery
    webhooks: WebhookDispatcher


def register_runtime(registry: CollectorRegistry) -> None:
    """The process's own figures (CPU, memory, file descriptors, GC, Python
    version) on ``registry``: each gateway has its own, not the global one."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


class GatewayCollector:
    """Reads counters, queue depths and bind states at scrape time."""

    def __init__(self, gateway: GatewayParts) -> None:
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
        yield from _connectors(gateway.connectors)
        customers = GaugeMetricFamily(
            "smsgw_customer_binds", "Customer SMPP binds by account.", labels=["account"]
        )
        for account in gateway.accounts:
            customers.add_metric([account], gateway.binds.count(account))
        yield customers
        receipts = CounterMetricFamily(
            "smsgw_operator_receipts",
            "Operator receipts: matched, late (after a retry), unknown (given up), malformed.",
            labels=["connector", "outcome"],
        )
        for (connector_id, outcome), count in gateway.pipeline.matcher.counts.items():
            receipts.add_metric([connector_id, outcome], count)
        yield receipts
        yield GaugeMetricFamily(
            "smsgw_held_deliveries",
            "Receipts and MO waiting for a receiving bind of their account.",
            value=len(gateway.held),
        )
        yield from _customer_deliveries(gateway.delivery)
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


def _connectors(connectors: Mapping[str, Connector]) -> Iterator[Metric]:
    """Each operator connector: its binds, window, pace, answers and health."""
    binds = GaugeMetricFamily(
        "smsgw_connector_binds",
        "Operator binds by state; every state is shown, 0 when no bind is in it.",
        labels=["connector", "state"],
    )
    in_flight = GaugeMetricFamily(
        "smsgw_connector_in_flight", "submit_sm awaiting a response.", labels=["connector"]
    )
    rate = GaugeMetricFamily(
        "smsgw_connector_rate",
        "submit_sm per second allowed now (lower while the operator throttles).",
        labels=["connector"],
    )
    throttled = CounterMetricFamily(
        "smsgw_connector_throttled",
        "Throttling answers from the operator (never counted as failures).",
        labels=["connector"],
    )
    spells = CounterMetricFamily(
        "smsgw_connector_throttle_spells",
        "Spells of operator throttling; each ends when the rate is full again.",
        labels=["connector"],
    )
    messages = CounterMetricFamily(
        "smsgw_connector_messages",
        "Messages per connector: submitted, failed (it gave up on them), expired, "
        "retried (attempts after the first).",
        labels=["connector", "event"],
    )
    for name, connector in connectors.items():
        state = connector.state()
        for bind_state in BindState:
            count = sum(1 for b in state.binds if b is bind_state)
            binds.add_metric([name, bind_state.value], count)
        in_flight.add_metric([name], state.in_flight)
        rate.add_metric([name], state.rate)
        throttled.add_metric([name], state.throttled)
        spells.add_metric([name], state.throttle_spells)
        for event in ("submitted", "failed", "expired", "retried"):
            messages.add_metric([name, event], getattr(state, event))
    yield binds
    yield in_flight
    yield rate
    yield throttled
    yield spells
    yield messages
    yield from _answers(connectors)
    yield from health_metrics({n: c.health.report() for n, c in connectors.items()})


def _answers(connectors: Mapping[str, Connector]) -> Iterator[Metric]:
    """Every submit_sm's answer since the connector started: status, timeouts, latency."""
    responses = CounterMetricFamily(
        "smsgw_connector_responses",
        "submit_sm_resp per connector by command_status (ESME_ROK, ESME_RTHROTTLED, ...).",
        labels=["connector", "status"],
    )
    timeouts = CounterMetricFamily(
        "smsgw_connector_timeouts",
        "submit_sm not answered within the connector's response_timeout.",
        labels=["connector"],
    )
    for name, connector in connectors.items():
        health = connector.health
        for status, count in health.statuses.items():
            responses.add_metric([name, status_name(status)], count)
        timeouts.add_metric([name], health.timeouts)
    yield responses
    yield timeouts
    yield histogram_family(
        "smsgw_connector_submit_seconds",
        "submit_sm to its submit_sm_resp, per connector.",
        "connector",
        {name: connector.health.latency for name, connector in connectors.items()},
    )


def _customer_deliveries(delivery: CustomerDelivery) -> Iterator[Metric]:
    """Per account: what waits in memory, and how deliveries ended or overflowed."""
    held = GaugeMetricFamily(
        "smsgw_customer_deliveries_held",
        "Receipts and MO held in this shard's memory for a window slot, per account.",
        labels=["account"],
    )
    for account, count in delivery.held.by_account().items():
        held.add_metric([account], count)
    yield held
    outcomes = CounterMetricFamily(
        "smsgw_customer_deliveries",
        "Receipts and MO to customers by outcome: delivered, refused, expired, "
        "overflowed (past the held limit, kept in the store), dropped (parking cap).",
        labels=["account", "outcome"],
    )
    for (account, outcome), count in delivery.outcomes.items():
        outcomes.add_metric([account, outcome], count)
    yield outcomes
