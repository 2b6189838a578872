"""Random tables and messages: the indexed decision equals a plain reference reading.

The reference below restates the routing rules directly on the config data (first
route whose filters all match, none of whose ``unless`` filters match, and that has
a sell price and a usable connector; least cost orders the usable connectors that
have a cost now), with brute-force prefix matching and rate windows; it shares no
code with the router's filters, index, prefix maps or tariffs. ``decide_mt`` spells
out what ``apply_mt`` (which ``explain_mt`` uses) does per route, so the two must
give the same decision, field for field.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from router import MessageFacts, MtRouted, NoRoute, Rejected, explain_mt, load_data
from router.table import RoutingTable

BASE = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
CONNECTORS = ["a", "b", "c"]
COSTED = {"a": "cost-a", "b": "cost-b"}
"""Connectors with a cost tariff; ``c`` has none, so its cost is unknown."""
short_digits = st.text(alphabet="123", min_size=1, max_size=3)

filter_values: dict[str, Any] = {
    "account": st.lists(st.sampled_from(["a1", "a2", "a3"]), min_size=1, max_size=2),
    "account_group": st.lists(st.sampled_from(["g1", "g2"]), min_size=1, max_size=2),
    "priority": st.lists(st.sampled_from(["otp", "bulk", "normal"]), min_size=1, max_size=2),
    "destination_prefix": st.lists(short_digits, min_size=1, max_size=3),
    "destination_network": st.lists(st.sampled_from(["00101", "00102"]), min_size=1),
    "data_coding": st.lists(st.sampled_from([0, 8]), min_size=1),
    "tag": st.lists(st.sampled_from(["t1", "t2"]), min_size=1),
    "source": st.sampled_from(["^A", "B$", "A|B"]),
    "destination": st.sampled_from(["^1", "3$", "22"]),
    "content": st.sampled_from(["x", "^y"]),
    "date": st.sampled_from([{"start": "2025-06-02T11:00:00Z"}, {"end": "2025-06-02T13:00:00Z"}]),
}


@st.composite
def filter_tables(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(st.lists(st.sampled_from(sorted(filter_values)), max_size=3, unique=True))
    return {field: draw(filter_values[field]) for field in fields}


@st.composite
def routes(draw: st.DrawFn, position: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["static", "failover", "least_cost", "reject"]))
    if kind == "static":
        target: dict[str, Any] = {"kind": "static", "connector": draw(st.sampled_from(CONNECTORS))}
    elif kind == "failover":
        chosen = draw(st.lists(st.sampled_from(CONNECTORS), min_size=1, max_size=3, unique=True))
        target = {"kind": "failover", "connectors": chosen}
    elif kind == "least_cost":
        chosen = draw(st.lists(st.sampled_from(sorted(COSTED)), min_size=1, unique=True))
        target = {"kind": "least_cost", "connectors": chosen}
    else:
        target = {"kind": "reject", "command_status": 0x45, "reason": "refused"}
    route: dict[str, Any] = {
        "id": f"r{position}",
        "target": target,
        "filters": draw(filter_tables()),
    }
    if draw(st.booleans()):
        route["unless"] = draw(filter_tables())
    if kind != "reject" and draw(st.booleans()):
        route["sell_tariff"] = "retail"
    return route


@st.composite
def cost_rates(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One rate per prefix, some of them only from ``BASE`` on or only until it."""
    rates = []
    for prefix in draw(st.lists(short_digits, unique=True, max_size=4)):
        rate: dict[str, Any] = {"prefix": prefix, "price": draw(st.integers(1, 9))}
        window = draw(st.sampled_from(["always", "valid_from", "valid_until"]))
        if window != "always":
            rate[window] = BASE.isoformat()
        rates.append(rate)
    return rates


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=8))
    return {
        "currency": "EUR",
        "connectors": {
            name: {"cost_tariff": COSTED[name]} if name in COSTED else {} for name in CONNECTORS
        },
        "accounts": {"a1": {"sell_tariff": "special"}},
        "tariffs": {
            "retail": {"rates": [{"prefix": "", "price": 100}]},
            "special": {
                "rates": [
                    {"prefix": p, "price": 7} for p in draw(st.lists(short_digits, unique=True))
                ]
            },
        }
        | {tariff: {"rates": draw(cost_rates())} for tariff in COSTED.values()},
        "networks": {"98": "00101", "99": "00102"}
        | draw(st.dictionaries(short_digits, st.sampled_from(["00101", "00102"]))),
        "mt_routes": [draw(routes(position)) for position in range(count)],
    }


messages = st.builds(
    MessageFacts,
    source=st.sampled_from(["A1", "XB", "AB", "C"]),
    destination=st.text(alphabet="123", min_size=4, max_size=4).map(lambda d: "+" + d),
    now=st.sampled_from([BASE, BASE - timedelta(hours=2), BASE + timedelta(hours=2)]),
    account=st.sampled_from(["a1", "a2", "a3", ""]),
    groups=st.lists(st.sampled_from(["g1", "g2"]), max_size=2, unique=True).map(tuple),
    content=st.sampled_from(["x", "yes", "no"]),
    data_coding=st.sampled_from([0, 8, 3]),
    priority=st.sampled_from(["otp", "bulk", "normal", "express"]),
    tags=st.lists(st.sampled_from(["t1", "t2"]), max_size=2, unique=True).map(tuple),
)


def longest(entries: dict[str, Any], key: str) -> Any:
    matching = [prefix for prefix in entries if key.startswith(prefix)]
    return entries[max(matching, key=len)] if matching else None


def reference_match(
    field: str, wanted: Any, facts: MessageFacts, destination: str, network: str
) -> bool:
    seen: dict[str, tuple[object, ...]] = {
        "account": (facts.account,),
        "account_group": facts.groups,
        "priority": (facts.priority,),
        "destination_network": (network,),
        "data_coding": (facts.data_coding,),
        "tag": facts.tags,
    }
    if field in seen:
        return any(value in wanted for value in seen[field])
    if field == "destination_prefix":
        return any(destination.startswith(prefix) for prefix in wanted)
    if field in ("source", "destination", "content"):
        text = {"source": facts.source, "destination": destination, "content": facts.content}[field]
        return re.search(wanted, text) is not None
    start = datetime.fromisoformat(wanted.get("start", "2000-01-01T00:00:00+00:00"))
    end = datetime.fromisoformat(wanted.get("end", "2100-01-01T00:00:00+00:00"))
    return start <= facts.now < end


def reference_cost(data: dict[str, Any], connector: str, destination: str, now: datetime) -> Any:
    """The rate of the longest prefix of ``destination`` valid at ``now``, if any."""
    if connector not in COSTED:
        return None
    valid = {}
    for rate in data["tariffs"][COSTED[connector]]["rates"]:
        start = datetime.fromisoformat(rate.get("valid_from", "2000-01-01T00:00:00+00:00"))
        end = datetime.fromisoformat(rate.get("valid_until", "2100-01-01T00:00:00+00:00"))
        if start <= now < end:
            valid[rate["prefix"]] = rate["price"]
    return longest(valid, destination)


def reference_decision(
    data: dict[str, Any], facts: MessageFacts, usable: set[str]
) -> tuple[Any, ...]:
    destination = facts.destination.removeprefix("+")
    network = longest(data["networks"], destination) or ""
    special = {rate["prefix"]: rate["price"] for rate in data["tariffs"]["special"]["rates"]}
    for route in data["mt_routes"]:
        if not all(
            reference_match(f, v, facts, destination, network) for f, v in route["filters"].items()
        ):
            continue
        if any(
            reference_match(f, v, facts, destination, network)
            for f, v in route.get("unless", {}).items()
        ):
            continue
        target = route["target"]
        if target["kind"] == "reject":
            return ("rejected", route["id"])
        price = longest(special, destination) if facts.account == "a1" else None
        if price is None and "sell_tariff" in route:
            price = 100
        listed = [target["connector"]] if target["kind"] == "static" else target["connectors"]
        connectors = tuple(c for c in listed if c in usable)
        if target["kind"] == "least_cost":
            costs = {c: reference_cost(data, c, destination, facts.now) for c in connectors}
            carrying = [c for c in connectors if costs[c] is not None]
            connectors = tuple(sorted(carrying, key=lambda c: (costs[c], listed.index(c))))
        if price is None or not connectors:
            continue
        cost = reference_cost(data, connectors[0], destination, facts.now)
        return ("routed", route["id"], connectors, price, cost, network)
    return ("no route",)


def as_tuple(decision: object) -> tuple[Any, ...]:
    if isinstance(decision, MtRouted):
        return (
            "routed",
            decision.route_id,
            decision.connectors,
            decision.sell_per_part,
            decision.cost_per_part,
            decision.network,
        )
    if isinstance(decision, Rejected):
        return ("rejected", decision.route_id)
    assert isinstance(decision, NoRoute)
    return ("no route",)


@settings(max_examples=200, deadline=None)
@given(
    configs(),
    st.lists(messages, min_size=1, max_size=8),
    st.sets(st.sampled_from(CONNECTORS)),
)
def test_decisions_match_the_reference(
    data: dict[str, Any], batch: list[MessageFacts], usable: set[str]
) -> None:
    table = RoutingTable(load_data(data))
    for facts in batch:
        expected = reference_decision(data, facts, usable)
        decision = table.decide_mt(facts, usable)
        assert as_tuple(decision) == expected
        explanation = explain_mt(table, facts, usable)
        assert explanation.decision == decision
        decided = [trace.route_id for trace in explanation.routes if trace.decided]
        assert decided == ([expected[1]] if len(expected) > 1 else [])
