"""The route index remembers fact combinations, within a bound, without changing decisions."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import RoutingTable, index
from router.filters import VALUE_FIELDS
from tests.router.builders import config, facts, route, routed, table

TAGS = ("otp", "promo", "bulk", "bank")


def tagged_table() -> RoutingTable:
    return table(
        config(
            mt_routes=[
                route("promo-off", {"kind": "static", "connector": "b"}, tag=["promo"]),
                {**route("otp-banks", account_group=["banks"]), "unless": {"tag": ["bulk"]}},
                route("rest", {"kind": "static", "connector": "c"}),
            ]
        )
    )


def expected_route(groups: tuple[str, ...], tags: tuple[str, ...]) -> str:
    if "promo" in tags:
        return "promo-off"
    if "banks" in groups and "bulk" not in tags:
        return "otp-banks"
    return "rest"


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(
        st.tuples(
            st.lists(st.sampled_from(("banks", "shops")), max_size=2, unique=True),
            st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        ),
        min_size=1,
        max_size=30,
    ),
    limit=st.integers(min_value=1, max_value=4),
)
def test_decisions_do_not_depend_on_what_the_memo_holds(
    messages: list[tuple[list[str], list[str]]], limit: int
) -> None:
    routing = tagged_table()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "MEMO_LIMIT", limit)
        for groups, tags in messages:
            decision = routing.decide_mt(facts(groups=tuple(groups), tags=tuple(tags)))
            assert routed(decision).route_id == expected_route(tuple(groups), tuple(tags))
            assert len(routing._mt_index.by_facts) <= limit


def test_memo_starts_over_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "MEMO_LIMIT", 2)
    routing = tagged_table()
    for number in range(5):
        routing.decide_mt(facts(tags=(f"t{number}",)))
    assert len(routing._mt_index.by_facts) == 1


def test_the_fact_key_holds_every_set_like_field_of_the_facts() -> None:
    """A field left out would let the routes remembered for one message answer for another."""
    assert set(index.FACT_KEY_FIELDS) == {
        name for owner, name, _ in VALUE_FIELDS.values() if owner == "facts"
    }
    message = facts(account="bank", groups=("banks",), data_coding=8, priority="otp", tags=("x",))
    expected = tuple(getattr(message, name) for name in index.FACT_KEY_FIELDS)
    assert index.fact_key(message) == expected


def test_mt_decisions_spell_out_the_fact_key() -> None:
    routing = tagged_table()
    message = facts(account="bank", groups=("banks",), data_coding=8, priority="otp", tags=("x",))
    routing.decide_mt(message)
    assert list(routing._mt_index.by_facts) == [index.fact_key(message)]
