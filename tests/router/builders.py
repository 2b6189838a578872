"""Shared helpers for router tests: minimal valid config data and message facts."""

from datetime import UTC, datetime
from typing import Any

from router import MessageFacts, MoRouted, MtRouted, RoutingTable, load_data

NOON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
"""A Monday."""


def config(**sections: Any) -> dict[str, Any]:
    """Plain config data with two connectors and a catch-all retail tariff."""
    data: dict[str, Any] = {
        "currency": "EUR",
        "connectors": {"a": {"cost_tariff": "cost-a"}, "b": {"cost_tariff": "cost-b"}, "c": {}},
        "tariffs": {
            "retail": {"rates": [{"prefix": "", "price": 50_000}]},
            "cost-a": {"rates": [{"prefix": "33", "price": 20_000}]},
            "cost-b": {"rates": [{"prefix": "3", "price": 25_000}]},
        },
    }
    data.update(sections)
    return data


def route(route_id: str, target: dict[str, Any] | None = None, **filters: Any) -> dict[str, Any]:
    """An MT route priced by ``retail``; ``filters`` become its filters table."""
    return {
        "id": route_id,
        "filters": filters,
        "target": target or {"kind": "static", "connector": "a"},
        "sell_tariff": "retail",
    }


def table(data: dict[str, Any], **options: Any) -> RoutingTable:
    return RoutingTable(load_data(data), **options)


def facts(**fields: Any) -> MessageFacts:
    values: dict[str, Any] = {"source": "BANK", "destination": "33612345678", "now": NOON}
    values.update(fields)
    return MessageFacts(**values)


def routed(decision: object) -> MtRouted:
    """The decision, checked to be an MT routing."""
    assert isinstance(decision, MtRouted), decision
    return decision


def delivered(decision: object) -> MoRouted:
    """The decision, checked to be an MO routing."""
    assert isinstance(decision, MoRouted), decision
    return decision
