import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from router import (
    NO_ROUTE,
    MessageFacts,
    MoRouted,
    MtRouted,
    Rejected,
    RoutingTable,
    load_toml_file,
)
from tests.router.builders import NOON, config, facts, route, routed, table

EXAMPLE = Path(__file__).parent / "fixtures" / "example.toml"
WEDNESDAY_MORNING = datetime(2025, 12, 3, 10, 0, tzinfo=UTC)
NIGHT = datetime(2025, 12, 3, 22, 0, tzinfo=UTC)


@pytest.fixture
def example() -> RoutingTable:
    return RoutingTable(load_toml_file(EXAMPLE), random.Random(3))


def mt(**fields: Any) -> MessageFacts:
    values: dict[str, Any] = {"source": "BANK", "now": WEDNESDAY_MORNING}
    values.update(fields)
    return MessageFacts(**values)


def test_example_otp_goes_by_failover_at_the_account_price(example: RoutingTable) -> None:
    decision = example.decide_mt(mt(destination="0612345678", account="bank-paris", priority="otp"))
    assert decision == MtRouted(
        route_id="otp-fr",
        connectors=("orange-fr", "sfr"),
        destination="33612345678",
        network="20801",
        sell_per_part=40_000,
        cost_per_part=21_000,
        currency="EUR",
        plan_id="",
        cost_currency="EUR",
        country="FR",
    )


def test_example_account_price_changes_on_its_date(example: RoutingTable) -> None:
    facts_2026 = mt(
        destination="0612345678",
        account="bank-paris",
        priority="otp",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    decision = example.decide_mt(facts_2026)
    assert isinstance(decision, MtRouted)
    assert decision.sell_per_part == 42_000


def test_example_failover_skips_a_down_connector(example: RoutingTable) -> None:
    decision = example.decide_mt(
        mt(destination="0612345678", account="bank-paris", priority="otp"), usable={"sfr", "hub"}
    )
    assert isinstance(decision, MtRouted)
    assert (decision.route_id, decision.connectors) == ("otp-fr", ("sfr",))
    assert decision.cost_per_part == 23_500
    assert example.cost_per_part("hub", decision.destination, WEDNESDAY_MORNING) == 26_000


def test_example_premium_numbers_are_rejected(example: RoutingTable) -> None:
    decision = example.decide_mt(mt(destination="+33899123456", account="shop-london"))
    assert decision == Rejected(
        route_id="no-premium", command_status=0x0B, reason="premium-rate numbers refused"
    )


def test_example_office_hours_and_content_exclusion(example: RoutingTable) -> None:
    bank = {"destination": "+33712345678", "account": "bank-lyon", "groups": ("banks",)}
    by_day = example.decide_mt(mt(**bank))
    assert isinstance(by_day, MtRouted)
    assert by_day.route_id == "banks-office-hours"
    assert by_day.sell_per_part == 45_000
    at_night = example.decide_mt(mt(now=NIGHT, **bank))
    assert isinstance(at_night, MtRouted)
    assert at_night.route_id == "everything-else"
    casino = example.decide_mt(mt(content="Casino night!", **bank))
    assert isinstance(casino, MtRouted)
    assert casino.route_id == "everything-else"


def test_example_uk_promo_by_network_tag_and_sender(example: RoutingTable) -> None:
    promo = {"destination": "07700900123", "account": "shop-london", "tags": ("promo",)}
    first = example.decide_mt(mt(source="ShopLdn", **promo))
    second = example.decide_mt(mt(source="ShopLdn", **promo))
    assert isinstance(first, MtRouted)
    assert isinstance(second, MtRouted)
    assert (first.route_id, first.destination, first.network) == (
        "uk-promo-december",
        "447700900123",
        "23410",
    )
    assert {first.connectors, second.connectors} == {("hub", "sfr"), ("sfr", "hub")}
    unicode = example.decide_mt(mt(source="ShopLdn", data_coding=8, **promo))
    assert isinstance(unicode, MtRouted)
    assert unicode.route_id == "everything-else"
    numeric_sender = example.decide_mt(mt(source="447700", **promo))
    assert isinstance(numeric_sender, MtRouted)
    assert numeric_sender.route_id == "everything-else"


def test_example_least_cost_orders_by_cost(example: RoutingTable) -> None:
    france = example.decide_mt(mt(destination="+33612345678", account="shop-london"))
    assert isinstance(france, MtRouted)
    assert (france.route_id, france.connectors) == (
        "everything-else",
        ("orange-fr", "sfr", "hub"),
    )
    assert (france.sell_per_part, france.cost_per_part) == (45_000, 21_000)
    elsewhere = example.decide_mt(mt(destination="+15551234567", account="shop-london"))
    assert isinstance(elsewhere, MtRouted)
    assert (elsewhere.connectors, elsewhere.sell_per_part, elsewhere.cost_per_part) == (
        ("hub",),
        80_000,
        30_000,
    )


def test_example_with_no_usable_connector_has_no_route(example: RoutingTable) -> None:
    assert example.decide_mt(mt(destination="+33612345678"), usable=set()) is NO_ROUTE


def test_example_mo_routes(example: RoutingTable) -> None:
    reply = mt(source="33612345678", destination="33610000123", connector="sfr")
    assert example.decide_mo(reply) == MoRouted(route_id="bank-replies", accounts=("bank-paris",))
    stop = mt(source="33612345678", destination="33699", connector="hub", content=" STOP")
    assert example.decide_mo(stop) == MoRouted(
        route_id="stop-keywords", accounts=("opt-out", "bank-paris")
    )
    assert example.decide_mo(stop, usable={"bank-paris"}) == MoRouted(
        route_id="stop-keywords", accounts=("bank-paris",)
    )
    other = mt(source="33612345678", destination="33699", connector="hub")
    assert example.decide_mo(other) == Rejected(
        route_id="unknown-number", command_status=0x0B, reason="no MO route"
    )


def test_first_matching_route_wins() -> None:
    routing = table(
        config(mt_routes=[route("first", {"kind": "static", "connector": "b"}), route("second")])
    )
    decision = routing.decide_mt(facts())
    assert isinstance(decision, MtRouted)
    assert (decision.route_id, decision.connectors) == ("first", ("b",))


def test_route_without_sell_price_lets_the_next_route_decide() -> None:
    unpriced = route("unpriced")
    del unpriced["sell_tariff"]
    routing = table(config(mt_routes=[unpriced, route("priced")]))
    decision = routing.decide_mt(facts())
    assert isinstance(decision, MtRouted)
    assert decision.route_id == "priced"
    alone = table(config(mt_routes=[unpriced]))
    assert alone.decide_mt(facts()) is NO_ROUTE


def test_account_tariff_prices_before_the_route_tariff() -> None:
    data = config(
        accounts={"vip": {"sell_tariff": "vip"}},
        mt_routes=[route("r")],
    )
    data["tariffs"]["vip"] = {"rates": [{"prefix": "336", "price": 30_000}]}
    routing = table(data)
    vip_mobile = routing.decide_mt(facts(account="vip", destination="33612345678"))
    vip_fixed = routing.decide_mt(facts(account="vip", destination="33112345678"))
    other = routing.decide_mt(facts(account="other", destination="33612345678"))
    assert [routed(d).sell_per_part for d in (vip_mobile, vip_fixed, other)] == [
        30_000,
        50_000,
        50_000,
    ]


def test_connector_without_cost_tariff_has_unknown_cost() -> None:
    routing = table(config(mt_routes=[route("r", {"kind": "static", "connector": "c"})]))
    decision = routing.decide_mt(facts())
    assert isinstance(decision, MtRouted)
    assert decision.cost_per_part is None
    assert routing.cost_per_part("c", "33612345678", NOON) is None
    assert routing.cost_per_part("b", "44", NOON) is None


def test_usable_may_be_any_container() -> None:
    class BoundConnectors:
        def __contains__(self, connector: object) -> bool:
            return connector == "b"

    target = {"kind": "failover", "connectors": ["a", "b"]}
    routing = table(config(mt_routes=[route("r", target)]))
    decision = routing.decide_mt(facts(), BoundConnectors())
    assert isinstance(decision, MtRouted)
    assert decision.connectors == ("b",)


def test_weighted_decisions_repeat_with_the_same_random_source() -> None:
    target = {"kind": "weighted", "weights": {"a": 1, "b": 1, "c": 1}}
    data = config(mt_routes=[route("r", target)])
    first = table(data, source=random.Random(9))
    second = table(data, source=random.Random(9))
    sequence = [routed(first.decide_mt(facts())).connectors for _ in range(50)]
    assert sequence == [routed(second.decide_mt(facts())).connectors for _ in range(50)]
    assert len(set(sequence)) > 1


def test_round_robin_counter_belongs_to_the_route() -> None:
    rotate = {"kind": "round_robin", "connectors": ["a", "b"]}
    routing = table(
        config(
            mt_routes=[
                route("one", rotate, account=["x"]),
                route("two", rotate, account=["y"]),
            ]
        )
    )
    firsts = [
        routed(routing.decide_mt(facts(account=account))).connectors[0]
        for account in ("x", "x", "y", "x", "y")
    ]
    assert firsts == ["a", "b", "a", "a", "b"]


def test_hot_reload_swaps_whole_tables_without_stopping_decisions() -> None:
    """A reader decides without pause while tables are swapped under it.

    Every answer comes whole from one table or the other, never a mix.
    """
    old = table(config(mt_routes=[route("old")]))
    new = table(config(mt_routes=[route("new", {"kind": "static", "connector": "b"})]))
    holder = {"table": old}
    answers: set[tuple[str, tuple[str, ...]]] = set()
    saw = {"old": threading.Event(), "new": threading.Event()}
    stop = threading.Event()

    def decide() -> None:
        while not stop.is_set():
            decision = holder["table"].decide_mt(facts())
            assert isinstance(decision, MtRouted)
            answers.add((decision.route_id, decision.connectors))
            saw[decision.route_id].set()

    reader = threading.Thread(target=decide)
    reader.start()
    assert saw["old"].wait(timeout=30)
    for turn in range(1000):
        holder["table"] = new if turn % 2 == 0 else old
    holder["table"] = new
    assert saw["new"].wait(timeout=30)
    stop.set()
    reader.join()
    assert answers == {("old", ("a",)), ("new", ("b",))}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"now": datetime(2025, 1, 1)}, "now must be an aware datetime"),
        ({"priority": "urgent"}, "priority must be one of"),
        ({"data_coding": 256}, "data_coding must be in 0..255"),
    ],
)
def test_message_facts_are_validated(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        facts(**fields)


def test_costs_and_prices_that_change_over_time_are_read_at_the_message_time() -> None:
    """Destinations whose rates all hold forever skip the clock; these must not."""
    data = config(
        mt_routes=[
            route("first", {"kind": "static", "connector": "a"}, destination_prefix=["336"]),
            route("uk", {"kind": "static", "connector": "c"}, destination_prefix=["44"]),
            route("cheapest", {"kind": "least_cost", "connectors": ["a", "b"]}),
        ]
    )
    change = "2025-06-02T12:00:00Z"
    data["tariffs"]["cost-a"]["rates"] = [
        {"prefix": "33", "price": 20_000, "valid_until": change},
        {"prefix": "33", "price": 26_000, "valid_from": change},
    ]
    data["tariffs"]["retail"]["rates"].append({"prefix": "44", "price": 9, "valid_from": change})
    routing = table(data)
    before, after = NOON.replace(hour=11), NOON
    first = [routing.decide_mt(facts(destination="33612345678", now=at)) for at in (before, after)]
    assert [routed(d).cost_per_part for d in first] == [20_000, 26_000]
    cheapest = [
        routing.decide_mt(facts(destination="33712345678", now=at)) for at in (before, after)
    ]
    assert [routed(d).connectors for d in cheapest] == [("a", "b"), ("b", "a")]
    uk = [routing.decide_mt(facts(destination="447700900123", now=at)) for at in (before, after)]
    assert [routed(d).sell_per_part for d in uk] == [50_000, 9]


def test_a_destination_in_no_prefix_meets_only_routes_without_prefix_filters() -> None:
    routing = table(
        config(
            mt_routes=[
                route("fr", destination_prefix=["33"]),
                route("not-fr", {"kind": "static", "connector": "b"}),
            ]
        )
    )
    routing_unless = table(
        config(mt_routes=[{**route("rest"), "unless": {"destination_prefix": ["33"]}}])
    )
    assert routed(routing.decide_mt(facts(destination="15551234567"))).route_id == "not-fr"
    assert routed(routing_unless.decide_mt(facts(destination="15551234567"))).route_id == "rest"
    assert routing_unless.decide_mt(facts(destination="33612345678")) is NO_ROUTE
