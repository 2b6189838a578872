"""node-smpp as the operator's SMSC: a third-party SMPP stack at the far end of a connector.

The SMSC is ``node_smsc/smsc.js`` (npm package ``smpp``), a subprocess each
test starts on a free port and ends in a finally. It answers submit_sm with ids
in the form a test picks (upper or lower hex, zero-padded decimal), sends the
receipt as deliver_sm or data_sm, with the TLVs and/or the Appendix B text,
its id written as the operator's convention has it (another case, no leading
zeros, the decimal of a hex id or the hex of a decimal one), and sends MO as
deliver_sm or data_sm (message_payload). It prints a JSON line per event, so
the test sees what the SMSC received and the status smsgw answered each
receipt and MO with. The customer is aiosmpplib (tests/engine/peers.py).

Needs node (Node.js, on the machine) and ``npm install`` in node_smsc/
(.ci/run runs it); without them the tests skip and say so.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.constants import EsmClass
from smpp.receipt import STATES_BY_STAT, MessageState
from smpp.tlv import Tag
from tests.engine.gateway_harness import running_gateway
from tests.engine.peers import WAIT, AiosmpplibCustomer, aiosmpplib_message

SMSC_DIR = Path(__file__).parent / "node_smsc"
SMSC_SCRIPT = SMSC_DIR / "smsc.js"
TEXT = "Your code is 482913"
HANDSET = "33612345678"
TEST_LIMIT = 6 * WAIT
"""Seconds a whole test may take, the gateway's start and stop included: a
hang guard; the SMSC is still ended on the way out."""


def node_missing() -> str | None:
    """Why the node SMSC cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node (Node.js) is not on PATH: the node-smpp SMSC cannot run"
    if not (SMSC_DIR / "node_modules" / "smpp").is_dir():
        return f"node-smpp is not installed: run `npm install --no-audit --no-fund` in {SMSC_DIR}"
    return None


class NodeSmsc:
    """The node-smpp SMSC as a subprocess, with the `start`/`stop`/`port` of the
    simulated operators `running_gateway` takes."""

    def __init__(self, **options: str) -> None:
        self.options = {"password": "x", **options}
        self.port = 0
        self.events: list[dict[str, Any]] = []
        self.stderr = b""
        self._changed = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        arguments = [str(SMSC_SCRIPT), "--port", "0"]
        for name, value in self.options.items():
            arguments += [f"--{name.replace('_', '-')}", value]
        self._process = await asyncio.create_subprocess_exec(
            "node",
            *arguments,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        try:
            [listening] = await self.wait_for("listening")
        except BaseException:
            await self.stop()
            raise
        self.port = int(listening["port"])

    async def stop(self) -> None:
        """End the SMSC: EOF on its standard input, then a kill if it lingers."""
        process = self._process
        if process is None:
            return
        self._process = None
        try:
            if process.returncode is None:
                assert process.stdin is not None
                process.stdin.close()
                try:
                    await asyncio.wait_for(process.wait(), WAIT)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            if self._reader is not None:
                with suppress(asyncio.CancelledError):
                    await asyncio.wait_for(self._reader, WAIT)

    async def _read(self) -> None:
        assert self._process is not None
        stdout, stderr = self._process.stdout, self._process.stderr
        assert stdout is not None and stderr is not None

        async def errors() -> None:
            self.stderr = await stderr.read()

        collecting = asyncio.create_task(errors())
        try:
            while line := await stdout.readline():
                self.events.append(json.loads(line))
                self._changed.set()
        finally:
            await collecting
            self._changed.set()

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event]

    async def wait_for(
        self, event: str, condition: Callable[[list[dict[str, Any]]], bool] = bool
    ) -> list[dict[str, Any]]:
        """The ``event`` lines once ``condition`` holds for them (at most WAIT seconds)."""
        async with asyncio.timeout(WAIT):
            while not condition(found := self.of(event)):
                if self._reader is None or self._reader.done():
                    raise AssertionError(f"the node SMSC ended: {self.stderr.decode()!r}")
                self._changed.clear()
                await self._changed.wait()
        return found

    def send_mo(self, pdu: str, source: str, destination: str, text: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        command = {
            "command": "mo",
            "pdu": pdu,
            "source_addr": source,
            "destination_addr": destination,
            "text": text,
        }
        self._process.stdin.write(json.dumps(command).encode() + b"\n")


@pytest.fixture(autouse=True)
def _needs_node() -> None:
    reason = node_missing()
    if reason is not None:
        pytest.skip(reason)


CASES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    # name: (the node SMSC's options, the connector's settings; receipt_id
    # "auto" by default, which also converts between hex and decimal)
    "hex-deliver_sm-tlv-and-text": ({"resp_id": "hex"}, {}),
    "hex-data_sm-tlv-and-text": ({"resp_id": "hex", "receipt_pdu": "data_sm"}, {}),
    "hex-data_sm-text-only": (
        {"resp_id": "hex", "receipt_pdu": "data_sm", "receipt_form": "text"},
        {},
    ),
    "decimal-deliver_sm-text-only-undeliv": (
        {"resp_id": "decimal", "receipt_form": "text", "stat": "UNDELIV"},
        {},
    ),
    "decimal-deliver_sm-tlv-only-expired": (
        {"resp_id": "decimal", "receipt_form": "tlv", "stat": "EXPIRED"},
        {},
    ),
    "hex-upper-resp-lower-receipt": ({"resp_id": "hex", "receipt_id": "lower"}, {}),
    "hex-lower-resp-upper-receipt-data_sm": (
        {"resp_id": "hex-lower", "receipt_id": "upper", "receipt_pdu": "data_sm"},
        {},
    ),
    "decimal-resp-receipt-without-leading-zeros": (
        {"resp_id": "decimal", "receipt_id": "strip-zeros"},
        {},
    ),
    "resp-hex-receipt-decimal": (
        {"resp_id": "hex", "receipt_id": "decimal"},
        {"receipt_id": "resp_hex_receipt_decimal"},
    ),
    "resp-hex-receipt-decimal-data_sm-text-only": (
        {
            "resp_id": "hex",
            "receipt_id": "decimal",
            "receipt_pdu": "data_sm",
            "receipt_form": "text",
        },
        {"receipt_id": "resp_hex_receipt_decimal"},
    ),
    "resp-decimal-receipt-hex": (
        {"resp_id": "decimal", "receipt_id": "hex"},
        {"receipt_id": "resp_decimal_receipt_hex"},
    ),
    "resp-decimal-receipt-hex-data_sm": (
        {"resp_id": "decimal", "receipt_id": "hex", "receipt_pdu": "data_sm"},
        {"receipt_id": "resp_decimal_receipt_hex"},
    ),
    "auto-resp-hex-receipt-decimal": ({"resp_id": "hex", "receipt_id": "decimal"}, {}),
    "auto-resp-decimal-receipt-hex-data_sm": (
        {"resp_id": "decimal", "receipt_id": "hex", "receipt_pdu": "data_sm"},
        {},
    ),
    "exact-setting-same-id": ({"resp_id": "hex"}, {"receipt_id": "exact"}),
}


@asynccontextmanager
async def customer_of_gateway(
    backend: str, smsc: NodeSmsc, redis: Redis, namespace: str, settings: dict[str, Any]
) -> AsyncIterator[AiosmpplibCustomer]:
    """A gateway whose one connector binds to ``smsc`` (started and ended
    here, even when the gateway hangs or fails to start), and the customer
    "bank" bound to it with aiosmpplib; the whole within TEST_LIMIT."""
    try:
        async with (
            asyncio.timeout(TEST_LIMIT),
            running_gateway(
                backend,
                [smsc],  # type: ignore[list-item]  # start/stop/port, as a SimulatedSmsc
                redis,
                namespace,
                connector_settings=settings,
            ) as gw,
            AiosmpplibCustomer(gw.ports[0], "bank") as customer,
        ):
            yield customer
    finally:
        await smsc.stop()


@pytest.mark.parametrize("backend", ["memory", "redis"])
@pytest.mark.parametrize("case", CASES)
async def test_receipt_from_node_smsc_reaches_customer_with_our_id(
    backend: str, redis_client: Redis, namespace: str, case: str
) -> None:
    options, settings = CASES[case]
    stat = options.get("stat", "DELIVRD")
    smsc = NodeSmsc(**options)
    async with customer_of_gateway(backend, smsc, redis_client, namespace, settings) as customer:
        await customer.esme.broker.enqueue(aiosmpplib_message(TEXT, ucs2=False, udh_split=False))
        [submitted] = await smsc.wait_for("submit_sm")
        assert submitted["destination_addr"] == HANDSET and submitted["text"] == TEXT
        [receipt_resp] = await smsc.wait_for("receipt_resp")
        assert receipt_resp["command"] == f"{options.get('receipt_pdu', 'deliver_sm')}_resp"
        assert receipt_resp["command_status"] == S.ESME_ROK
        await customer.wait_until(lambda: len(customer.exchange().receipts) >= 1)
        [sent] = customer.exchange().sent
        [receipt] = customer.exchange().receipts
    assert sent.status == S.ESME_ROK and sent.message_id
    assert sent.message_id != submitted["message_id"]
    assert receipt.esm_class == EsmClass.DELIVERY_RECEIPT
    assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == sent.message_id
    assert receipt.tlvs[Tag.MESSAGE_STATE] == STATES_BY_STAT[stat]
    assert receipt.short_message.startswith(f"id:{sent.message_id} ".encode())
    assert f"stat:{stat}".encode() in receipt.short_message
    assert not smsc.of("error")


@pytest.mark.parametrize("pdu", ["deliver_sm", "data_sm"])
async def test_mo_from_node_smsc_reaches_customer(
    redis_client: Redis, namespace: str, pdu: str
) -> None:
    smsc = NodeSmsc()
    text = f"STOP via {pdu}"
    async with customer_of_gateway("memory", smsc, redis_client, namespace, {}) as customer:
        await smsc.wait_for("bind")
        smsc.send_mo(pdu, HANDSET, "36000", text)
        [answered] = await smsc.wait_for("mo_resp")
        assert answered["command"] == f"{pdu}_resp"
        assert answered["command_status"] == S.ESME_ROK

        def mo_arrived() -> bool:
            return any(isinstance(r, p.DeliverSm) for r in customer.log.incoming)

        await customer.wait_until(mo_arrived)
        [mo] = [r for r in customer.log.incoming if isinstance(r, p.DeliverSm)]
    assert not mo.esm_class & EsmClass.DELIVERY_RECEIPT
    assert mo.source_addr == HANDSET and mo.destination_addr == "36000"
    body = mo.short_message or mo.tlvs.get(Tag.MESSAGE_PAYLOAD, b"")
    assert body == text.encode()
    assert not smsc.of("error")


async def test_every_receipt_of_a_batch_answered_ok(redis_client: Redis, namespace: str) -> None:
    """Several messages in a row: node-smpp saw each submit once, smsgw
    answered each of its receipts ESME_ROK, and the customer got one receipt
    per message, each with our id."""
    smsc = NodeSmsc(resp_id="hex")
    count = 5
    async with customer_of_gateway("memory", smsc, redis_client, namespace, {}) as customer:
        for _ in range(count):
            await customer.esme.broker.enqueue(
                aiosmpplib_message(TEXT, ucs2=False, udh_split=False)
            )
        answered = await smsc.wait_for("receipt_resp", lambda found: len(found) >= count)
        await customer.wait_until(lambda: len(customer.exchange().receipts) >= count)
        exchange = customer.exchange()
    assert [a["command_status"] for a in answered] == [S.ESME_ROK] * count
    assert len({s["message_id"] for s in smsc.of("submit_sm")}) == count
    ours = sorted(s.message_id for s in exchange.sent)
    assert sorted(str(r.tlvs[Tag.RECEIPTED_MESSAGE_ID]) for r in exchange.receipts) == ours
    assert {r.tlvs[Tag.MESSAGE_STATE] for r in exchange.receipts} == {MessageState.DELIVERED}
