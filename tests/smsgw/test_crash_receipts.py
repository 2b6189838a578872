"""kill -9 of `smsgw serve` while receipts flow: no receipt and no final state lost.

An operator's receipt is answered only once its effect (the message's new
state, its event, the receipt waiting for the customer) is in Redis, so what
a crash interrupts is sent again by the operator (the simulated SMSC resends
a deliver_sm lost with its connection, as SMSCs do) or by the restarted shard.
The crash is made to hit that window for sure: Redis pauses writes (CLIENT
PAUSE WRITE) for the last moments before the kill, while receipts keep coming.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis

from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, ReceiptSettings, SimulatorConfig
from engine.customers.passwords import hash_password
from ledger.config import LedgerConfig
from ledger.events import MessageEvent, MessageState, decode_events
from ledger.redis_ledger import RedisLedger
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smpp.tlv import Tag
from tests.services import REDIS_URL, delete_namespace, random_namespace
from tests.smsgw.output import read_until
from tests.smsgw.test_serve import free_port

MESSAGES = 3_000
WAIT = 60.0
"""Seconds any wait may take before the test fails: a hang guard, never a timing assert."""

CONFIG = """
shard = "crash-test"

[[listeners]]
port = {port}

[ledger]
namespace = "{namespace}"

[[accounts]]
id = "bank"
password_hash = "{password_hash}"
window = 50

[[connectors]]
id = "op"
host = "127.0.0.1"
port = {smsc_port}
system_id = "smsgw"
throughput = 5000
window = 50
reconnect_delay = 0.05
reconnect_delay_max = 0.2

[routing]
currency = "EUR"
connectors = {{ op = {{}} }}
tariffs = {{ retail = {{ rates = [{{ prefix = "33", price = 100 }}] }} }}

[[routing.mt_routes]]
id = "fr"
sell_tariff = "retail"
filters = {{ destination_prefix = ["33"] }}
target = {{ kind = "failover", connectors = ["op"] }}
"""


class Customer:
    """Collects our receipts by message id; answers every deliver_sm OK."""

    def __init__(self) -> None:
        self.receipts: set[str] = set()

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        connection.respond(p.response_to(request))
        if isinstance(request, p.DeliverSm) and request.esm_class & 0x04:
            message_id = request.tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
            if isinstance(message_id, str):
                self.receipts.add(message_id)

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        pass


@asynccontextmanager
async def gateway_process(config: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "SMSGW_REDIS_URL": REDIS_URL}
    env.pop("SMSGW_DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config), "--no-database",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            await read_until(process.stdout, b"gateway started")
        # Keep reading, or a full pipe would block the gateway's logging.
        drain = asyncio.get_running_loop().create_task(process.stdout.read())
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        drain.cancel()


async def bind(port: int, customer: Customer) -> SmppConnection:
    request = p.BindTransceiver(system_id="bank", password="secret")
    async with asyncio.timeout(WAIT):
        while True:
            try:
                return await open_session("127.0.0.1", port, request, customer)
            except OSError:
                await asyncio.sleep(0.05)


async def submit_all(connection: SmppConnection) -> list[str]:
    """Every message, 50 at a time; the ids of those accepted."""
    accepted: list[str] = []
    window = asyncio.Semaphore(50)

    async def one(n: int) -> None:
        async with window:
            message = p.SubmitSm(
                source_addr="BANK",
                destination_addr=f"3361{n:07d}",
                short_message=b"Your code is 123456",
                registered_delivery=1,
            )
            response = await connection.request(message)
            if response.command_status == S.ESME_ROK:
                accepted.append(response.message_id)  # type: ignore[attr-defined]

    await asyncio.gather(*(one(n) for n in range(MESSAGES)))
    return accepted


async def final_states(redis: Redis, namespace: str) -> dict[str, MessageState]:
    """The latest state of every message, read from the ledger's event stream."""
    keys = RedisLedger(redis, LedgerConfig(namespace=namespace)).keys
    bucket = keys.bucket_of("bank")
    states: dict[str, MessageState] = {}
    for entry_id, raw in await redis.xrange(keys.events(bucket)):
        for event in decode_events(bucket, entry_id.decode(), raw):
            if isinstance(event, MessageEvent):
                states[event.message_id] = event.state
    return states


async def test_kill_9_while_receipts_flow_loses_no_receipt_and_no_final_state(
    tmp_path: Path,
) -> None:
    namespace = random_namespace()
    redis = Redis.from_url(REDIS_URL)
    ledger = RedisLedger(redis, LedgerConfig(namespace=namespace))
    receipts = ReceiptSettings(delay=Delay(fixed_ms=50, jitter_ms=2_000))
    smsc = SimulatedSmsc(SimulatorConfig(port=0, receipts=receipts, deliver_window=10))
    port = free_port()
    config = tmp_path / "smsgw.toml"
    customer = Customer()
    try:
        async with smsc:
            password_hash = hash_password("secret", log2_n=10)
            settings = {"port": port, "namespace": namespace, "smsc_port": smsc.port}
            config.write_text(CONFIG.format(password_hash=password_hash, **settings))
            async with gateway_process(config) as first:
                await ledger.adjust("bank", 10**9, reason="test credit", reference="credit")
                connection = await bind(port, customer)
                accepted = await submit_all(connection)
                async with asyncio.timeout(WAIT):
                    while len(customer.receipts) < len(accepted) // 4:
                        await asyncio.sleep(0.01)
                # Redis holds every write for a moment (reads go on, receipts
                # keep coming and are matched), then the gateway dies: what it
                # had taken in that moment was never committed.
                await redis.execute_command("CLIENT", "PAUSE", "2000", "WRITE")
                try:
                    await asyncio.sleep(0.3)
                    first.send_signal(signal.SIGKILL)
                    await first.wait()
                finally:
                    await redis.execute_command("CLIENT", "UNPAUSE")
            before = len(customer.receipts)
            async with gateway_process(config):
                await bind(port, customer)
                async with asyncio.timeout(WAIT):
                    while not customer.receipts.issuperset(accepted):
                        await asyncio.sleep(0.05)
                states = await final_states(redis, namespace)
                async with asyncio.timeout(WAIT):
                    while any(states.get(m) != MessageState.DELIVERED for m in accepted):
                        await asyncio.sleep(0.1)
                        states = await final_states(redis, namespace)
        # Messages were accepted, the crash hit in the middle of their receipts,
        # and every one still ended delivered, for the customer and in the history.
        assert len(accepted) > MESSAGES // 2
        assert 0 < before < len(accepted)
    finally:
        await delete_namespace(redis, namespace)
        await redis.aclose()
