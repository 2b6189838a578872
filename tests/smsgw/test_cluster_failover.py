"""A Redis Cluster master failed over, then killed, under SMPP load on `smsgw serve`.

While the slot of the account's ledger bucket moves to another node, the
gateway answers ESME_RTHROTTLED (nothing was accepted, come back soon), never
ESME_RSYSERR, and carries on once the slot is served again. Afterwards every
message the customer saw accepted reached the operator (the operator's
submit_sm_resp captured its hold) and its delivery receipt came back to the
customer, even those whose first attempt hit the failover, no charge is lost or doubled (the balance
is the credit less one price per accepted message, nothing stays held), and
`smsgw ledger reconcile` finds PostgreSQL (fed by the shard's persister)
agreeing with Redis.

The cluster is this test's own (`bench.redis_cluster`): it is left with a node
killed. Every wait is on a condition with a generous deadline, never a timing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bench.redis_cluster import LocalCluster
from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, ReceiptSettings, SimulatorConfig
from engine.customers.passwords import hash_password
from ledger.config import LedgerConfig
from ledger.layout import LedgerKeys
from ledger.redis_ledger import RedisLedger
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smsgw.cli import main
from tests.cluster import client_for
from tests.smsgw.output import read_until
from tests.smsgw.test_crash_receipts import CONFIG, Customer
from tests.smsgw.test_serve import free_port

CREDIT = 10**9
PRICE = 100
"""The tariff's price of one part to prefix 33 (`CONFIG`)."""
BETWEEN = 300
"""Messages accepted before, between and after the two failovers."""
WAIT = 60.0
"""Seconds any wait may take before the test fails: a hang guard, never a timing assert."""
TEMPORARY = {S.ESME_RTHROTTLED}


class Load:
    """A customer submitting without pause, 50 in flight, each message
    again after a temporary refusal until accepted."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.stopping = asyncio.Event()

    async def run(self, connection: SmppConnection) -> None:
        await asyncio.gather(*(self._sender(connection, lane) for lane in range(50)))

    async def _sender(self, connection: SmppConnection, lane: int) -> None:
        n = lane
        while not self.stopping.is_set():
            message = p.SubmitSm(
                source_addr="BANK",
                destination_addr=f"3361{n:07d}",
                short_message=b"Your code is 123456",
                registered_delivery=1,
            )
            response = await connection.request(message)
            self.statuses[response.command_status] += 1
            if response.command_status == S.ESME_ROK:
                self.accepted.append(response.message_id)  # type: ignore[attr-defined]
                n += 50
            elif response.command_status in TEMPORARY:
                await asyncio.sleep(0.05)
            else:
                return  # a wrong answer: the test fails on the statuses

    async def accepted_more(self, count: int) -> None:
        target = len(self.accepted) + count
        async with asyncio.timeout(WAIT):
            while len(self.accepted) < target:
                await asyncio.sleep(0.02)


@asynccontextmanager
async def serving(
    config: Path, redis_url: str, database_url: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "SMSGW_REDIS_URL": redis_url, "SMSGW_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    drain = None
    try:
        async with asyncio.timeout(30):
            await read_until(process.stdout, b"gateway started")
        drain = asyncio.get_running_loop().create_task(process.stdout.read())
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if drain is not None:
            drain.cancel()


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    """This test's own cluster: it ends with a node killed."""
    with LocalCluster() as started:
        yield started


async def test_a_master_failed_over_then_killed_under_load_loses_and_doubles_nothing(
    tmp_path: Path, cluster: LocalCluster, database_url: str
) -> None:
    namespace = "failover"
    keys = LedgerKeys(namespace, LedgerConfig().buckets)
    master = cluster.master_of(keys.account("bank"))
    replica = cluster.replica_of(master)
    seed = next(port for port in cluster.ports if port not in (master, replica))
    redis_url = f"redis://127.0.0.1:{seed}/0"
    redis = await client_for(redis_url)
    ledger = RedisLedger(redis, LedgerConfig(namespace=namespace))
    smsc = SimulatedSmsc(SimulatorConfig(port=0, receipts=ReceiptSettings(delay=Delay(20))))
    port = free_port()
    config = tmp_path / "smsgw.toml"
    customer, load = Customer(), Load()
    try:
        async with smsc:
            password_hash = hash_password("secret", log2_n=10)
            settings = {"port": port, "namespace": namespace, "smsc_port": smsc.port}
            config.write_text(CONFIG.format(password_hash=password_hash, **settings))
            async with serving(config, redis_url, database_url) as process:
                await ledger.adjust("bank", CREDIT, reason="test credit", reference="credit")
                bind = p.BindTransceiver(system_id="bank", password="secret")
                connection = await open_session("127.0.0.1", port, bind, customer)
                sending = asyncio.get_running_loop().create_task(load.run(connection))
                await load.accepted_more(BETWEEN)
                with cluster.client(replica) as node:  # graceful: the slot moves to it
                    node.execute_command("CLUSTER", "FAILOVER")
                await asyncio.to_thread(_wait_master, cluster, replica)
                await load.accepted_more(BETWEEN)
                cluster.kill(replica)  # now the master: its replica (the first) takes over
                await asyncio.to_thread(_wait_master, cluster, master)
                await load.accepted_more(BETWEEN)
                load.stopping.set()
                await asyncio.wait_for(sending, WAIT)
                async with asyncio.timeout(WAIT):  # every accepted message settles
                    while not customer.receipts.issuperset(load.accepted):
                        await asyncio.sleep(0.05)
                    while (state := await ledger.get_account("bank")) is None or state.held:
                        await asyncio.sleep(0.05)
                process.send_signal(signal.SIGTERM)  # the persister drains what is left
                assert await asyncio.wait_for(process.wait(), WAIT) == 0
        assert set(load.statuses) <= {S.ESME_ROK, *TEMPORARY}, load.statuses
        assert len(set(load.accepted)) == len(load.accepted) >= 3 * BETWEEN
        # Charged on the operator's submit_sm_resp (charge_on submit): each
        # accepted message reached the operator and was captured exactly once.
        assert state.balance == CREDIT - PRICE * len(load.accepted)
        assert smsc.stats.responses.get(S.ESME_ROK, 0) >= len(load.accepted)
        command = ["ledger", "reconcile", "--redis-url", redis_url, "--database-url"]
        reconcile = [*command, database_url, "--namespace", namespace]
        assert await asyncio.to_thread(main, reconcile) == 0
    finally:
        await redis.aclose()


def _wait_master(cluster: LocalCluster, port: int) -> None:
    """Until ``port`` is a master and every running node says the cluster is ok."""
    deadline = time.monotonic() + WAIT
    while port not in cluster.masters():
        assert time.monotonic() < deadline, f"node {port} never became a master"
        time.sleep(0.05)
    cluster.wait_ok()
