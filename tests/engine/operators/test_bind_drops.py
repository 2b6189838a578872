"""Operator binds that drop, fail and come back, over real loopback sockets:
what the log says about it, and that nothing in flight is lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from structlog.testing import capture_logs

from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, SimulatorConfig
from engine.messages.message import MtMessage
from engine.operators.connector import Connector
from engine.operators.connector_config import ConnectorConfig
from engine.operators.outage import Outage, connect_failure
from smpp import gsm
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandStatus as S
from tests.engine.smsc_fixture import PASSWORD, WAIT_LIMIT, Smsc

FAST = {
    "reconnect_delay": 0.01,
    "reconnect_delay_max": 0.05,
    "throughput": 10_000.0,
}


class Listener:
    """Keeps what the connector reports; receipts and MO are answered OK."""

    def __init__(self) -> None:
        self.submitted: list[MtMessage] = []
        self.failed: list[MtMessage] = []

    def on_submitted(self, connector_id: str, message: MtMessage, ids: tuple[str, ...]) -> None:
        self.submitted.append(message)

    def on_failed(
        self, connector_id: str, message: MtMessage, status: int | None, permanent: bool
    ) -> None:
        self.failed.append(message)

    def on_expired(self, connector_id: str, message: MtMessage) -> None:
        self.failed.append(message)

    def on_deliver(
        self, connector_id: str, pdu: p.DeliverSm | p.DataSm, answer: Callable[[int], None]
    ) -> None:
        answer(S.ESME_ROK)


def message(number: int) -> MtMessage:
    return MtMessage(
        id=f"m{number}",
        account="acme",
        source_addr="BANK",
        destination_addr=f"4479{number:08d}",
        user_data=gsm.encode(f"code {number}"),
    )


@asynccontextmanager
async def connector_to(port: int, **settings: object) -> AsyncIterator[Connector]:
    options: dict[str, object] = {
        "id": "op1",
        "host": "127.0.0.1",
        "port": port,
        "system_id": "smsgw",
        "password": PASSWORD,
        **FAST,
        **settings,
    }
    connector = Connector(msgspec.convert(options, ConnectorConfig), Listener())
    connector.start()
    try:
        yield connector
    finally:
        await connector.stop(drain_timeout=0.5)


async def until(condition: Callable[[], bool]) -> None:
    """Poll where nothing can be awaited (a log line); a hang guard, not a timing assert."""
    async with asyncio.timeout(WAIT_LIMIT):
        while not condition():
            await asyncio.sleep(0.005)


def events(logs: list[dict[str, Any]]) -> list[str]:
    return [entry["event"] for entry in logs]


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    with capture_logs() as captured:
        yield captured


# -- the log of one bind ---------------------------------------------------------


async def test_bind_drop_rebind_and_unbind_are_one_line_each(
    smsc: Smsc, logs: list[dict[str, Any]]
) -> None:
    async with connector_to(smsc.port):
        await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
        first = smsc.bound[0]
        await until(lambda: "bound" in events(logs))
        first.close()
        await smsc.signal.wait_until(lambda: smsc.bound and smsc.bound[0] is not first)
        await until(lambda: "bound again" in events(logs))
    assert events(logs) == ["bound", "bind dropped", "bound again", "unbound"]
    bound, dropped, again, unbound = logs
    assert bound["connector"] == dropped["connector"] == "op1" and bound["bind"] == 0
    assert bound["smsc"] == f"127.0.0.1:{smsc.port}" and bound["system_id"] == "testsmsc"
    assert dropped["reason"] == "connection lost" and dropped["log_level"] == "warning"
    assert (again["failures"], again["after"]) == (0, "connection lost")
    assert unbound["bind"] == 0


async def test_an_operator_that_stops_answering_enquire_link_is_dropped_and_rebound(
    smsc: Smsc, logs: list[dict[str, Any]]
) -> None:
    timers = {"enquire_link_interval": 0.05, "response_timeout": 0.1, "inactivity_timeout": 60}
    async with connector_to(smsc.port, **timers):
        await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
        hung = smsc.bound[0]
        hung.pause_writing()  # the operator's side stops reading: no answer to anything
        await smsc.signal.wait_until(lambda: any(c is not hung for c in smsc.bound))
        await until(lambda: "bound again" in events(logs))
        hung.close()
    dropped = [entry for entry in logs if entry["event"] == "bind dropped"]
    assert [entry["reason"] for entry in dropped] == ["enquire_link unanswered"]


async def test_an_outage_is_told_in_a_few_lines_and_its_end_once(
    smsc: Smsc, logs: list[dict[str, Any]]
) -> None:
    def failing() -> list[dict[str, Any]]:
        return [e for e in logs if e["event"] in ("bind failed", "bind still failing")]

    async with connector_to(smsc.port):
        await smsc.signal.wait_until(lambda: len(smsc.bound) == 1)
        await smsc.stop()
        await until(lambda: any(entry.get("failures") == 8 for entry in failing()))
        await smsc.start()
        await until(lambda: "bound again" in events(logs))
    lines = failing()
    assert [entry["event"] for entry in lines[:2]] == ["bind failed", "bind still failing"]
    assert lines[0]["reason"] == "connect error" and "failures" not in lines[0]
    counts = [entry["failures"] for entry in lines[1:]]
    assert counts[:3] == [2, 4, 8], "one line each time the failures double"
    (again,) = [entry for entry in logs if entry["event"] == "bound again"]
    assert again["failures"] >= counts[-1] and again["down_for"] > 0
    assert again["after"] == "connection lost", "the SMSC's stop dropped the bind first"
    assert all(count & (count - 1) == 0 for count in counts)


async def test_a_refused_bind_names_its_status(logs: list[dict[str, Any]]) -> None:
    smsc = Smsc()
    await smsc.start()
    async with connector_to(smsc.port, password="wrong"):
        await until(lambda: "bind failed" in events(logs))
    await smsc.stop()
    failed = next(entry for entry in logs if entry["event"] == "bind failed")
    assert (failed["reason"], failed["status"]) == ("bind refused", "ESME_RINVPASWD")


def test_outage_lines_double_and_recovery_reports_the_outage() -> None:
    now = [0.0]
    outage = Outage(lambda: now[0])
    assert outage.recovered() is None, "never down"
    told = []
    for failure in range(1, 20):
        now[0] = failure
        if outage.failed("connect error" if failure == 1 else "connect timeout"):
            told.append(outage.failures)
    assert told == [1, 2, 4, 8, 16]
    assert outage.recovered() == (19, 18.0, "connect error")
    outage.dropped("inactivity")
    now[0] = 25.0
    assert outage.recovered() == (0, 6.0, "inactivity")


def test_connect_failures_are_named() -> None:
    refused = CommandFailed(p.BindTransceiverResp(command_status=S.ESME_RBINDFAIL))
    assert connect_failure(refused) == {"reason": "bind refused", "status": "ESME_RBINDFAIL"}
    assert connect_failure(TimeoutError()) == {"reason": "connect timeout"}
    assert connect_failure(ConnectionRefusedError(111, "refused")) == {
        "reason": "connect error",
        "error": "[Errno 111] refused",
    }


# -- nothing in flight is lost ---------------------------------------------------


class DroppingSmsc(SimulatedSmsc):
    """The simulated operator, cutting every connection (TCP reset) after
    each ``every`` submit_sm it received, with the rest of the window on
    the wire; counts the submit_sm of each destination."""

    def __init__(self, config: SimulatorConfig, every: int) -> None:
        super().__init__(config)
        self.every = every
        self.seen: Counter[str] = Counter()
        self.drops = 0

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        super().request_received(connection, request)
        if isinstance(request, p.SubmitSm):
            self.seen[request.destination_addr] += 1
            if self.seen.total() % self.every == 0:
                self.drops += 1
                asyncio.get_running_loop().call_soon(self.drop_connections)


MESSAGES = 400
WINDOW = 20


async def test_a_link_cut_under_a_full_window_loses_nothing() -> None:
    """Every message is submitted once by the connector's account; the
    operator sees twice those whose submit_sm_resp was lost with the link."""
    config = SimulatorConfig(port=0, response_latency=Delay(fixed_ms=5, jitter_ms=10))
    operator = DroppingSmsc(config, every=97)
    await operator.start()
    async with connector_to(operator.port, window=WINDOW) as connector:
        listener = connector.listener
        assert isinstance(listener, Listener)
        for number in range(MESSAGES):
            connector.scheduler.push(message(number))
        await until(lambda: len(listener.submitted) == MESSAGES)
        assert connector.state().in_flight == 0
    await operator.stop()
    assert sorted(m.id for m in listener.submitted) == sorted(f"m{n}" for n in range(MESSAGES))
    assert not listener.failed
    assert set(operator.seen) == {message(n).destination_addr for n in range(MESSAGES)}
    assert operator.drops >= 3, "the link was cut several times under load"
    twice = sum(1 for count in operator.seen.values() if count > 1)
    print(
        f"\nduplicates: {twice} of {MESSAGES} messages ({twice / MESSAGES:.1%}) seen twice "
        f"by the operator over {operator.drops} cuts, window {WINDOW}"
    )
