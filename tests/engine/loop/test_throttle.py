"""The token bucket, counted against a fake clock."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.loop.throttle import TokenBucket
from tests.clock import FakeClock


def test_starts_full_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    assert bucket.delay() == pytest.approx(0.1)
    clock.now = 0.25
    assert bucket.tokens == pytest.approx(2.5)
    assert bucket.try_take(2) and not bucket.try_take(1)
    assert bucket.delay(1) == pytest.approx(0.05)


def test_never_holds_more_than_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, burst=5, clock=clock)
    clock.now = 3600.0
    assert bucket.tokens == 5
    assert bucket.delay(5) == 0.0


def test_a_refused_take_takes_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=4, clock=clock)
    assert bucket.try_take(3)
    assert not bucket.try_take(2)
    assert bucket.try_take(1)


def test_float_steps_do_not_starve_a_taker() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=1, clock=clock)
    assert bucket.try_take()
    for _ in range(3):
        clock.now += 0.1 / 3  # 0.1 s in steps that do not add up exactly
    assert bucket.delay() == 0.0 and bucket.try_take()


def test_a_clock_stepping_back_mints_nothing() -> None:
    clock = FakeClock()
    clock.now = 10.0
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.try_take()
    clock.now = 5.0
    assert not bucket.try_take()
    clock.now = 5.5
    assert bucket.delay() == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (-1, 1), (math.inf, 1), (1, 0.5), (1, math.nan)]
)
def test_bad_settings_are_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


@pytest.mark.parametrize("n", [0, -1, 6])
def test_impossible_takes_are_refused(n: float) -> None:
    bucket = TokenBucket(rate=1, burst=5)
    with pytest.raises(ValueError):
        bucket.try_take(n)
    with pytest.raises(ValueError):
        bucket.delay(n)


steps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=2, allow_nan=False),
        st.integers(min_value=1, max_value=4),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.5, max_value=1000),
    st.integers(min_value=4, max_value=50),
    steps,
)
def test_never_gives_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, steps: list[tuple[float, int]]
) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock)
    taken = 0
    for advance, n in steps:
        clock.now += advance
        if bucket.try_take(n):
            taken += n
        assert taken <= burst + rate * clock.now + 1e-6


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.5, max_value=1000),
    st.integers(min_value=1, max_value=50),
    st.floats(min_value=0, max_value=1),
)
def test_delay_is_exactly_when_the_tokens_arrive(rate: float, burst: int, used: float) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock)
    assert bucket.try_take(burst)
    want = max(1, round(burst * used))
    wait = bucket.delay(want)
    assert wait == pytest.approx(want / rate)
    clock.now += wait * 0.99
    assert not bucket.try_take(want)
    clock.now = wait
    assert bucket.try_take(want)


def test_a_new_rate_counts_from_now_and_caps_what_is_saved() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=10, clock=clock)
    assert bucket.try_take(10)
    clock.now = 0.5  # 5 tokens earned at the old rate
    bucket.set_rate(2, 4)
    assert bucket.tokens == pytest.approx(4)
    assert bucket.try_take(4)
    assert bucket.delay() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        bucket.set_rate(0, 4)
    with pytest.raises(ValueError):
        bucket.set_rate(2, 0.5)
