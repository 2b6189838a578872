"""Admission at the commit point: a flooding account is shed, another account's
OTP is not (issue 16, fairness under saturation).

Saturation is forced without timing: the ledger behind the pipeline is held
(a commit point that does not answer yet), and the limit's arithmetic runs on
a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest

from engine.config import GatewayLimits
from engine.customers.admission import PENDING, Admission, AdmissionLimits
from engine.gateway import Gateway
from ledger.model import AcceptRequest, AcceptResult
from smpp.constants import CommandStatus as S
from tests.clock import FakeClock
from tests.engine.gateway_harness import OTP, Customer, account, running_gateway, simulator

FLOOD = "shop"
OTP_ACCOUNT = "bank"
CREDIT = 10**12


class HeldLedger:
    """The gateway's ledger with its accept calls held until `open`: the
    commit point of a saturated backend, which answers late."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self._open = asyncio.Event()

    def open(self) -> None:
        self._open.set()

    async def accept_many(
        self, requests: Sequence[AcceptRequest], *, urgent: bool = False
    ) -> list[AcceptResult]:
        await self._open.wait()
        result: list[AcceptResult] = await self._ledger.accept_many(requests)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


@asynccontextmanager
async def saturated(limits: AdmissionLimits) -> AsyncIterator[tuple[Gateway, HeldLedger]]:
    accounts = (account(OTP_ACCOUNT), account(FLOOD))
    gateway_limits = GatewayLimits(admission=limits)
    async with running_gateway(
        "memory", [simulator()], accounts=accounts, credit=CREDIT, limits=gateway_limits
    ) as gateway:
        shared(gateway.pipeline.admission)
        held = HeldLedger(gateway.pipeline.ledger)
        gateway.pipeline.ledger = held  # type: ignore[assignment]
        gateway.pipeline.commits.ledger = held  # type: ignore[assignment]
        yield gateway, held


async def until(condition: Callable[[], bool]) -> None:
    """Until ``condition`` holds: the gateway reads our PDUs on the same loop."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.001)


def shed_count(gateway: Gateway, account_id: str) -> float | None:
    return gateway.registry.get_sample_value(
        "smsgw_admission_shed_total", {"account": account_id, "reason": PENDING}
    )


# -- the limit ----------------------------------------------------------------


def shared(admission: Admission) -> None:
    """Another account submitted a moment ago: the commit point is shared."""
    assert admission.enter("other")
    admission.leave(["other"], latency=0.0)


async def test_an_account_alone_is_never_shed_and_is_once_another_submits() -> None:
    clock = FakeClock(100.0)
    admission = Admission(AdmissionLimits(pending_per_account=3, pending_floor=1), clock=clock)
    assert all(admission.enter(FLOOD) for _ in range(10))  # alone: it waits only for itself
    assert admission.enter(OTP_ACCOUNT)
    assert not admission.enter(FLOOD)  # now it would make the OTP account wait
    clock.advance(0.5)
    assert not admission.admits(FLOOD)
    clock.advance(0.6)  # the other account quiet for longer than contention_window
    assert admission.admits(FLOOD)


async def test_an_account_is_shed_past_its_limit_and_another_is_not() -> None:
    admission = Admission(AdmissionLimits(pending_per_account=3, pending_floor=1))
    shared(admission)
    assert [admission.enter(FLOOD) for _ in range(4)] == [True, True, True, False]
    assert admission.enter(OTP_ACCOUNT)
    assert not admission.admits(FLOOD)
    admission.leave([FLOOD], latency=0.001)
    assert admission.admits(FLOOD) and admission.pending(FLOOD) == 2
    assert admission.pending(OTP_ACCOUNT) == 1


async def test_late_answers_shrink_the_limit_and_timely_ones_grow_it_back() -> None:
    clock = FakeClock(100.0)
    limits = AdmissionLimits(pending_per_account=100, pending_floor=10, target_delay=0.02)
    admission = Admission(limits, clock=clock)
    clock.advance(1.0)
    admission.leave([], latency=0.04)  # twice the target: halved
    assert admission.limit == 50
    admission.leave([], latency=0.04)  # within one latency of the last cut: kept
    assert admission.limit == 50
    clock.advance(0.04)
    admission.leave([], latency=0.025)
    assert admission.limit == 40  # cut in proportion: 0.02 / 0.025
    for _ in range(10):
        clock.advance(1.0)
        admission.leave([], latency=1.0)
    assert admission.limit == 10  # never below the floor
    for _ in range(200):
        admission.leave([], latency=0.001)
    assert admission.limit == 100  # one more per timely batch, up to the ceiling


async def test_an_account_within_the_floor_is_never_shed() -> None:
    clock = FakeClock(0.0)
    limits = AdmissionLimits(pending_per_account=50, pending_floor=5)
    admission = Admission(limits, clock=clock)
    clock.advance(10.0)
    admission.leave([], latency=5.0)
    admission.limit = 1.0  # as low as a collapsed backend would drive it, below the floor
    shared(admission)
    assert all(admission.enter(OTP_ACCOUNT) for _ in range(5))
    assert not admission.enter(OTP_ACCOUNT)


@pytest.mark.parametrize(
    "settings",
    [
        {"pending_per_account": 0},
        {"pending_floor": 0},
        {"pending_per_account": 5, "pending_floor": 6},
        {"target_delay": 0},
        {"pause": -1},
    ],
)
def test_limits_out_of_range_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AdmissionLimits(**settings)  # type: ignore[arg-type]


def test_the_limits_load_from_config() -> None:
    limits = msgspec.convert(
        {"admission": {"pending_per_account": 80, "target_delay": 0.01}}, GatewayLimits
    )
    assert limits.admission == AdmissionLimits(pending_per_account=80, target_delay=0.01)


# -- over SMPP ----------------------------------------------------------------


async def test_a_flooding_account_gets_throttled_and_the_otp_account_does_not() -> None:
    limits = AdmissionLimits(pending_per_account=4, pending_floor=4, pause=0, contention_window=60)
    async with saturated(limits) as (gateway, held):
        flood = await Customer().bind(gateway, FLOOD)
        bank = await Customer().bind(gateway, OTP_ACCOUNT)
        flooding = [flood.request(OTP) for _ in range(7)]
        refused = await asyncio.gather(*flooding[4:])
        assert [r.command_status for r in refused] == [S.ESME_RTHROTTLED] * 3
        assert not any(f.done() for f in flooding[:4])  # still at the commit point

        otp = bank.request(msgspec.structs.replace(OTP, priority_flag=3))
        await until(lambda: gateway.pipeline.admission.pending(OTP_ACCOUNT) == 1)
        assert not otp.done()  # admitted: it waits at the commit point like the others
        held.open()
        assert (await otp).command_status == S.ESME_ROK
        assert [(await f).command_status for f in flooding[:4]] == [S.ESME_ROK] * 4
        assert shed_count(gateway, FLOOD) == 3
        assert shed_count(gateway, OTP_ACCOUNT) is None
        await asyncio.gather(flood.unbind(), bank.unbind())


async def test_a_shed_session_is_paused_and_what_it_sent_meanwhile_waits() -> None:
    """One refusal per pause, not one per PDU: the submits after the shed one
    wait (unread or held in order) and are admitted once there is room."""
    limits = AdmissionLimits(
        pending_per_account=4, pending_floor=4, pause=0.3, contention_window=60
    )
    async with saturated(limits) as (gateway, held):
        flood = await Customer().bind(gateway, FLOOD)
        flooding = [flood.request(OTP) for _ in range(8)]
        shed = await asyncio.wait_for(asyncio.shield(flooding[4]), 5)
        assert shed.command_status == S.ESME_RTHROTTLED
        assert not any(f.done() for f in flooding[5:])
        held.open()
        statuses = [(await f).command_status for f in flooding]
        assert statuses == [S.ESME_ROK] * 4 + [S.ESME_RTHROTTLED] + [S.ESME_ROK] * 3
        assert shed_count(gateway, FLOOD) == 1
        await flood.unbind()


async def test_while_there_is_no_room_each_pause_refuses_the_oldest_held_submit() -> None:
    limits = AdmissionLimits(
        pending_per_account=1, pending_floor=1, pause=0.02, contention_window=60
    )
    async with saturated(limits) as (gateway, held):
        flood = await Customer().bind(gateway, FLOOD)
        flooding = [flood.request(OTP) for _ in range(4)]
        refused = await asyncio.gather(*flooding[1:])  # one per pause, oldest first
        assert [r.command_status for r in refused] == [S.ESME_RTHROTTLED] * 3
        assert shed_count(gateway, FLOOD) == 3
        held.open()
        assert (await flooding[0]).command_status == S.ESME_ROK
        await flood.unbind()


async def test_a_session_closed_while_paused_is_forgotten() -> None:
    limits = AdmissionLimits(
        pending_per_account=1, pending_floor=1, pause=0.05, contention_window=60
    )
    async with saturated(limits) as (gateway, held):
        flood = await Customer().bind(gateway, FLOOD)
        flooding = [flood.request(OTP) for _ in range(3)]
        assert (await flooding[1]).command_status == S.ESME_RTHROTTLED
        flood.close()
        await flood.wait_closed()
        held.open()
        # Unread while paused, the close is seen once the pause ends; then forgotten.
        await until(lambda: not gateway.sessions._paused)
        await asyncio.gather(*flooding, return_exceptions=True)
        bank = await Customer().bind(gateway, FLOOD)
        assert (await bank.request(OTP)).command_status == S.ESME_ROK
        await bank.unbind()
