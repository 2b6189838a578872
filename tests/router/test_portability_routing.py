"""Issue 18, number portability: a ported number takes its current operator's route."""

import threading
from typing import Any

import pytest

from router import MtRouted, RoutingTable, explain_mt, ported_numbers
from tests.router.builders import config, delivered, facts, route, routed, table

ORANGE, SFR = "20801", "20810"
IN_ORANGE_RANGE = "33612345678"
"""Under 3361, Orange's range; ported to SFR below."""
STAYED = "33612345679"
"""Under 3361 too, never ported."""


def two_operators(**sections: Any) -> dict[str, Any]:
    """Orange and SFR each carry their own network's numbers (filter by network)."""
    return config(
        networks={"3361": ORANGE, "3362": SFR},
        mt_routes=[
            route("to-orange", {"kind": "static", "connector": "a"}, destination_network=[ORANGE]),
            route("to-sfr", {"kind": "static", "connector": "b"}, destination_network=[SFR]),
        ],
        **sections,
    )


@pytest.fixture
def ported_table() -> RoutingTable:
    return table(two_operators()).with_ported(ported_numbers([(IN_ORANGE_RANGE, SFR)]))


def test_a_ported_number_takes_the_other_operators_route(ported_table: RoutingTable) -> None:
    decision = routed(ported_table.decide_mt(facts(destination=IN_ORANGE_RANGE)))
    assert (decision.route_id, decision.connectors, decision.network) == ("to-sfr", ("b",), SFR)
    assert decision.country == "FR" and decision.sell_per_part == 50_000


def test_a_number_not_ported_goes_by_its_prefix(ported_table: RoutingTable) -> None:
    decision = routed(ported_table.decide_mt(facts(destination=STAYED)))
    assert (decision.route_id, decision.network) == ("to-orange", ORANGE)


def test_the_same_table_without_ported_numbers_routes_by_prefix(ported_table: RoutingTable) -> None:
    assert routed(ported_table.with_ported(None).decide_mt(facts())).route_id == "to-orange"
    assert routed(table(two_operators()).decide_mt(facts())).route_id == "to-orange"


def test_a_national_destination_is_looked_up_in_international_form() -> None:
    data = two_operators(
        countries={"FR": {"calling_code": "33", "trunk_prefix": "0", "national_lengths": [9]}},
        accounts={"bank": {"default_country": "FR"}},
    )
    ported = table(data).with_ported(ported_numbers([(IN_ORANGE_RANGE, SFR)]))
    decision = routed(ported.decide_mt(facts(destination="0612345678", account="bank")))
    assert (decision.route_id, decision.destination) == ("to-sfr", IN_ORANGE_RANGE)


def test_unless_filters_see_the_network_it_is_on_now() -> None:
    data = config(
        networks={"3361": ORANGE, "3362": SFR},
        mt_routes=[
            route("not-sfr", {"kind": "static", "connector": "a"}),
            route("anything", {"kind": "static", "connector": "b"}),
        ],
    )
    data["mt_routes"][0]["unless"] = {"destination_network": [SFR]}
    ported = table(data).with_ported(ported_numbers([(IN_ORANGE_RANGE, SFR)]))
    assert routed(ported.decide_mt(facts(destination=IN_ORANGE_RANGE))).route_id == "anything"
    assert routed(ported.decide_mt(facts(destination=STAYED))).route_id == "not-sfr"


def test_a_number_ported_to_a_network_no_route_names_takes_the_routes_free_of_networks() -> None:
    data = two_operators()
    data["mt_routes"].append(route("rest", {"kind": "static", "connector": "c"}))
    ported = table(data).with_ported(ported_numbers([(IN_ORANGE_RANGE, "20815")]))
    decision = routed(ported.decide_mt(facts(destination=IN_ORANGE_RANGE)))
    assert (decision.route_id, decision.network) == ("rest", "20815")


def test_mo_decisions_do_not_read_ported_numbers() -> None:
    data = config(
        networks={"3361": ORANGE},
        mo_routes=[
            {
                "id": "orange-numbers",
                "filters": {"destination_network": [ORANGE]},
                "target": {"kind": "static", "account": "bank"},
            }
        ],
    )
    ported = table(data).with_ported(ported_numbers([(IN_ORANGE_RANGE, SFR)]))
    mo = facts(destination=IN_ORANGE_RANGE, connector="a")
    assert delivered(ported.decide_mo(mo)).route_id == "orange-numbers"


def test_explain_says_the_number_is_ported_and_agrees_with_the_decision(
    ported_table: RoutingTable,
) -> None:
    explanation = explain_mt(ported_table, facts(destination=IN_ORANGE_RANGE))
    assert explanation.ported == "ported to '20810'; its prefix says '20801'"
    assert explanation.network == SFR
    assert [trace.reason for trace in explanation.routes] == [
        "filters.destination_network: destination_network is '20810', wanted one of ['20801']",
        "decides",
    ]
    decision = explanation.decision
    assert isinstance(decision, MtRouted) and decision.route_id == "to-sfr"
    assert explain_mt(ported_table, facts(destination=STAYED)).ported == ""


def test_explain_of_a_number_whose_prefix_names_no_network() -> None:
    ported = table(two_operators()).with_ported(ported_numbers([("4478000000", SFR)]))
    assert explain_mt(ported, facts(destination="4478000000")).ported == (
        "ported to '20810'; its prefix names none"
    )


def test_swapping_ported_numbers_while_decisions_run() -> None:
    """A reader decides without pause while ported tables are swapped under it.

    Each answer is whole from one table or the other: the route and the
    network always agree.
    """
    base = table(two_operators())
    to_sfr = base.with_ported(ported_numbers([(IN_ORANGE_RANGE, SFR)]))
    back = base.with_ported(ported_numbers([]))
    holder = {"table": back}
    answers: set[tuple[str, str]] = set()
    seen = {"to-orange": threading.Event(), "to-sfr": threading.Event()}
    stop = threading.Event()

    def decide() -> None:
        while not stop.is_set():
            decision = routed(holder["table"].decide_mt(facts(destination=IN_ORANGE_RANGE)))
            answers.add((decision.route_id, decision.network))
            seen[decision.route_id].set()

    reader = threading.Thread(target=decide)
    reader.start()
    try:
        assert seen["to-orange"].wait(timeout=30)
        for turn in range(1000):
            holder["table"] = to_sfr if turn % 2 == 0 else back
        holder["table"] = to_sfr
        assert seen["to-sfr"].wait(timeout=30)
    finally:
        stop.set()
        reader.join()
    assert answers == {("to-orange", ORANGE), ("to-sfr", SFR)}


def test_a_swapped_in_table_keeps_round_robin_turns() -> None:
    data = config(
        mt_routes=[route("rr", {"kind": "round_robin", "connectors": ["a", "b"]})],
    )
    first = table(data)
    assert routed(first.decide_mt(facts())).connectors[0] == "a"
    second = first.with_ported(ported_numbers([]))
    assert routed(second.decide_mt(facts())).connectors[0] == "b"
