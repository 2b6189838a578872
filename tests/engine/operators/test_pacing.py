"""AIMD pacing of a connector, against a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from engine.loop.throttle import TokenBucket
from engine.operators.pacing import AdaptivePacing
from smpp.constants import CommandStatus as S
from tests.clock import FakeClock

THROUGHPUT = 100.0
BURST = 10.0


def pacing(clock: FakeClock, **settings: float) -> AdaptivePacing:
    options = {"floor": 2.0, "decrease": 0.5, "interval": 1.0, "recovery": 10.0, **settings}
    bucket = TokenBucket(THROUGHPUT, BURST, clock)
    return AdaptivePacing(bucket, clock=clock, name="op1", **options)


def test_a_window_of_throttled_answers_halves_once_per_interval() -> None:
    clock = FakeClock()
    pace = pacing(clock)
    for _ in range(10):  # one window's answers, all at once
        pace.on_throttled(S.ESME_RTHROTTLED)
    assert pace.rate == 50.0
    clock.now = 0.999
    pace.on_throttled(S.ESME_RTHROTTLED)
    assert pace.rate == 50.0
    clock.now = 1.0
    pace.on_throttled(S.ESME_RTHROTTLED)
    assert pace.rate == 25.0
    assert (pace.throttled, pace.spells) == (12, 1)


def test_the_rate_never_drops_below_the_floor() -> None:
    clock = FakeClock()
    pace = pacing(clock)
    for second in range(60):  # a minute of throttling
        clock.now = float(second)
        pace.on_throttled(S.ESME_RMSGQFUL)
    assert pace.rate == 2.0


def test_ok_answers_climb_back_linearly_and_end_the_spell() -> None:
    clock = FakeClock()
    pace = pacing(clock, floor=1.0, recovery=9.9)  # 10 per second regained
    pace.on_throttled(S.ESME_RTHROTTLED)
    assert pace.rate == 50.0
    clock.now = 2.0
    pace.on_accepted()
    assert pace.rate == pytest.approx(70.0)
    clock.now = 2.5
    pace.on_throttled(S.ESME_RTHROTTLED)  # throttled time regains nothing
    assert pace.rate == pytest.approx(35.0)
    clock.now = 3.0
    pace.on_accepted()
    assert pace.rate == pytest.approx(40.0)
    clock.now = 100.0
    pace.on_accepted()
    assert pace.rate == THROUGHPUT
    assert pace.spells == 1


def test_the_burst_shrinks_with_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(THROUGHPUT, BURST, clock)
    pace = AdaptivePacing(bucket, floor=1, decrease=0.5, interval=1, recovery=10, clock=clock)
    pace.on_throttled(S.ESME_RTHROTTLED)
    clock.now = 1.0
    pace.on_throttled(S.ESME_RTHROTTLED)
    assert bucket.rate == 25.0
    clock.now = 100.0  # a long quiet spell saves up a quarter of the burst, no more
    assert bucket.tokens == pytest.approx(BURST / 4)


def test_each_spell_is_logged_once_when_it_starts_and_once_when_it_ends() -> None:
    clock = FakeClock()
    pace = pacing(clock, recovery=1.0)
    with capture_logs() as logs:
        for second in range(3):
            clock.now = float(second)
            for _ in range(5):
                pace.on_throttled(S.ESME_RTHROTTLED)
        clock.now = 10.0
        for _ in range(5):
            pace.on_accepted()
        pace.on_throttled(S.ESME_RMSGQFUL)
    assert [entry["event"] for entry in logs] == [
        "operator throttling: slowing down",
        "operator throttling over: full rate again",
        "operator throttling: slowing down",
    ]
    started, ended, again = logs
    assert (started["status"], started["connector"], started["rate"]) == (
        "ESME_RTHROTTLED (0x58)",
        "op1",
        50.0,
    )
    assert (ended["seconds"], ended["throttled_answers"], ended["lowest_rate"]) == (10.0, 15, 12.5)
    assert again["status"] == "ESME_RMSGQFUL (0x14)"
    assert (pace.spells, pace.throttled) == (2, 16)


@given(
    st.lists(st.tuples(st.floats(min_value=0, max_value=5), st.booleans()), min_size=1, max_size=80)
)
def test_the_rate_stays_between_floor_and_throughput(steps: list[tuple[float, bool]]) -> None:
    clock = FakeClock()
    pace = pacing(clock, interval=0.5, recovery=3.0)
    for advance, throttled in steps:
        clock.now += advance
        if throttled:
            pace.on_throttled(S.ESME_RTHROTTLED)
        else:
            pace.on_accepted()
        assert 2.0 <= pace.rate <= THROUGHPUT
    # Answers OK for long enough always bring the full rate back.
    clock.now += 3.0
    pace.on_accepted()
    assert pace.rate == THROUGHPUT


def test_a_floor_above_the_throughput_is_the_throughput() -> None:
    clock = FakeClock()
    pace = pacing(clock, floor=500.0)
    with capture_logs() as logs:
        pace.on_throttled(S.ESME_RTHROTTLED)
        pace.on_accepted()
    assert pace.rate == THROUGHPUT
    assert len(logs) == 2 and pace.spells == 1
