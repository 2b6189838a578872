import random
from collections import Counter

import pytest

from router.targets import (
    FailoverTarget,
    LeastCostTarget,
    RoundRobinTarget,
    StaticTarget,
    WeightedTarget,
)
from router.tariffs import Rate, Tariff

NOW = 1_750_000_000.0


def test_static_yields_its_connector_only_when_usable() -> None:
    target = StaticTarget("a")
    assert target.choose(None) == ("a",)
    assert target.choose({"a", "b"}) == ("a",)
    assert target.choose({"b"}) == ()


def test_failover_keeps_order_and_skips_unhealthy() -> None:
    target = FailoverTarget(("a", "b", "c"))
    assert target.choose(None) == ("a", "b", "c")
    assert target.choose({"c", "b"}) == ("b", "c")
    assert target.choose({"c"}) == ("c",)
    assert target.choose(set()) == ()


def test_round_robin_starts_one_further_each_message() -> None:
    target = RoundRobinTarget(["a", "b", "c"])
    firsts = [target.choose(None) for _ in range(4)]
    assert firsts == [("a", "b", "c"), ("b", "c", "a"), ("c", "a", "b"), ("a", "b", "c")]


def test_round_robin_turns_among_usable_endpoints_only() -> None:
    target = RoundRobinTarget(["a", "b", "c"])
    assert [target.choose({"a", "c"}) for _ in range(4)] == [
        ("a", "c"),
        ("c", "a"),
        ("a", "c"),
        ("c", "a"),
    ]
    assert target.choose(set()) == ()


def test_weighted_draw_follows_weights_and_is_reproducible() -> None:
    target = WeightedTarget({"a": 3, "b": 1}, random.Random(42))
    again = WeightedTarget({"a": 3, "b": 1}, random.Random(42))
    sequence = [target.choose(None) for _ in range(4000)]
    assert sequence == [again.choose(None) for _ in range(4000)]
    firsts = Counter(order[0] for order in sequence)
    assert 2800 < firsts["a"] < 3200
    assert set(sequence) == {("a", "b"), ("b", "a")}


def test_weighted_draws_only_among_usable() -> None:
    target = WeightedTarget({"a": 1000, "b": 1, "c": 1}, random.Random(1))
    orders = {target.choose({"b", "c"}) for _ in range(200)}
    assert orders == {("b", "c"), ("c", "b")}
    assert target.choose(set()) == ()


def test_weighted_draw_at_the_top_of_the_range_stays_in_bounds() -> None:
    class Top(random.Random):
        def random(self) -> float:
            return 1.0 - 2**-53

    assert WeightedTarget({"a": 1, "b": 1}, Top()).choose(None) == ("b", "a")


def costs_for(destination: str) -> dict[str, tuple[tuple[float, float, int], ...]]:
    """Cost windows per connector, as the destination lookup hands them over."""
    tariffs = {
        "a": Tariff("cost-a", [Rate("33", 30), Rate("3361", 10)]),
        "b": Tariff("cost-b", [Rate("33", 20)]),
        "c": Tariff("cost-c", [Rate("44", 5), Rate("33", 20, valid_from=NOW + 60)]),
    }
    found = {}
    for connector, tariff in tariffs.items():
        windows = dict(tariff.chains())
        matching = [prefix for prefix in windows if destination.startswith(prefix)]
        if matching:
            found[connector] = windows[max(matching, key=len)]
    return found


@pytest.mark.parametrize(
    ("destination", "usable", "expected", "cost"),
    [
        ("33612345678", None, ("a", "b"), 10),
        ("33712345678", None, ("b", "a"), 20),
        ("33612345678", {"b", "c"}, ("b",), 20),
        ("447700900123", None, ("c",), 5),
        ("15551234567", None, (), None),
        ("33612345678", {"c"}, (), None),
    ],
)
def test_least_cost_orders_carriers_by_cost(
    destination: str, usable: set[str] | None, expected: tuple[str, ...], cost: int | None
) -> None:
    target = LeastCostTarget(["a", "b", "c"])
    assert target.choose_priced(usable, costs_for(destination), NOW) == (expected, cost)


def test_least_cost_sees_rates_that_become_valid_and_breaks_ties_by_order() -> None:
    target = LeastCostTarget(["a", "b", "c"])
    assert target.choose_priced(None, costs_for("33712345678"), NOW + 60) == (("b", "c", "a"), 20)
    assert LeastCostTarget(["c", "b"]).choose_priced(None, costs_for("337"), NOW + 60) == (
        ("c", "b"),
        20,
    )
