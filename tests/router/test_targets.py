import random
from collections import Counter
from collections.abc import Callable

import pytest

from router import targets
from router.destinations import DestinationInfo
from router.targets import (
    FailoverTarget,
    LeastCostTarget,
    RoundRobinTarget,
    StaticTarget,
    UsabilityTarget,
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


def info_for(destination: str) -> DestinationInfo:
    """Cost schedules per connector, in a destination info as the table hands it over."""
    tariffs = {
        "a": Tariff("cost-a", [Rate("33", 30), Rate("3361", 10)]),
        "b": Tariff("cost-b", [Rate("33", 20)]),
        "c": Tariff("cost-c", [Rate("44", 5), Rate("33", 20, valid_from=NOW + 60)]),
    }
    found = {}
    for connector, tariff in tariffs.items():
        schedules = dict(tariff.schedules())
        matching = [prefix for prefix in schedules if destination.startswith(prefix)]
        if matching:
            found[connector] = schedules[max(matching, key=len)]
    fixed = all(isinstance(schedule, int) for schedule in found.values())
    return DestinationInfo("", "", 0, 0, found, {}, fixed)


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
    assert target.choose_priced(usable, info_for(destination), NOW) == (expected, cost)


def test_least_cost_sees_rates_that_become_valid_and_breaks_ties_by_order() -> None:
    target = LeastCostTarget(["a", "b", "c"])
    assert target.choose_priced(None, info_for("33712345678"), NOW + 60) == (("b", "c", "a"), 20)
    assert LeastCostTarget(["c", "b"]).choose_priced(None, info_for("337"), NOW + 60) == (
        ("c", "b"),
        20,
    )


def test_a_draw_that_rounds_up_to_the_total_picks_the_last_endpoint() -> None:
    class Top(random.Random):
        def random(self) -> float:
            return 1.0

    target = WeightedTarget({"a": 1, "b": 2, "c": 1}, Top())
    assert target.choose(None) == ("c", "a", "b")
    assert target.choose(frozenset({"a", "b"})) == ("b", "a")


@pytest.mark.parametrize(
    "make",
    [
        lambda: FailoverTarget(("a", "b", "c")),
        lambda: RoundRobinTarget(["a", "b", "c"]),
        lambda: WeightedTarget({"a": 1, "b": 2, "c": 3}, random.Random(5)),
        lambda: StaticTarget("b"),
    ],
)
def test_frozensets_choose_as_sets_do_while_the_memo_starts_over(
    make: Callable[[], UsabilityTarget], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo per frozenset changes no answer, whatever it holds, and stays bounded."""
    monkeypatch.setattr(targets, "USABLE_MEMO_LIMIT", 2)
    remembered, plain = make(), make()
    live_sets = [{"a", "b"}, {"c"}, set(), {"a", "b", "c"}, {"b", "c"}, {"a", "b"}]
    for live in live_sets * 3:
        assert remembered.choose(frozenset(live)) == plain.choose(set(live))


def test_least_cost_remembers_orders_only_where_costs_are_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(targets, "LEAST_COST_MEMO_LIMIT", 2)
    target = LeastCostTarget(["a", "b", "c"])
    fixed = info_for("447700900123")
    changing = info_for("33712345678")
    assert fixed.fixed_prices and not changing.fixed_prices
    for usable in (None, frozenset({"a", "b"}), frozenset({"c"}), None):
        expected = ((), None) if usable is not None and "c" not in usable else (("c",), 5)
        assert target.choose_priced(usable, fixed, NOW) == expected
    assert target.choose_priced(None, changing, NOW) == (("b", "a"), 20)
    assert target.choose_priced(None, changing, NOW + 60) == (("b", "c", "a"), 20)
    assert len(target._memo) <= 2
