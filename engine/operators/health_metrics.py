"""Connector health as Prometheus metric families, read at scrape time.

Gauges over each connector's window (`engine.operators.health`); a rate with
nothing to divide in the window is left out rather than shown as 0, so an
idle connector never looks perfect or broken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import get_args

from prometheus_client.core import GaugeMetricFamily, Metric

from engine.operators.health import HealthReport, Routing

_RATES = (
    ("error_rate", "smsgw_connector_error_ratio", "Errors and timeouts per submit_sm"),
    ("throttle_rate", "smsgw_connector_throttle_ratio", "Throttling answers per submit_sm"),
    ("delivery_ratio", "smsgw_connector_delivery_ratio", "Delivered per final receipt"),
)


def health_metrics(reports: Mapping[str, HealthReport]) -> Iterator[Metric]:
    """One family per figure, labelled by connector."""
    routing = GaugeMetricFamily(
        "smsgw_connector_routing",
        "1 for the connector's routing state by health: in, out, trial.",
        labels=["connector", "state"],
    )
    samples = GaugeMetricFamily(
        "smsgw_connector_health_samples",
        "submit_sm answers and final receipts in the health window.",
        labels=["connector", "kind"],
    )
    latency = GaugeMetricFamily(
        "smsgw_connector_submit_latency_seconds",
        "submit_sm to submit_sm_resp over the health window: mean and max.",
        labels=["connector", "stat"],
    )
    rates = {
        field: GaugeMetricFamily(name, f"{text} over the health window.", labels=["connector"])
        for field, name, text in _RATES
    }
    for name, report in reports.items():
        for state in get_args(Routing):
            routing.add_metric([name, state], 1.0 if report.routing == state else 0.0)
        samples.add_metric([name, "submits"], report.submits)
        samples.add_metric([name, "receipts"], report.receipts)
        if report.latency_mean is not None and report.latency_max is not None:
            latency.add_metric([name, "mean"], report.latency_mean)
            latency.add_metric([name, "max"], report.latency_max)
        for field, family in rates.items():
            value = getattr(report, field)
            if value is not None:
                family.add_metric([name], value)
    yield routing
    yield samples
    yield latency
    yield from rates.values()
