"""Every metric the Grafana dashboard and the Prometheus alerts query exists.

A gateway runs in-process with one message through it (submitted, receipted),
one refused, credit read and a persister's collector beside it; its registry
is scraped and each expression's metric names, and the labels they match on,
must be there. A renamed metric fails here, not on a dark dashboard.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from ledger.persister import Persister
from ledger.persister_metrics import Lag, PersisterMetrics
from ledger.pgstore import EventStore
from smpp import pdu as p
from smpp.aio import CommandFailed
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import OTP, Customer, running_gateway, simulator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "smsgw.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
SCRAPES = DEPLOY / "prometheus" / "prometheus.yml"

_SELECTOR = re.compile(r"\b((?:smsgw|process|python)_[a-z0-9_]+|up)\b(?:\{([^}]*)\})?")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def exposed() -> dict[str, set[str]]:
    """Sample name -> the label names its samples carry, from one scrape."""
    async with running_gateway("memory", [simulator()]) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        await connection.call(OTP)
        await asyncio.wait_for(customer.delivered.get(), 10)
        nowhere = p.SubmitSm(source_addr="BANK", destination_addr="4412345", short_message=b"x")
        with pytest.raises(CommandFailed) as refused:
            await connection.call(nowhere)
        assert refused.value.response.command_status == S.ESME_RINVDSTADR
        await gateway.credit.refresh()
        unused = Redis()  # the collector reads Redis only in refresh()
        persister = Persister(unused, EventStore("postgresql://unused"))
        persister_metrics = PersisterMetrics(persister, unused)
        persister_metrics.lag = Lag(0, 0.0)
        gateway.registry.register(persister_metrics)
        text = generate_latest(gateway.registry).decode()
        await connection.unbind()
        await unused.aclose()
    target = _target_labels()
    samples: dict[str, set[str]] = {"up": set(target)}  # Prometheus's own, per target
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, set(target)).update(sample.labels)
    return samples


def _target_labels() -> set[str]:
    """Labels Prometheus adds to every sample of a target: job, instance, and
    those prometheus.yml gives (the shard's name)."""
    labels = {"job", "instance"}
    for job in yaml.safe_load(SCRAPES.read_text())["scrape_configs"]:
        for static in job["static_configs"]:
            labels.update(static.get("labels", {}))
    return labels


def _dashboard_expressions() -> Iterator[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            yield target["expr"]
    for variable in dashboard.get("templating", {}).get("list", ()):
        if variable.get("type") == "query":
            query = variable["query"]
            yield query["query"] if isinstance(query, dict) else query


def _alert_expressions() -> Iterator[str]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule["expr"]


def _check(expression: str, exposed: dict[str, set[str]]) -> list[str]:
    """What ``expression`` asks for that the gateway does not expose."""
    problems = []
    names = _SELECTOR.findall(expression)
    assert names, f"no metric in {expression!r}"
    every_label = set().union(*(exposed.get(name, set()) for name, _ in names))
    for name, matchers in names:
        if name not in exposed:
            problems.append(f"{name} is not exposed")
            continue
        for label in _MATCHER.findall(matchers):
            if label not in exposed[name]:
                problems.append(f"{name} has no label {label!r}")
    for grouping in _GROUPING.findall(expression):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            if label not in every_label:
                problems.append(f"no metric of {expression!r} has label {label!r}")
    return problems


def test_the_dashboard_queries_only_what_a_gateway_exposes(
    exposed: dict[str, set[str]],
) -> None:
    expressions = list(_dashboard_expressions())
    assert len(expressions) >= 10
    assert [problem for e in expressions for problem in _check(e, exposed)] == []


def test_the_alerts_query_only_what_a_gateway_exposes(exposed: dict[str, set[str]]) -> None:
    expressions = list(_alert_expressions())
    assert len(expressions) >= 4
    assert [problem for e in expressions for problem in _check(e, exposed)] == []


def test_the_check_catches_a_renamed_metric_or_label(exposed: dict[str, set[str]]) -> None:
    assert _check('rate(smsgw_messages_total{event="accepted"}[5m])', exposed) == []
    renamed = _check("rate(smsgw_mesages_total[5m])", exposed)
    assert renamed == ["smsgw_mesages_total is not exposed"]
    assert _check('smsgw_messages_total{connector="x"}', exposed) == [
        "smsgw_messages_total has no label 'connector'"
    ]
    assert _check("sum by (shard) (smsgw_messages_total)", exposed) == []  # a target label
    assert _check("sum by (account) (smsgw_messages_total)", exposed) == [
        "no metric of 'sum by (account) (smsgw_messages_total)' has label 'account'"
    ]
