"""Backoff and retry policies, with a seeded random source."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.retry import Backoff, Jitter, RetryPolicy, ScheduledBackoff


def test_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 5.0, Jitter.NONE)
    assert [backoff.compute(n) for n in range(7)] == [0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_huge_failure_counts_stay_at_the_cap() -> None:
    backoff = Backoff(1.0, 60.0, Jitter.NONE)
    assert backoff.compute(10_000) == 60.0


def test_the_random_source_is_injected() -> None:
    first = Backoff(1.0, 60.0, Jitter.FULL, random.Random(7))
    second = Backoff(1.0, 60.0, Jitter.FULL, random.Random(7))
    draws = [first.compute(n) for n in range(1, 10)]
    assert draws == [second.compute(n) for n in range(1, 10)]
    assert len(set(draws)) == len(draws)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.001, max_value=10),
    st.floats(min_value=1, max_value=100),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=2**32),
)
def test_jitter_stays_inside_its_interval(
    base: float, spread: float, failures: int, seed: int
) -> None:
    cap = base * spread
    ceiling = Backoff(base, cap, Jitter.NONE).compute(failures)
    assert ceiling <= cap
    full = Backoff(base, cap, Jitter.FULL, random.Random(seed)).compute(failures)
    equal = Backoff(base, cap, Jitter.EQUAL, random.Random(seed)).compute(failures)
    assert 0 <= full <= ceiling
    assert ceiling / 2 <= equal <= ceiling


@pytest.mark.parametrize(("base", "cap"), [(0, 1), (-1, 1), (2, 1), (1, math.inf)])
def test_bad_settings_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Backoff(base, cap)


def test_negative_failures_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(1, 2).compute(-1)


def test_retry_policy_counts_attempts() -> None:
    policy = RetryPolicy(Backoff(0.1, 1.0, Jitter.NONE), max_attempts=3)
    assert [policy.next_delay(n) for n in range(1, 5)] == [0.1, 0.2, None, None]
    with pytest.raises(ValueError):
        policy.next_delay(0)
    with pytest.raises(ValueError):
        RetryPolicy(Backoff(0.1, 1.0), max_attempts=0)


@settings(max_examples=200, deadline=None)
@given(
    delays=st.lists(st.floats(0, 600), min_size=1, max_size=6),
    failures=st.integers(1, 20),
    seed=st.integers(0, 2**32),
)
def test_scheduled_backoff_follows_its_table_within_the_spread(
    delays: list[float], failures: int, seed: int
) -> None:
    base = delays[min(failures, len(delays)) - 1]
    assert ScheduledBackoff(delays).compute(failures) == base
    spread = ScheduledBackoff(delays, 0.2, random.Random(seed)).compute(failures)
    assert base * 0.8 <= spread <= base * 1.2
    assert ScheduledBackoff(delays).compute(0) == 0.0


def test_scheduled_backoff_refuses_an_empty_or_negative_table() -> None:
    for delays in ((), (1.0, -1.0), (math.inf,)):
        with pytest.raises(ValueError):
            ScheduledBackoff(delays)
    with pytest.raises(ValueError):
        ScheduledBackoff((1.0,), spread=1.0)
