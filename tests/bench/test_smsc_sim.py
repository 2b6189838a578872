"""The simulated operator SMSC over real loopback sockets, with our own ESME
(`smpp.aio.open_session`) and a third-party one (smpplib), plus its pure parts."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import textwrap
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import smpplib.client
import smpplib.consts
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import smsc_sim_config
from bench.smsc_sim import SimulatedSmsc, main
from bench.smsc_sim_config import (
    Delay,
    MoSettings,
    OutcomeMix,
    SimulatorConfig,
    parse_command_line,
)
from bench.smsc_sim_pdus import (
    OUTCOME_STATES,
    RECEIPT_ERRORS,
    AcceptedMessage,
    OutcomeDraw,
    receipt_pdu,
    receipt_text,
    receipt_wanted,
    text_preview,
)
from smpp import pdu as p
from smpp.aio import CommandFailed, SessionClosed, SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smpp.constants import EsmClass
from smpp.receipt import (
    STAT_WORDS,
    DeliveryReceipt,
    MessageState,
    format_receipt,
    parse_receipt,
    receipt_outcome,
)
from smpp.state import SessionState
from smpp.text import decode_text
from smpp.tlv import Tag

WAIT = 5.0
"""Upper bound on any single await: a broken simulator fails, never hangs."""
HANDSET = "447700900123"
BANK = "MyBank"
OTP = "MyBank: 482913 is your code. Never share it."


class Esme:
    """Our ESME's handler: queues every deliver_sm and answers it with the next
    of ``answers`` (ESME_ROK once they run out); None leaves it unanswered."""

    def __init__(self, answers: list[S | None] | None = None) -> None:
        self.delivered: asyncio.Queue[p.DeliverSm] = asyncio.Queue()
        self.answers = list(answers or [])

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        assert isinstance(request, p.DeliverSm)
        self.delivered.put_nowait(request)
        status = self.answers.pop(0) if self.answers else S.ESME_ROK
        if status is not None:
            connection.respond(p.response_to(request, status))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        pass

    async def next(self) -> p.DeliverSm:
        return await asyncio.wait_for(self.delivered.get(), WAIT)


def config(**fields: object) -> SimulatorConfig:
    return msgspec.convert({"port": 0, **fields}, SimulatorConfig)


def only(outcome: str) -> dict[str, object]:
    """Receipts at once, all with one outcome."""
    weights = dict.fromkeys(msgspec.structs.asdict(OutcomeMix()), 0) | {outcome: 1}
    return {"delay": {"fixed_ms": 0}, "outcomes": weights}


async def bind(
    simulator: SimulatedSmsc,
    kind: type[p.Pdu] = p.BindTransceiver,
    esme: Esme | None = None,
    system_id: str = "bank",
    password: str = "",
) -> SmppConnection:
    request = kind(system_id=system_id, password=password)
    return await asyncio.wait_for(
        open_session("127.0.0.1", simulator.port, request, esme or Esme()), WAIT
    )


def submit(registered_delivery: int = 1, text: str = OTP) -> p.SubmitSm:
    return p.SubmitSm(
        source_addr_ton=5,
        source_addr=BANK,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=HANDSET,
        registered_delivery=registered_delivery,
        short_message=text.encode("ascii"),
    )


# -- receipts ---------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["delivered", "undeliverable", "expired", "rejected"])
@pytest.mark.parametrize("style", ["hex", "decimal"])
async def test_receipt_carries_the_submit_id_and_the_outcome(outcome: str, style: str) -> None:
    receipts = only(outcome) | {"delay": {"fixed_ms": 2, "jitter_ms": 3}}
    sim_config = config(
        receipts=receipts, message_id_style=style, response_latency={"fixed_ms": 1, "jitter_ms": 2}
    )
    state = OUTCOME_STATES[list(msgspec.structs.asdict(OutcomeMix())).index(outcome)]
    esme = Esme()
    async with SimulatedSmsc(sim_config) as simulator:
        connection = await bind(simulator, esme=esme)
        response = await asyncio.wait_for(connection.call(submit()), WAIT)
        receipt = await esme.next()
        await connection.unbind()
    message_id = response.message_id
    assert message_id == (message_id.upper() if style == "hex" else str(int(message_id)))
    assert int(message_id, 16 if style == "hex" else 10) >= 0
    assert receipt.esm_class == EsmClass.DELIVERY_RECEIPT
    assert (receipt.source_addr, receipt.source_addr_ton) == (HANDSET, 1)
    assert (receipt.destination_addr, receipt.dest_addr_ton) == (BANK, 5)
    assert receipt.tlvs == {Tag.RECEIPTED_MESSAGE_ID: message_id, Tag.MESSAGE_STATE: state}
    text = parse_receipt(receipt.short_message)
    assert text is not None
    assert (text.id, text.stat, text.err) == (message_id, STAT_WORDS[state], RECEIPT_ERRORS[state])
    assert (text.sub, text.dlvrd) == (1, int(state is MessageState.DELIVERED))
    assert text.text == OTP[:20]
    assert text.submit_date is not None and text.done_date is not None
    assert text.submit_date <= text.done_date
    assert simulator.stats.receipts_sent == simulator.stats.receipts_acked == 1


async def test_receipt_never_overtakes_its_response() -> None:
    """Responses and receipts both wait in the delay queue; a receipt is due at
    the response time plus its own delay, so on one transceiver it comes after."""
    sim_config = config(
        receipts=only("delivered") | {"delay": {"fixed_ms": 0, "jitter_ms": 2}},
        response_latency={"fixed_ms": 1, "jitter_ms": 5},
    )
    pending: dict[str, asyncio.Future[p.Pdu]] = {}
    early: list[str] = []

    class Watching(Esme):
        def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
            message_id = str(request.tlvs[Tag.RECEIPTED_MESSAGE_ID])
            if not any(f.done() and f.result().message_id == message_id for f in pending.values()):
                early.append(message_id)
            super().request_received(connection, request)

    esme = Watching()
    async with SimulatedSmsc(sim_config) as simulator:
        connection = await bind(simulator, esme=esme)
        for n in range(50):
            pending[str(n)] = connection.request(submit())
        await asyncio.wait_for(asyncio.gather(*pending.values()), WAIT)
        for _ in range(50):
            await esme.next()
    assert early == []


async def _states_by_id(registered_delivery: int, count: int) -> dict[str, int]:
    """Receipts of ``count`` submits on a seeded 50/50 mix: message id -> state."""
    mix = {"delay": {"fixed_ms": 0}, "outcomes": {"delivered": 1, "undeliverable": 1}}
    esme = Esme()
    async with SimulatedSmsc(config(seed=5, receipts=mix)) as simulator:
        connection = await bind(simulator, esme=esme)
        for _ in range(count):
            await asyncio.wait_for(connection.call(submit(registered_delivery)), WAIT)
        await connection.unbind()
        expected = simulator.stats.receipts_sent
    states = {}
    for _ in range(expected):
        receipt = esme.delivered.get_nowait()
        states[str(receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID])] = int(receipt.tlvs[Tag.MESSAGE_STATE])
    return states


@pytest.mark.parametrize(
    ("registered_delivery", "kept"),
    [(2, MessageState.UNDELIVERABLE), (3, MessageState.DELIVERED)],
)
async def test_failure_only_and_success_only_receipts(
    registered_delivery: int, kept: MessageState
) -> None:
    """The same seed draws the same outcomes for the same ids; asking for
    failures only (or, as SMPP 5.0 reads 11, successes only) keeps that subset."""
    every = await _states_by_id(1, 40)
    some = await _states_by_id(registered_delivery, 40)
    assert len(every) == 40
    assert 0 < len(some) < 40
    assert some == {i: state for i, state in every.items() if state == kept}


def test_receipt_wanted_follows_the_registered_delivery_bits() -> None:
    failed = [s for s in OUTCOME_STATES if s is not MessageState.DELIVERED]
    for state in OUTCOME_STATES:
        assert not receipt_wanted(0, state)
        assert receipt_wanted(1, state)
        assert receipt_wanted(2, state) is (state in failed)
        assert receipt_wanted(3, state) is (state is MessageState.DELIVERED)
        assert receipt_wanted(0x11, state), "bits above the SMSC receipt bits are ignored"


async def test_no_receipt_unless_asked_or_enabled() -> None:
    esme = Esme()
    async with SimulatedSmsc(config(receipts=only("delivered"))) as simulator:
        connection = await bind(simulator, esme=esme)
        await connection.call(submit(registered_delivery=0))
        await connection.call(submit(registered_delivery=1))
        receipt = await esme.next()
        assert simulator.stats.receipts_sent == 1 and esme.delivered.empty()
    async with SimulatedSmsc(config(receipts={"enabled": False})) as simulator:
        connection = await bind(simulator)
        await connection.call(submit(registered_delivery=1))
        assert simulator.stats.receipts_sent == 0
    assert receipt.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED


async def test_receipt_waits_for_a_receiver_bind_of_the_same_account() -> None:
    sim_config = config(receipts=only("delivered"))
    receiver = Esme()
    async with SimulatedSmsc(sim_config) as simulator:
        transmitter = await bind(simulator, p.BindTransmitter)
        response = await transmitter.call(submit())
        await bind(simulator, p.BindReceiver, Esme(), system_id="someone-else")
        assert simulator.stats.receipts_sent == 0
        await bind(simulator, p.BindReceiver, receiver)
        receipt = await receiver.next()
    assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id


async def test_receipt_is_dropped_after_the_wait_allowed() -> None:
    sim_config = config(receipts=only("delivered"), deliver_max_wait_ms=0)
    async with SimulatedSmsc(sim_config) as simulator:
        transmitter = await bind(simulator, p.BindTransmitter)
        await transmitter.call(submit())
        await bind(simulator, p.BindReceiver)
        assert simulator.stats.receipts_dropped == 1
        assert simulator.stats.receipts_sent == 0


async def test_refused_receipt_is_sent_again_after_the_retry_delay() -> None:
    esme = Esme(answers=[S.ESME_RX_T_APPN])
    sim_config = config(receipts=only("expired"), deliver_retry_ms=1)
    async with SimulatedSmsc(sim_config) as simulator:
        connection = await bind(simulator, esme=esme)
        response = await connection.call(submit())
        first, second = await esme.next(), await esme.next()
        await connection.unbind()
        stats = simulator.stats
    assert first.tlvs == second.tlvs
    assert first.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
    assert (stats.receipts_sent, stats.deliver_failures, stats.receipts_acked) == (2, 1, 1)


async def test_receipts_spread_over_binds_within_the_window() -> None:
    sim_config = config(receipts=only("delivered"), deliver_window=1)
    silent, answering = Esme(answers=[None]), Esme()
    async with SimulatedSmsc(sim_config) as simulator:
        await bind(simulator, p.BindReceiver, silent)
        await bind(simulator, p.BindReceiver, answering)
        transmitter = await bind(simulator, p.BindTransmitter)
        for _ in range(5):
            await transmitter.call(submit())
        held = await silent.next()
        passed = [await answering.next() for _ in range(4)]
        assert silent.delivered.empty()
    ids = {str(r.tlvs[Tag.RECEIPTED_MESSAGE_ID]) for r in [held, *passed]}
    assert len(ids) == 5


# -- submit_sm answers ------------------------------------------------------


async def _statuses(seed: int, count: int) -> tuple[list[int], dict[str, object]]:
    sim_config = config(
        seed=seed, error_rate=0.2, error_status="ESME_RSUBMITFAIL", throttle_rate=0.1
    )
    async with SimulatedSmsc(sim_config) as simulator:
        connection = await bind(simulator)
        futures = [connection.request(submit(0)) for _ in range(count)]
        responses = await asyncio.wait_for(asyncio.gather(*futures), WAIT)
        return [r.command_status for r in responses], simulator.stats.snapshot()


async def test_error_and_throttle_rates_follow_the_seed() -> None:
    count = 400
    statuses, stats = await _statuses(seed=11, count=count)
    again, _ = await _statuses(seed=11, count=count)
    other, _ = await _statuses(seed=12, count=count)
    assert statuses == again
    assert statuses != other
    tally = {S(code).name: statuses.count(code) for code in set(statuses)}
    assert stats["responses"] == tally
    assert set(tally) == {"ESME_ROK", "ESME_RSUBMITFAIL", "ESME_RTHROTTLED"}
    # 4 standard deviations of the binomial counts: a bug, not chance, falls outside.
    assert 40 - 24 <= tally["ESME_RTHROTTLED"] <= 40 + 24
    assert 72 - 30 <= tally["ESME_RSUBMITFAIL"] <= 72 + 30
    assert stats["submits"] == count


async def test_submit_rate_limit_per_bind_throttles_beyond_it() -> None:
    now = [100.0]
    sim_config = config(max_submits_per_second=3)
    async with SimulatedSmsc(sim_config, clock=lambda: now[0]) as simulator:
        first, second = await bind(simulator), await bind(simulator)

        async def burst(connection: SmppConnection, count: int) -> list[int]:
            futures = [connection.request(submit(0)) for _ in range(count)]
            return [r.command_status for r in await asyncio.gather(*futures)]

        ok, throttled = S.ESME_ROK, S.ESME_RTHROTTLED
        assert await burst(first, 5) == [ok] * 3 + [throttled] * 2
        assert await burst(second, 4) == [ok] * 3 + [throttled]
        now[0] += 0.5
        assert await burst(first, 3) == [ok] + [throttled] * 2
        now[0] += 10
        assert await burst(first, 4) == [ok] * 3 + [throttled]


async def test_unsupported_requests_get_an_error() -> None:
    async with SimulatedSmsc(config()) as simulator:
        connection = await bind(simulator)
        answer = await connection.request(p.QuerySm(message_id="1"))
        assert answer.command_status == S.ESME_RQUERYFAIL
        answer = await connection.request(p.ReplaceSm(message_id="1", short_message=b"x"))
        assert answer.command_status == S.ESME_RREPLACEFAIL
        answer = await connection.request(p.DataSm(destination_addr=HANDSET))
        assert answer.command_status == S.ESME_RINVCMDID


# -- binds ------------------------------------------------------------------


async def test_wrong_credentials_are_refused_with_bindfail() -> None:
    sim_config = config(credentials={"bank": "s3cret"})
    async with SimulatedSmsc(sim_config) as simulator:
        for system_id, password in [("bank", "guess"), ("intruder", "s3cret")]:
            with pytest.raises(CommandFailed) as refused:
                await bind(simulator, system_id=system_id, password=password)
            assert refused.value.status == S.ESME_RBINDFAIL
        connection = await bind(simulator, password="s3cret")
        assert connection.state is SessionState.BOUND_TRX
        assert connection.system_id == "smscsim"
        assert (simulator.stats.binds, simulator.stats.binds_refused) == (1, 2)


async def test_binds_can_be_refused_for_a_while() -> None:
    async with SimulatedSmsc(config()) as simulator:
        simulator.accepting_binds = False
        with pytest.raises(CommandFailed) as refused:
            await bind(simulator)
        assert refused.value.status == S.ESME_RBINDFAIL
        simulator.accepting_binds = True
        await bind(simulator)
        assert simulator.bound == 1


async def test_drop_connections_cuts_every_bind() -> None:
    sim_config = config(response_latency={"fixed_ms": 60_000})
    async with SimulatedSmsc(sim_config) as simulator:
        transceiver = await bind(simulator)
        transmitter = await bind(simulator, p.BindTransmitter)
        unanswered = transmitter.request(submit())
        assert simulator.bound == 2
        assert simulator.drop_connections() == 2
        await asyncio.wait_for(asyncio.gather(transceiver.closed, transmitter.closed), WAIT)
        with pytest.raises(SessionClosed):
            await unanswered
        assert simulator.bound == 0
        again = await bind(simulator)
        assert again.state is SessionState.BOUND_TRX


async def test_receipt_in_flight_when_dropped_comes_again_on_the_next_bind() -> None:
    silent, answering = Esme(answers=[None]), Esme()
    async with SimulatedSmsc(config(receipts=only("delivered"))) as simulator:
        connection = await bind(simulator, esme=silent)
        response = await connection.call(submit())
        lost = await silent.next()
        simulator.drop_connections()
        await asyncio.wait_for(connection.closed, WAIT)
        await bind(simulator, p.BindReceiver, answering)
        again = await answering.next()
        assert simulator.stats.deliver_failures == 1
    assert lost.tlvs == again.tlvs
    assert again.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id


async def test_stop_closes_everything_and_start_listens_again_on_the_same_port() -> None:
    simulator = SimulatedSmsc(config())
    await simulator.start()
    port = simulator.port
    connection = await bind(simulator)
    await simulator.stop()
    await asyncio.wait_for(connection.closed, WAIT)
    with pytest.raises(OSError):
        await open_session("127.0.0.1", port, p.BindTransceiver(), Esme())
    await simulator.stop()
    await simulator.start()
    try:
        assert simulator.port == port
        await bind(simulator)
        assert (simulator.stats.binds, simulator.bound) == (2, 1)
    finally:
        await simulator.stop()


# -- MO ---------------------------------------------------------------------


async def test_mo_flows_at_the_configured_rate_to_receiving_binds_only() -> None:
    mo = {"rate": 1000.0, "source": "447700900999", "destination": "4242", "text": "Привет"}
    esme = Esme()
    async with SimulatedSmsc(config(mo=mo, receipts={"enabled": False})) as simulator:
        await bind(simulator, p.BindTransmitter, system_id="sender-only")
        await bind(simulator, p.BindReceiver, esme)
        messages = [await esme.next() for _ in range(5)]
        assert simulator.stats.mo_sent >= 5
    for message in messages:
        assert message.esm_class == 0
        assert (message.source_addr, message.source_addr_ton) == ("447700900999", 1)
        assert message.destination_addr == "4242"
        assert decode_text(message.short_message, message.data_coding) == "Привет"


async def test_injected_mo_waits_for_its_account_to_bind() -> None:
    esme = Esme()
    async with SimulatedSmsc(config()) as simulator:
        assert not simulator.inject_mo("STOP")
        assert simulator.inject_mo("STOP", source="447700900555", system_id="bank")
        connection = await bind(simulator, p.BindTransceiver, esme)
        message = await esme.next()
        assert simulator.inject_mo()
        default = await esme.next()
        await connection.unbind()
        assert (simulator.stats.mo_sent, simulator.stats.mo_acked) == (2, 2)
    assert (message.short_message, message.source_addr) == (b"STOP", "447700900555")
    assert message.destination_addr == MoSettings().destination
    assert default.short_message == MoSettings().text.encode("ascii")


# -- a third-party ESME -----------------------------------------------------


def _smpplib_round_trip(port: int) -> tuple[str, object]:
    """Bind, submit asking for a receipt, read until the receipt: smpplib's
    blocking client, bounded by its socket timeout."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT, allow_unknown_opt_params=True)
    sent: list[str] = []
    received: list[object] = []
    client.set_message_sent_handler(lambda pdu: sent.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: received.append(pdu))
    client.connect()
    try:
        client.bind_transceiver(system_id="bank", password="s3cret")
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr=BANK,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            destination_addr=HANDSET,
            short_message=OTP.encode("ascii"),
            registered_delivery=1,
        )
        while not received:
            client.read_once(auto_send_enquire_link=False)
        client.unbind()
    finally:
        client.disconnect()
    return sent[0], received[0]


async def test_smpplib_esme_gets_its_receipt() -> None:
    sim_config = config(credentials={"bank": "s3cret"}, receipts=only("undeliverable"))
    async with SimulatedSmsc(sim_config) as simulator:
        message_id, receipt = await asyncio.wait_for(
            asyncio.to_thread(_smpplib_round_trip, simulator.port), WAIT * 2
        )
    assert receipt.esm_class == EsmClass.DELIVERY_RECEIPT  # type: ignore[attr-defined]
    assert receipt.receipted_message_id.decode() == message_id  # type: ignore[attr-defined]
    assert receipt.message_state == MessageState.UNDELIVERABLE  # type: ignore[attr-defined]
    outcome = receipt_outcome(None, None, receipt.short_message)  # type: ignore[attr-defined]
    assert outcome is not None
    assert (outcome.message_id, outcome.state) == (message_id, MessageState.UNDELIVERABLE)


# -- as its own process -----------------------------------------------------


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
async def test_command_listens_serves_and_exits_cleanly_on_sigterm(event_loop: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.smsc_sim",
        "--port",
        "0",
        "--loop",
        event_loop,
        "--seed",
        "3",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        listening = json.loads(await asyncio.wait_for(process.stdout.readline(), WAIT * 2))
        assert listening["event"] == "listening" and listening["pid"] == process.pid
        connection = await asyncio.wait_for(
            open_session("127.0.0.1", listening["port"], p.BindTransceiver(), Esme()), WAIT
        )
        await asyncio.wait_for(connection.call(submit(0)), WAIT)
        await connection.unbind()
        process.send_signal(signal.SIGTERM)
        stopped = json.loads(await asyncio.wait_for(process.stdout.readline(), WAIT))
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert stopped["event"] == "stopped"
    assert stopped["stats"]["submits"] == 1
    assert stopped["stats"]["responses"] == {"ESME_ROK": 1}


# -- configuration ----------------------------------------------------------


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        'port = 2800\nerror_rate = 0.5\ncredentials = { bank = "a" }\n'
        "[receipts.outcomes]\ndelivered = 9\nexpired = 1\n"
    )
    line = parse_command_line(
        ["--config", str(path), "--error-rate", "0.1", "--credential", "shop:b", "--no-receipts"]
    )
    sim_config = line.config
    assert (sim_config.port, sim_config.error_rate) == (2800, 0.1)
    assert sim_config.credentials == {"bank": "a", "shop": "b"}
    assert sim_config.receipts.outcomes == OutcomeMix(delivered=9, expired=1)
    assert not sim_config.receipts.enabled
    assert line.event_loop == "uvloop"


def test_json_config_decodes_like_toml(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"response_latency": {"fixed_ms": 20}, "mo": {"rate": 2}}))
    sim_config = parse_command_line(["--config", str(path), "--loop", "asyncio"]).config
    assert sim_config.response_latency == Delay(fixed_ms=20)
    assert sim_config.mo.rate == 2.0
    assert msgspec.json.decode(msgspec.json.encode(sim_config), type=SimulatorConfig) == sim_config


def test_the_documented_example_decodes() -> None:
    example = textwrap.dedent(smsc_sim_config.__doc__.split("::", 1)[1])
    sim_config = msgspec.convert(tomllib.loads(example), SimulatorConfig)
    assert sim_config.receipts.outcomes.rejected == 1
    assert sim_config.error_command_status == S.ESME_RSUBMITFAIL


def test_every_semantic_error_is_reported_at_once() -> None:
    data = {"error_status": "ESME_RNOPE", "receipts": {"outcomes": {"delivered": 0}}}
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert(data, SimulatorConfig)
    assert "error_status" in str(refused.value) and "receipts.outcomes" in str(refused.value)
    with pytest.raises(msgspec.ValidationError, match="error_rate"):
        msgspec.convert({"error_rate": 1.5}, SimulatorConfig)
    with pytest.raises(msgspec.ValidationError, match="one SMS"):
        msgspec.convert({"mo": {"text": "Ж" * 71}}, SimulatorConfig)


def test_command_refuses_a_bad_config_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--error-status", "ESME_ROK"]) == 2
    assert "error_status" in capsys.readouterr().err
    assert main(["--credential", "no-colon"]) == 2


# -- pure parts -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=4, max_size=4).filter(any),
    st.integers(0, 2**32),
)
def test_outcome_draw_never_picks_a_zero_weight(weights: list[int], seed: int) -> None:
    draw = OutcomeDraw(OutcomeMix(*weights))
    rng = random.Random(seed)
    allowed = {state for state, weight in zip(OUTCOME_STATES, weights, strict=True) if weight}
    assert {draw.draw(rng) for _ in range(50)} <= allowed


def test_outcome_draw_follows_the_weights() -> None:
    draw = OutcomeDraw(OutcomeMix(delivered=90, undeliverable=6, expired=3, rejected=1))
    rng = random.Random(1)
    drawn = [draw.draw(rng) for _ in range(10_000)]
    assert 8_800 <= drawn.count(MessageState.DELIVERED) <= 9_200
    assert 500 <= drawn.count(MessageState.UNDELIVERABLE) <= 700


@settings(max_examples=200, deadline=None)
@given(
    message_id=st.text("0123456789ABCDEF", min_size=1, max_size=20),
    state=st.sampled_from(OUTCOME_STATES),
    preview=st.text(max_size=20),
    submitted_at=st.floats(1_000_000_000, 4_000_000_000),
    delay=st.floats(0, 86_400),
)
def test_receipt_pdu_reads_back_to_its_id_and_state(
    message_id: str, state: MessageState, preview: str, submitted_at: float, delay: float
) -> None:
    message = AcceptedMessage(
        "bank", message_id, state, submitted_at, (1, 1, HANDSET), (5, 0, BANK), preview
    )
    pdu = receipt_pdu(message, submitted_at + delay)
    outcome = receipt_outcome(None, None, pdu.short_message)
    assert outcome is not None and (outcome.message_id, outcome.state) == (message_id, state)
    assert outcome.receipt is not None and outcome.receipt.err == RECEIPT_ERRORS[state]


@settings(max_examples=300, deadline=None)
@given(
    message_id=st.text("0123456789ABCDEF", min_size=1, max_size=20),
    state=st.sampled_from(OUTCOME_STATES),
    preview=st.text(max_size=30),
    submitted_at=st.floats(946_684_800, 4_102_444_799) | st.integers(946_684_800, 4_102_444_799),
    delay=st.floats(0, 86_400)
    | st.sampled_from([0.0, 0.4999994, 0.4999996, 0.9999995, 59.9999999]),
)
def test_receipt_text_is_what_format_receipt_writes(
    message_id: str, state: MessageState, preview: str, submitted_at: float, delay: float
) -> None:
    done_at = min(submitted_at + delay, 4_102_444_799.0)
    message = AcceptedMessage(
        "bank", message_id, state, submitted_at, (1, 1, HANDSET), (5, 0, BANK), preview
    )
    expected = format_receipt(
        DeliveryReceipt(
            id=message_id,
            sub=1,
            dlvrd=1 if state is MessageState.DELIVERED else 0,
            submit_date=datetime.fromtimestamp(submitted_at, UTC),
            done_date=datetime.fromtimestamp(done_at, UTC),
            stat=STAT_WORDS[state],
            err=RECEIPT_ERRORS[state],
            text=preview,
        )
    )
    assert receipt_text(message, done_at) == expected


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), udh=st.booleans(), coding=st.sampled_from([0, 3, 8]))
def test_text_preview_is_the_first_twenty_characters(text: str, udh: bool, coding: int) -> None:
    encodings = {0: "ascii", 3: "latin-1", 8: "utf-16-be"}
    text = text.encode(encodings[coding], "ignore").decode(encodings[coding])
    if coding == 0:
        text = "".join(c for c in text if c.isalnum() or c == " ")
    if coding == 8:
        text = "".join(c for c in text if c <= "\uffff")
    data = text.encode(encodings[coding])
    header = b"\x05\x00\x03\x2a\x02\x01" if udh else b""
    submit_sm = p.SubmitSm(
        esm_class=0x40 if udh else 0, data_coding=coding, short_message=header + data
    )
    assert text_preview(submit_sm) == text[:20]


def test_text_preview_reads_message_payload_and_skips_binary() -> None:
    payload = p.SubmitSm(tlvs={Tag.MESSAGE_PAYLOAD: OTP.encode("ascii")})
    assert text_preview(payload) == OTP[:20]
    assert text_preview(p.SubmitSm(data_coding=4, short_message=b"\x01\x02")) == ""
