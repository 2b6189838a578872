"""The operator connector against a real SMSC on loopback sockets."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import ReceiptSettings, SimulatorConfig
from engine.messages.message import MtMessage
from engine.operators.bind import BindState
from engine.operators.connector import Connector
from engine.operators.connector_config import ConnectorConfig
from engine.operators.scheduler import Scheduler
from engine.operators.submission import build_submits
from smpp import gsm
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.smpptime import SmppTimeError, format_absolute
from smpp.tlv import Tag
from tests.clock import FakeClock
from tests.engine.peers import until
from tests.engine.smsc_fixture import HOLD, PASSWORD, WAIT_LIMIT, Signal, Smsc

FAST = {
    "reconnect_delay": 0.01,
    "reconnect_delay_max": 0.05,
    "retry_delay": 0.01,
    "retry_delay_max": 0.02,
    "throughput": 10_000.0,
}
_ids = itertools.count(1)


class Listener:
    """Records every outcome the connector reports."""

    def __init__(self, deliver_status: int = S.ESME_ROK) -> None:
        self.signal = Signal()
        self.submitted: list[tuple[MtMessage, tuple[str, ...]]] = []
        self.failed: list[tuple[MtMessage, int | None, bool]] = []
        self.expired: list[MtMessage] = []
        self.delivered: list[p.DeliverSm | p.DataSm] = []
        self.deliver_status = deliver_status

    def on_submitted(self, connector_id: str, message: MtMessage, ids: tuple[str, ...]) -> None:
        assert connector_id == "op1"
        self.submitted.append((message, ids))
        self.signal.changed()

    def on_failed(
        self, connector_id: str, message: MtMessage, status: int | None, permanent: bool
    ) -> None:
        self.failed.append((message, status, permanent))
        self.signal.changed()

    def on_expired(self, connector_id: str, message: MtMessage) -> None:
        self.expired.append(message)
        self.signal.changed()

    def on_deliver(
        self, connector_id: str, pdu: p.DeliverSm | p.DataSm, answer: Callable[[int], None]
    ) -> None:
        self.delivered.append(pdu)
        if self.deliver_status < 0:
            raise RuntimeError("the pipeline is down")
        answer(self.deliver_status)

    def settled(self) -> int:
        return len(self.submitted) + len(self.failed) + len(self.expired)


def message(text: str = "hello", **fields: object) -> MtMessage:
    number = next(_ids)
    defaults: dict[str, object] = {
        "id": f"m{number}",
        "account": "acme",
        "source_addr": "BANK",
        "destination_addr": f"4479{number:08d}",
        "user_data": gsm.encode(text),
    }
    defaults.update(fields)
    return MtMessage(**defaults)  # type: ignore[arg-type]


Factory = Callable[..., Connector]


@pytest.fixture
async def make_connector(smsc: Smsc) -> AsyncIterator[Factory]:
    """Builds started connectors to ``smsc``; stops them after the test."""
    started: list[Connector] = []

    def make(listener: Listener, **settings: object) -> Connector:
        options: dict[str, object] = {
            "id": "op1",
            "host": "127.0.0.1",
            "port": smsc.port,
            "system_id": "smsgw",
            "password": PASSWORD,
            **FAST,
        }
        options.update(settings)
        extras = {
            key: options.pop(key) for key in ("clock", "wall_clock", "scheduler") if key in options
        }
        config = msgspec.convert(options, ConnectorConfig)
        connector = Connector(config, listener, **extras)  # type: ignore[arg-type]
        connector.start()
        started.append(connector)
        return connector

    yield make
    for connector in started:
        await connector.stop(drain_timeout=0.5)


async def test_submits_and_reports_the_operator_ids(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, binds=2)
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 2)
    messages = [message() for _ in range(20)]
    for each in messages:
        connector.scheduler.push(each)
    await listener.signal.wait_until(lambda: len(listener.submitted) == 20)
    assert sorted(m.id for m, _ in listener.submitted) == sorted(m.id for m in messages)
    assert sorted(ids[0] for _, ids in listener.submitted) == sorted(smsc.issued)
    assert {connection for connection, _ in smsc.submits} == set(smsc.bound)
    state = connector.state()
    assert (state.submitted, state.failed, state.in_flight, state.queue_depth) == (20, 0, 0, 0)
    assert state.binds == (BindState.BOUND, BindState.BOUND)


async def test_drains_the_scheduler_it_is_given(smsc: Smsc, make_connector: Factory) -> None:
    scheduler = Scheduler(max_depth=7)
    listener = Listener()
    connector = make_connector(listener, scheduler=scheduler)
    assert connector.scheduler is scheduler
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
    scheduler.push(message())
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)


async def test_window_is_never_exceeded(smsc: Smsc, make_connector: Factory) -> None:
    smsc.answer = lambda submit: HOLD
    listener = Listener()
    connector = make_connector(listener, binds=2, window=3)
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 2)
    for _ in range(20):
        connector.scheduler.push(message())
    await smsc.signal.wait_until(lambda: len(smsc.held) == 6)
    assert smsc.max_unanswered == 3
    assert connector.state().in_flight == 6
    smsc.answer = lambda submit: S.ESME_ROK
    smsc.release()
    await listener.signal.wait_until(lambda: len(listener.submitted) == 20)
    assert smsc.max_unanswered == 3


async def test_throughput_follows_the_token_bucket(smsc: Smsc, make_connector: Factory) -> None:
    clock = FakeClock()
    rate, burst = 8.0, 2.0
    excess: list[float] = []
    smsc.on_submit = lambda submit: excess.append(len(smsc.submits) + 1 - burst - rate * clock())
    listener = Listener()
    connector = make_connector(listener, throughput=rate, burst=burst, clock=clock)
    for _ in range(10):
        connector.scheduler.push(message())
    for expected in (2, 4, 6, 8, 10):
        await smsc.signal.wait_until(lambda expected=expected: len(smsc.submits) == expected)
        clock.now += 0.25  # two more tokens
    await listener.signal.wait_until(lambda: len(listener.submitted) == 10)
    assert max(excess) <= 0


async def test_temporary_error_is_retried_then_reported(
    smsc: Smsc, make_connector: Factory
) -> None:
    smsc.answer = lambda submit: S.ESME_RSYSERR
    listener = Listener()
    connector = make_connector(listener, max_submit_attempts=3)
    sent = message()
    connector.scheduler.push(sent)
    await listener.signal.wait_until(lambda: len(listener.failed) == 1)
    assert listener.failed == [(sent, S.ESME_RSYSERR, False)]
    assert len(smsc.submits) == 3
    assert connector.state().retried == 2


async def test_temporary_error_then_success(smsc: Smsc, make_connector: Factory) -> None:
    answers = iter([S.ESME_RX_T_APPN, S.ESME_ROK])
    smsc.answer = lambda submit: next(answers)
    listener = Listener()
    connector = make_connector(listener)
    connector.scheduler.push(message())
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    assert len(smsc.submits) == 2 and listener.failed == []
    assert connector.state().retried == 1


async def test_permanent_error_is_reported_at_once(smsc: Smsc, make_connector: Factory) -> None:
    smsc.answer = lambda submit: S.ESME_RINVDSTADR
    listener = Listener()
    connector = make_connector(listener, max_submit_attempts=5)
    sent = message()
    connector.scheduler.push(sent)
    await listener.signal.wait_until(lambda: len(listener.failed) == 1)
    assert listener.failed == [(sent, S.ESME_RINVDSTADR, True)]
    assert len(smsc.submits) == 1


async def test_no_response_is_a_temporary_error(smsc: Smsc, make_connector: Factory) -> None:
    smsc.answer = lambda submit: HOLD
    listener = Listener()
    connector = make_connector(listener, max_submit_attempts=1, response_timeout=0.2)
    sent = message()
    connector.scheduler.push(sent)
    await listener.signal.wait_until(lambda: len(listener.failed) == 1)
    assert listener.failed == [(sent, None, False)]


async def test_a_temporary_error_is_not_retried_past_the_validity(
    smsc: Smsc, make_connector: Factory
) -> None:
    smsc.answer = lambda submit: S.ESME_RSYSERR
    wall = FakeClock(1_700_000_000.0)
    listener = Listener()
    connector = make_connector(
        listener,
        max_submit_attempts=5,
        retry_delay=30.0,  # at least 15 s with jitter: past the 10 s left
        retry_delay_max=30.0,
        wall_clock=wall,
    )
    sent = message(expires_at=wall.now + 10)
    connector.scheduler.push(sent)
    await listener.signal.wait_until(lambda: len(listener.failed) == 1)
    assert listener.failed == [(sent, S.ESME_RSYSERR, False)]  # over to the next route now
    assert len(smsc.submits) == 1 and connector.state().retried == 0


async def test_throttling_spends_no_attempt_and_slows_the_connector(
    smsc: Smsc, make_connector: Factory
) -> None:
    answers = iter([S.ESME_RTHROTTLED, S.ESME_RMSGQFUL, S.ESME_RTHROTTLED, S.ESME_ROK])
    smsc.answer = lambda submit: next(answers)
    listener = Listener()
    clock = FakeClock()  # frozen: the pace regains nothing, so it can be read exactly
    connector = make_connector(listener, max_submit_attempts=1, throttle_interval=0.0, clock=clock)
    connector.scheduler.push(message())
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    state = connector.state()
    assert (state.failed, state.retried, state.waiting_retry) == (0, 0, 0)
    assert (state.throttled, state.throttle_spells) == (3, 1)
    assert state.rate == FAST["throughput"] / 8


async def test_throttled_messages_go_back_in_their_order(
    smsc: Smsc, make_connector: Factory
) -> None:
    throttled: set[str] = set()

    def answer(submit: p.SubmitSm) -> int:
        if submit.destination_addr in throttled:
            return S.ESME_ROK
        throttled.add(submit.destination_addr)
        return S.ESME_RTHROTTLED

    smsc.answer = answer
    listener = Listener()
    connector = make_connector(listener, window=5)
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
    messages = [message() for _ in range(5)]
    for each in messages:
        connector.scheduler.push(each)
    await listener.signal.wait_until(lambda: len(listener.submitted) == 5)
    order = [submit.destination_addr for _, submit in smsc.submits]
    destinations = [m.destination_addr for m in messages]
    assert order == destinations + destinations


@pytest.mark.parametrize(
    ("status", "lists", "submits", "failed"),
    [
        (S.ESME_RSUBMITFAIL, {}, 1, [(S.ESME_RSUBMITFAIL, True)]),
        (S.ESME_RSUBMITFAIL, {"temporary_errors": ["ESME_RSUBMITFAIL"]}, 2, [(0x45, False)]),
        (S.ESME_RSUBMITFAIL, {"throttling_errors": [0x45]}, 3, []),
        (S.ESME_RTHROTTLED, {"permanent_errors": ["ESME_RTHROTTLED"]}, 1, [(0x58, True)]),
    ],
)
async def test_the_operators_convention_decides_what_a_status_does(
    smsc: Smsc,
    make_connector: Factory,
    status: int,
    lists: dict[str, list[object]],
    submits: int,
    failed: list[tuple[int, bool]],
) -> None:
    """An operator answering ``status`` twice, then OK, to a connector that
    tries a message twice after temporary errors."""
    answers = iter([status, status, S.ESME_ROK])
    smsc.answer = lambda submit: next(answers)
    listener = Listener()
    connector = make_connector(listener, max_submit_attempts=2, **lists)
    connector.scheduler.push(message())
    await listener.signal.wait_until(lambda: listener.settled() == 1)
    assert len(smsc.submits) == submits
    assert [(status, permanent) for _, status, permanent in listener.failed] == failed
    assert len(listener.submitted) == 1 - len(failed)


LONG_TEXT = "".join(f"{n:03d}-" for n in range(50))
"""200 GSM characters: two parts with any concatenation method."""


def _joined_text(submits: list[p.SubmitSm], udh_length: int) -> str:
    return gsm.decode(b"".join(submit.short_message[udh_length:] for submit in submits))


async def test_udh8_split_reaches_the_smsc(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, split="udh8")
    connector.scheduler.push(message(LONG_TEXT))
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    submits = [submit for _, submit in smsc.submits]
    headers = [submit.short_message[:6] for submit in submits]
    reference = headers[0][3]
    assert headers == [bytes((5, 0, 3, reference, 2, seq)) for seq in (1, 2)]
    assert all(submit.esm_class & 0x40 for submit in submits)
    assert _joined_text(submits, 6) == LONG_TEXT
    assert listener.submitted[0][1] == tuple(smsc.issued)


async def test_udh16_split_reaches_the_smsc(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, split="udh16")
    connector.scheduler.push(message(LONG_TEXT))
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    submits = [submit for _, submit in smsc.submits]
    assert [s.short_message[:3] + s.short_message[5:7] for s in submits] == [
        bytes((6, 8, 4, 2, seq)) for seq in (1, 2)
    ]
    assert submits[0].short_message[3:5] == submits[1].short_message[3:5]
    assert _joined_text(submits, 7) == LONG_TEXT


async def test_sar_split_reaches_the_smsc(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, split="sar")
    connector.scheduler.push(message(LONG_TEXT))
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    submits = [submit for _, submit in smsc.submits]
    assert [s.tlvs[Tag.SAR_SEGMENT_SEQNUM] for s in submits] == [1, 2]
    assert {s.tlvs[Tag.SAR_TOTAL_SEGMENTS] for s in submits} == {2}
    assert len({s.tlvs[Tag.SAR_MSG_REF_NUM] for s in submits}) == 1
    assert not any(s.esm_class & 0x40 for s in submits)
    assert _joined_text(submits, 0) == LONG_TEXT


async def test_payload_policy_sends_one_pdu(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, split="payload")
    connector.scheduler.push(message(LONG_TEXT))
    connector.scheduler.push(message("short"))
    await listener.signal.wait_until(lambda: len(listener.submitted) == 2)
    long_submit, short_submit = (submit for _, submit in smsc.submits)
    assert long_submit.short_message == b""
    assert long_submit.tlvs[Tag.MESSAGE_PAYLOAD] == gsm.encode(LONG_TEXT)
    assert short_submit.short_message == b"short" and short_submit.tlvs == {}


async def test_customer_udh_is_sent_as_is(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, split="sar")
    own = bytes((5, 0, 3, 0x42, 3, 1)) + gsm.encode(LONG_TEXT[:150])
    connector.scheduler.push(message(user_data=own, esm_class=0x40))
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    [(_, submit)] = smsc.submits
    assert submit.short_message == own and submit.esm_class == 0x40 and submit.tlvs == {}


async def test_accepted_parts_are_not_resent(smsc: Smsc, make_connector: Factory) -> None:
    answers = iter([S.ESME_ROK, S.ESME_RTHROTTLED, S.ESME_ROK])
    smsc.answer = lambda submit: next(answers)
    listener = Listener()
    connector = make_connector(listener, split="udh8")
    connector.scheduler.push(message(LONG_TEXT))
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    sequences = [submit.short_message[5] for _, submit in smsc.submits]
    assert sequences == [1, 2, 2]
    assert listener.submitted[0][1] == tuple(smsc.issued)


async def test_a_message_counts_as_begun_from_its_first_part_until_it_settles(
    smsc: Smsc, make_connector: Factory
) -> None:
    smsc.answer = lambda submit: HOLD
    listener = Listener()
    connector = make_connector(listener)
    sent = message()
    assert not connector.has_begun(sent.id)
    connector.scheduler.push(sent)
    await smsc.signal.wait_until(lambda: len(smsc.held) == 1)
    assert connector.has_begun(sent.id)
    smsc.release()
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    assert not connector.has_begun(sent.id)


async def test_dropped_bind_resubmits_exactly_once_more(
    smsc: Smsc, make_connector: Factory
) -> None:
    smsc.answer = lambda submit: HOLD
    listener = Listener()
    connector = make_connector(listener, window=5)
    messages = [message() for _ in range(5)]
    for each in messages:
        connector.scheduler.push(each)
    await smsc.signal.wait_until(lambda: len(smsc.held) == 5)
    smsc.answer = lambda submit: S.ESME_ROK
    smsc.bound[0].close()
    await listener.signal.wait_until(lambda: len(listener.submitted) == 5)
    assert [smsc.submitted_to(m.destination_addr) for m in messages] == [2] * 5
    assert len(smsc.bound) == 1
    order = [submit.destination_addr for _, submit in smsc.submits[5:]]
    assert order == [m.destination_addr for m in messages]


async def test_dropped_bind_work_moves_to_another_bind(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(
        listener, binds=2, window=4, reconnect_delay=30.0, reconnect_delay_max=30.0
    )
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 2)
    doomed = smsc.bound[0]
    smsc.answer = lambda submit: HOLD
    for _ in range(8):
        connector.scheduler.push(message())
    await smsc.signal.wait_until(lambda: len(smsc.held) == 8)
    smsc.answer = lambda submit: S.ESME_ROK
    survivor_held = [submit for connection, submit in smsc.held if connection is not doomed]
    doomed.close()
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
    smsc.release()
    await listener.signal.wait_until(lambda: len(listener.submitted) == 8)
    resent = smsc.submits[8:]
    assert len(resent) == 4 and all(connection is not doomed for connection, _ in resent)
    assert len(survivor_held) == 4
    assert sorted(b.value for b in connector.state().binds) == ["backing_off", "bound"]


async def test_reconnects_after_the_smsc_restarts(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener, binds=2)
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 2)
    first = list(smsc.bound)
    await smsc.stop()
    await smsc.start()
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 2)
    assert not set(first) & set(smsc.bound)
    connector.scheduler.push(message())
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)


async def test_expired_message_is_never_sent(smsc: Smsc, make_connector: Factory) -> None:
    wall = FakeClock(1_700_000_000.0)
    clock = FakeClock()
    listener = Listener()
    connector = make_connector(listener, throughput=4.0, burst=1.0, clock=clock, wall_clock=wall)
    stale = message(expires_at=wall.now - 1)
    first = message(expires_at=wall.now + 60)
    late = message(expires_at=wall.now + 60)
    for each in (stale, first, late):
        connector.scheduler.push(each)
    await listener.signal.wait_until(lambda: len(listener.submitted) == 1)
    assert listener.expired == [stale]
    wall.now += 61  # ``late`` expires while the connector waits for a token
    clock.now += 0.25
    await listener.signal.wait_until(lambda: len(listener.expired) == 2)
    assert listener.expired == [stale, late]
    assert [submit.destination_addr for _, submit in smsc.submits] == [first.destination_addr]
    assert smsc.submits[0][1].validity_period == "231114221420000+"


@pytest.mark.parametrize("status", [S.ESME_ROK, S.ESME_RX_T_APPN, -1])
async def test_deliver_sm_is_answered_with_the_listeners_status(
    smsc: Smsc, make_connector: Factory, status: int
) -> None:
    listener = Listener(deliver_status=status)
    make_connector(listener)
    await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
    receipt = p.DeliverSm(source_addr="447900000001", esm_class=0x04, short_message=b"id:op-1")
    response = await smsc.deliver(smsc.bound[0], receipt)
    assert isinstance(response, p.DeliverSmResp)
    assert response.command_status == (S.ESME_RX_T_APPN if status < 0 else status)
    assert [(d.source_addr, d.short_message) for d in listener.delivered] == [
        ("447900000001", b"id:op-1")
    ]


async def test_stop_waits_for_responses_then_unbinds(smsc: Smsc, make_connector: Factory) -> None:
    smsc.answer = lambda submit: HOLD
    listener = Listener()
    connector = make_connector(listener, window=2)
    messages = [message() for _ in range(5)]
    for each in messages:
        connector.scheduler.push(each)
    await smsc.signal.wait_until(lambda: len(smsc.held) == 2)
    stopping = asyncio.create_task(connector.stop(drain_timeout=WAIT_LIMIT))
    smsc.answer = lambda submit: S.ESME_ROK
    smsc.release()
    await stopping
    submitted = [m for m, _ in listener.submitted]
    assert len(submitted) >= 2 and submitted == messages[: len(submitted)]
    assert connector.scheduler.drain() == messages[len(submitted) :]
    assert smsc.bound == []
    state = connector.state()
    assert state.binds == (BindState.STOPPED,) and state.in_flight == 0


async def test_stop_puts_unanswered_messages_back_in_order(
    smsc: Smsc, make_connector: Factory
) -> None:
    smsc.answer = lambda submit: HOLD
    listener = Listener()
    connector = make_connector(listener, window=2)
    messages = [message() for _ in range(5)]
    for each in messages:
        connector.scheduler.push(each)
    await smsc.signal.wait_until(lambda: len(smsc.held) == 2)
    await connector.stop(drain_timeout=0.05)
    assert listener.settled() == 0 and smsc.bound == []
    assert connector.scheduler.drain() == messages


async def test_unsendable_message_fails_permanently(smsc: Smsc, make_connector: Factory) -> None:
    listener = Listener()
    connector = make_connector(listener)
    odd_ucs2 = message(data_coding=8, user_data=b"\x00a\x00")
    too_long_address = message(destination_addr="4" * 30)
    connector.scheduler.push(odd_ucs2)
    connector.scheduler.push(too_long_address)
    await listener.signal.wait_until(lambda: len(listener.failed) == 2)
    assert listener.failed[0] == (odd_ucs2, S.ESME_RINVMSGLEN, True)
    assert listener.failed[1][0] == too_long_address and listener.failed[1][2] is True
    assert smsc.submits == []


async def test_a_throttle_spell_delays_messages_and_fails_none(make_connector: Factory) -> None:
    """The simulated operator throttles every submit_sm until the connector
    has halved its pace four times (three intervals: most of a second), then
    takes everything. A spell of a minute runs the same way, only longer:
    throttled answers never count as attempts, and the pace stops at its floor."""
    quiet = SimulatorConfig(port=0, receipts=ReceiptSettings(enabled=False))
    async with SimulatedSmsc(quiet) as operator:
        operator.refusing = S.ESME_RTHROTTLED
        listener = Listener()
        throughput = 200.0
        connector = make_connector(
            listener,
            port=operator.port,
            throughput=throughput,
            throttle_interval=0.25,
            throttle_recovery=0.5,
            max_submit_attempts=1,
        )
        messages = [message() for _ in range(20)]
        for each in messages:
            connector.scheduler.push(each)
        await until(lambda: connector.state().rate <= throughput / 16)
        operator.refusing = None
        await listener.signal.wait_until(lambda: listener.settled() == len(messages))
    assert sorted(m.id for m, _ in listener.submitted) == sorted(m.id for m in messages)
    assert listener.failed == [] and listener.expired == []
    state = connector.state()
    assert (state.failed, state.retried, state.expired) == (0, 0, 0)
    throttled = operator.stats.responses[S.ESME_RTHROTTLED]
    assert state.throttled == throttled >= len(messages)
    assert operator.stats.responses[S.ESME_ROK] == len(messages)
    assert state.throttle_spells == 1


# -- configuration and PDUs, without sockets --------------------------------

MINIMAL = {"id": "op1", "host": "smsc.example", "system_id": "smsgw"}


def test_config_defaults_are_sane() -> None:
    config = msgspec.convert(MINIMAL, ConnectorConfig)
    assert (config.port, config.bind, config.binds, config.window) == (2775, "transceiver", 1, 10)
    assert (config.throughput, config.bucket_burst) == (50.0, 5.0)
    assert config.split == "udh8" and config.max_submit_attempts == 3 and config.transmits


@pytest.mark.parametrize(
    ("change", "place"),
    [
        ({"window": 0}, "window"),
        ({"system_id": "x" * 16}, "system_id"),
        ({"split": "udh7"}, "split"),
        ({"bind": "both"}, "bind"),
        ({"throughput": 0}, "throughput"),
        ({"windw": 5}, "windw"),
        ({"reconnect_delay": 90.0}, "reconnect_delay"),
    ],
)
def test_config_errors_name_their_field(change: dict[str, object], place: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=place):
        msgspec.convert({**MINIMAL, **change}, ConnectorConfig)


def test_gsm_text_is_reencoded_for_a_latin1_smsc() -> None:
    config = msgspec.convert({**MINIMAL, "default_alphabet": "latin-1"}, ConnectorConfig)
    [latin] = build_submits(message("@ é"), config, reference=0)
    assert (latin.data_coding, latin.short_message) == (0, "@ é".encode("latin-1"))
    [greek] = build_submits(message("ΩΔ"), config, reference=0)
    assert (greek.data_coding, greek.short_message) == (8, "ΩΔ".encode("utf-16-be"))


def test_source_ton_npi_defaults_apply_to_unknown_only() -> None:
    config = msgspec.convert(
        {**MINIMAL, "source_addr_ton": 5, "source_addr_npi": 0}, ConnectorConfig
    )
    [unknown] = build_submits(message(), config, reference=0)
    [given] = build_submits(message(source_addr_ton=1, source_addr_npi=1), config, reference=0)
    assert (unknown.source_addr_ton, unknown.source_addr_npi) == (5, 0)
    assert (given.source_addr_ton, given.source_addr_npi) == (1, 1)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=946_684_800, max_value=4_102_444_799)
    | st.integers(9_466_848_000, 41_024_447_990).map(lambda tenths: tenths / 10)
    | st.integers(9_466_848_000, 41_024_447_990).map(lambda tenths: tenths / 10 - 5e-7)
)
def test_validity_period_is_the_expiry_as_an_absolute_time(expires_at: float) -> None:
    """Written once per tenth of a second, it is still each expiry's text (0.5 us before too)."""
    config = msgspec.convert(MINIMAL, ConnectorConfig)
    [submit] = build_submits(message(expires_at=expires_at), config, reference=0)
    assert submit.validity_period == format_absolute(datetime.fromtimestamp(expires_at, UTC))


def test_an_expiry_smpp_cannot_write_is_refused() -> None:
    config = msgspec.convert(MINIMAL, ConnectorConfig)
    with pytest.raises(SmppTimeError):
        build_submits(message(expires_at=4_102_444_800.0), config, reference=0)


def test_udh8_reference_is_cut_to_one_octet() -> None:
    config = msgspec.convert(MINIMAL, ConnectorConfig)
    submits = build_submits(message(LONG_TEXT, registered_delivery=1), config, reference=0x1234)
    assert {submit.short_message[3] for submit in submits} == {0x34}
    assert {submit.registered_delivery for submit in submits} == {1}
