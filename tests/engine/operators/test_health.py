"""A connector's health window and routing breaker, on a fake clock."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from structlog.testing import capture_logs

from engine.operators.connector_config import ConnectorConfig
from engine.operators.error_map import ErrorMap
from engine.operators.health import BUCKETS, ConnectorHealth
from smpp import pdu as p
from smpp.aio import ResponseTimeout, SessionClosed
from smpp.constants import CommandStatus as S
from tests.clock import FakeClock

WINDOW = 100.0
STEP = WINDOW / BUCKETS
PROBE = 30.0
MIN = 10


def health(clock: FakeClock, **settings: object) -> ConnectorHealth:
    options: dict[str, object] = {
        "id": "op1",
        "host": "127.0.0.1",
        "system_id": "smsgw",
        "health_window": WINDOW,
        "health_min_samples": MIN,
        "health_probe_interval": PROBE,
        "health_min_delivery_ratio": 0.5,
        "health_max_throttle_rate": 0.5,
        **settings,
    }
    config = msgspec.convert(options, ConnectorConfig)
    return ConnectorHealth(config, ErrorMap(temporary=["ESME_RSUBMITFAIL"]), clock)


def answers(target: ConnectorHealth, count: int, status: int = S.ESME_ROK) -> None:
    for _ in range(count):
        target.response(status, 0.02)


def test_the_report_adds_up_the_window() -> None:
    clock = FakeClock(1_000.0)
    target = health(clock)
    target.response(S.ESME_ROK, 0.01)
    target.response(S.ESME_ROK, 0.03)
    target.response(S.ESME_RTHROTTLED, 0.02)
    target.response(S.ESME_RMSGQFUL, 0.02)
    target.response(S.ESME_RSUBMITFAIL, 0.10)
    target.timed_out()
    target.receipt(delivered=True)
    target.receipt(delivered=False)
    report = target.report()
    assert (report.submits, report.errors, report.throttled, report.timeouts) == (6, 2, 2, 1)
    assert report.error_rate == pytest.approx(2 / 6)
    assert report.throttle_rate == pytest.approx(2 / 6)
    assert report.latency_mean == pytest.approx(0.18 / 5)
    assert report.latency_max == pytest.approx(0.10)
    assert (report.receipts, report.delivered, report.delivery_ratio) == (2, 1, 0.5)
    assert report.routing == "in" and report.window == WINDOW


def test_an_empty_window_has_no_rates() -> None:
    report = health(FakeClock(1_000.0)).report()
    assert report.submits == report.receipts == 0
    assert report.error_rate is report.delivery_ratio is report.latency_mean is None


def test_old_samples_slide_out_of_the_window() -> None:
    clock = FakeClock(1_000.0)
    target = health(clock)
    answers(target, 5, S.ESME_RSYSERR)
    clock.now += WINDOW / 2
    answers(target, 3)
    assert target.report().submits == 8
    clock.now += WINDOW / 2 + STEP
    report = target.report()
    assert (report.submits, report.errors) == (3, 0)
    clock.now += WINDOW
    assert target.report().submits == 0


async def test_answers_are_read_from_the_request_futures() -> None:
    target = health(FakeClock(1_000.0))
    loop = asyncio.get_running_loop()
    outcomes: list[asyncio.Future[p.Pdu]] = [loop.create_future() for _ in range(4)]
    outcomes[0].set_result(p.SubmitSmResp(command_status=S.ESME_RTHROTTLED))
    outcomes[1].set_exception(ResponseTimeout("late"))
    outcomes[2].set_exception(SessionClosed("dropped"))
    outcomes[3].cancel()
    for future in outcomes:
        target.answered(future, 0.5)
    report = target.report()
    assert (report.submits, report.throttled, report.timeouts) == (2, 1, 1)
    for future in outcomes[1:3]:
        future.exception()


@pytest.mark.parametrize(
    ("feed", "cause"),
    [
        (lambda h: answers(h, MIN, S.ESME_RSYSERR), "error_rate"),
        (lambda h: answers(h, MIN, S.ESME_RTHROTTLED), "throttle_rate"),
        (lambda h: [h.receipt(delivered=False) for _ in range(MIN)], "delivery_ratio"),
    ],
)
def test_a_failing_figure_takes_it_out_once_with_the_figures(feed, cause) -> None:
    clock = FakeClock(1_000.0)
    target = health(clock)
    with capture_logs() as logs:
        feed(target)
        assert not target.in_routing()
        assert not target.in_routing()
    assert target.report().routing == "out"
    assert [entry["event"] for entry in logs] == ["connector out of routing"]
    assert logs[0]["cause"] == cause and logs[0]["connector"] == "op1"
    assert {"submits", "error_rate", "delivery_ratio", "latency_mean"} <= logs[0].keys()


def test_too_few_samples_take_nothing_out() -> None:
    clock = FakeClock(1_000.0)
    target = health(clock)
    answers(target, MIN - 1, S.ESME_RSYSERR)
    for _ in range(MIN - 1):
        target.receipt(delivered=False)
    assert target.in_routing()


def test_figures_within_their_thresholds_keep_it_in() -> None:
    clock = FakeClock(1_000.0)
    target = health(clock)
    answers(target, MIN)
    answers(target, MIN, S.ESME_RSYSERR)  # exactly half: not above the maximum
    for delivered in (True, False) * MIN:
        target.receipt(delivered=delivered)
    assert target.in_routing()


def _taken_out(clock: FakeClock) -> ConnectorHealth:
    target = health(clock)
    answers(target, MIN, S.ESME_RSYSERR)
    assert not target.in_routing()
    return target


def test_it_stays_out_until_the_probe_interval_then_goes_on_trial() -> None:
    clock = FakeClock(1_000.0)
    target = _taken_out(clock)
    clock.now += PROBE - 1
    assert not target.in_routing()
    clock.now += 1
    assert target.in_routing()
    assert target.report().routing == "trial"


def test_a_trial_is_judged_on_its_own_samples_and_lets_it_back_in() -> None:
    clock = FakeClock(1_000.0)
    target = _taken_out(clock)
    clock.now += PROBE
    with capture_logs() as logs:
        assert target.in_routing()
        clock.now += STEP  # what is answered from the next bucket on counts
        answers(target, MIN - 1)
        assert target.in_routing() and target.routing == "trial"
        answers(target, 1)
        assert target.in_routing() and target.routing == "in"
        assert target.in_routing()
    assert [entry["event"] for entry in logs] == ["connector back in routing"]
    assert logs[0]["error_rate"] == 0.0 and logs[0]["submits"] == MIN
    assert target.report().errors == MIN, "the window still shows what took it out"


def test_a_failed_trial_takes_it_out_again_for_another_interval() -> None:
    clock = FakeClock(1_000.0)
    target = _taken_out(clock)
    clock.now += PROBE
    assert target.in_routing()
    clock.now += STEP
    with capture_logs() as logs:
        answers(target, MIN, S.ESME_RSYSERR)
        assert not target.in_routing()
    assert [entry["event"] for entry in logs] == ["connector trial failed"]
    clock.now += PROBE - 1
    assert not target.in_routing()
    clock.now += 1
    assert target.in_routing()


def test_back_in_it_is_not_judged_on_what_took_it_out() -> None:
    clock = FakeClock(1_000.0)
    target = _taken_out(clock)
    clock.now += PROBE
    target.in_routing()
    clock.now += STEP
    answers(target, MIN)
    assert target.in_routing() and target.routing == "in"
    answers(target, 1, S.ESME_RSYSERR)
    assert target.in_routing(), "1 error in 11 since the trial, not 11 in 21"


def test_defaults_take_out_on_errors_only() -> None:
    config = ConnectorConfig(id="op1", host="h", system_id="s")
    assert (config.health_max_throttle_rate, config.health_min_delivery_ratio) == (1.0, 0.0)
    target = ConnectorHealth(config, ErrorMap(), FakeClock(1_000.0))
    answers(target, 100, S.ESME_RTHROTTLED)
    for _ in range(100):
        target.receipt(delivered=False)
    assert target.in_routing()
    answers(target, 201, S.ESME_RSYSERR)
    assert not target.in_routing()
