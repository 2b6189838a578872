import math

from hypothesis import given, settings
from hypothesis import strategies as st

from router.tariffs import Rate, Tariff

JAN = 1_735_689_600.0
"""2025-01-01T00:00:00Z."""


def test_longest_prefix_sets_the_price() -> None:
    tariff = Tariff("t", [Rate("", 90), Rate("33", 45), Rate("336", 50)])
    assert tariff.price_at("33612345678", JAN) == 50
    assert tariff.price_at("33123456789", JAN) == 45
    assert tariff.price_at("15551234567", JAN) == 90


def test_unpriced_destination_has_no_price() -> None:
    tariff = Tariff("t", [Rate("33", 45)])
    assert tariff.price_at("44770090012", JAN) is None


def test_validity_window_is_inclusive_then_exclusive() -> None:
    tariff = Tariff("t", [Rate("33", 40, valid_until=JAN), Rate("33", 42, valid_from=JAN)])
    assert tariff.price_at("336", JAN - 1) == 40
    assert tariff.price_at("336", JAN) == 42


def test_expired_operator_rate_falls_back_to_country_rate() -> None:
    tariff = Tariff("t", [Rate("33", 45), Rate("3361", 30, valid_until=JAN)])
    assert tariff.price_at("33612345678", JAN - 1) == 30
    assert tariff.price_at("33612345678", JAN) == 45


def test_scheduled_rate_applies_only_from_its_start() -> None:
    tariff = Tariff("t", [Rate("3361", 30, valid_from=JAN)])
    assert tariff.price_at("33612345678", JAN - 1) is None
    assert tariff.price_at("33612345678", JAN + 1) == 30


rates = st.lists(
    st.builds(
        lambda prefix, price, start, length: Rate(prefix, price, start, start + length),
        st.text(alphabet="012", max_size=4),
        st.integers(min_value=0, max_value=10**9),
        st.sampled_from([-math.inf, 0.0, 10.0, 20.0]),
        st.sampled_from([5.0, 10.0, math.inf]),
    ),
    max_size=25,
)


def non_overlapping(candidates: list[Rate]) -> list[Rate]:
    kept: list[Rate] = []
    for rate in candidates:
        clashes = any(
            other.prefix == rate.prefix
            and rate.valid_from < other.valid_until
            and other.valid_from < rate.valid_until
            for other in kept
        )
        if not clashes:
            kept.append(rate)
    return kept


def brute_force_price(table: list[Rate], destination: str, now: float) -> int | None:
    valid = [
        rate
        for rate in table
        if destination.startswith(rate.prefix) and rate.valid_from <= now < rate.valid_until
    ]
    return max(valid, key=lambda rate: len(rate.prefix)).price if valid else None


@settings(max_examples=200, deadline=None)
@given(
    rates,
    st.lists(st.text(alphabet="012", max_size=6), max_size=10),
    st.sampled_from([-1.0, 0.0, 4.9, 5.0, 9.99, 10.0, 15.0, 20.0, 25.0, 1e9]),
)
def test_price_matches_brute_force(candidates: list[Rate], keys: list[str], now: float) -> None:
    table = non_overlapping(candidates)
    tariff = Tariff("t", table)
    for key in [*keys, *(rate.prefix for rate in table)]:
        assert tariff.price_at(key, now) == brute_force_price(table, key, now)
