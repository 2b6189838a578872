"""Every filter kind, matched and missed, as a filter and negated with ``unless``."""

from datetime import UTC, datetime
from typing import Any

import pytest

from router import NO_ROUTE, MtRouted, explain_mo, explain_mt, filters
from tests.router.builders import config, delivered, facts, route, table

SATURDAY_NOON = datetime(2025, 6, 7, 12, 0, tzinfo=UTC)

CASES: list[tuple[str, Any, dict[str, Any], dict[str, Any]]] = [
    ("account", ["bank"], {"account": "bank"}, {"account": "shop"}),
    ("account_group", ["banks"], {"groups": ("x", "banks")}, {"groups": ("x",)}),
    ("priority", ["otp", "express"], {"priority": "otp"}, {"priority": "bulk"}),
    ("source", "^BANK$", {"source": "BANK"}, {"source": "BANK2"}),
    (
        "destination_prefix",
        ["336", "4477"],
        {"destination": "33612345678"},
        {"destination": "33712345678"},
    ),
    (
        "destination",
        r"^33[67]\d{8}$",
        {"destination": "+33612345678"},
        {"destination": "3361234567"},
    ),
    (
        "destination_network",
        ["20801"],
        {"destination": "33612345678"},
        {"destination": "33712345678"},
    ),
    ("content", "(?i)code", {"content": "Your CODE is 1"}, {"content": "hello"}),
    ("data_coding", [8], {"data_coding": 8}, {"data_coding": 0}),
    ("tag", ["otp"], {"tags": ("x", "otp")}, {"tags": ()}),
    (
        "date",
        {"start": "2025-06-01T00:00:00Z", "end": "2025-06-03T00:00:00+02:00"},
        {},
        {"now": datetime(2025, 6, 2, 22, 0, tzinfo=UTC)},
    ),
    (
        "time_of_day",
        {"start": "08:00:00", "end": "20:00:00", "timezone": "Europe/Paris", "weekdays": ["mon"]},
        {"now": datetime(2025, 6, 2, 17, 59, 59, tzinfo=UTC)},
        {"now": datetime(2025, 6, 2, 18, 0, tzinfo=UTC)},
    ),
    (
        "time_of_day",
        {"start": "08:00:00", "end": "20:00:00", "timezone": "Europe/Paris", "weekdays": ["mon"]},
        {"now": datetime(2025, 6, 2, 6, 0, tzinfo=UTC)},
        {"now": SATURDAY_NOON},
    ),
    (
        "time_of_day",
        {"start": "22:00:00", "end": "06:00:00"},
        {"now": datetime(2025, 6, 2, 5, 59, tzinfo=UTC)},
        {"now": datetime(2025, 6, 2, 6, 0, tzinfo=UTC)},
    ),
    (
        "time_of_day",
        {"start": "22:00:00", "end": "06:00:00"},
        {"now": datetime(2025, 6, 2, 22, 0, tzinfo=UTC)},
        {"now": datetime(2025, 6, 2, 21, 59, tzinfo=UTC)},
    ),
]
IDS = [f"{case[0]}-{n}" for n, case in enumerate(CASES)]
NETWORKS = {"3361": "20801", "337": "20810"}


@pytest.mark.parametrize(("field", "value", "hit", "miss"), CASES, ids=IDS)
def test_filter_matches_and_misses(
    field: str, value: Any, hit: dict[str, Any], miss: dict[str, Any]
) -> None:
    routing = table(config(networks=NETWORKS, mt_routes=[route("r", **{field: value})]))
    decision = routing.decide_mt(facts(**hit))
    assert isinstance(decision, MtRouted)
    assert decision.route_id == "r"
    assert routing.decide_mt(facts(**miss)) is NO_ROUTE
    reason = explain_mt(routing, facts(**miss)).routes[0].reason
    assert reason.startswith(f"filters.{field}: ")


@pytest.mark.parametrize(("field", "value", "hit", "miss"), CASES, ids=IDS)
def test_unless_negates_the_filter(
    field: str, value: Any, hit: dict[str, Any], miss: dict[str, Any]
) -> None:
    negated = route("r")
    negated["unless"] = {field: value}
    routing = table(config(networks=NETWORKS, mt_routes=[negated]))
    assert routing.decide_mt(facts(**hit)) is NO_ROUTE
    decision = routing.decide_mt(facts(**miss))
    assert isinstance(decision, MtRouted)
    assert decision.route_id == "r"
    reason = explain_mt(routing, facts(**hit)).routes[0].reason
    assert reason.startswith(f"unless.{field}: ")


def test_filters_of_one_route_must_all_match() -> None:
    routing = table(config(mt_routes=[route("r", account=["bank"], destination_prefix=["33"])]))
    assert routing.decide_mt(facts(account="bank")) != NO_ROUTE
    assert routing.decide_mt(facts(account="bank", destination="4477")) is NO_ROUTE
    assert routing.decide_mt(facts(account="shop")) is NO_ROUTE


def test_filter_and_unless_on_the_same_field_carve_out_a_range() -> None:
    carved = route("france-but-orange", destination_prefix=["33"])
    carved["unless"] = {"destination_prefix": ["3361"]}
    routing = table(config(mt_routes=[carved]))
    assert routing.decide_mt(facts(destination="33712345678")) != NO_ROUTE
    assert routing.decide_mt(facts(destination="33612345678")) is NO_ROUTE


def test_connector_filter_routes_mo() -> None:
    data = config(
        mo_routes=[
            {
                "id": "from-a",
                "filters": {"connector": ["a"]},
                "target": {"kind": "static", "account": "x"},
            },
            {
                "id": "not-from-a",
                "unless": {"connector": ["a"]},
                "target": {"kind": "static", "account": "y"},
            },
        ]
    )
    routing = table(data)
    assert delivered(routing.decide_mo(facts(connector="a"))).route_id == "from-a"
    assert delivered(routing.decide_mo(facts(connector="b"))).route_id == "not-from-a"
    trace = explain_mo(routing, facts(connector="b")).routes[0]
    assert trace.reason == "filters.connector: connector is 'b', wanted one of ['a']"


def test_source_patterns_remember_answers_per_sender_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(filters, "SOURCE_MEMO_LIMIT", 2)
    routing = table(config(mt_routes=[route("bank", source="^BANK"), route("rest", account=["x"])]))
    senders = ["BANK", "SHOP", "BANK1", "SHOP", "BANK", "INFO", "BANK"] * 2
    for sender in senders:
        decision = routing.decide_mt(facts(source=sender, account="x"))
        expected = "bank" if sender.startswith("BANK") else "rest"
        assert isinstance(decision, MtRouted) and decision.route_id == expected
    pattern = routing.mt_routes[0].unindexed[0]
    assert isinstance(pattern, filters.PatternFilter)
    assert pattern._answers is not None and len(pattern._answers) <= 2
