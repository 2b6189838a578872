"""Kannel as a customer of smsgw: its SMPP client binds to our listener.

Each test writes a Kannel config into its tmp dir (an ``smpp`` smsc group
pointing at smsgw's customer listener with a test account, a sendsms-user,
free loopback ports), starts bearerbox and smsbox itself and ends them in a
finally. A message goes in through Kannel's sendsms HTTP interface with a
dlr-mask and a dlr-url pointing at a local HTTP receiver; smsgw must hand it
to its (simulated) operator, and Kannel must match our receipt to it and call
the dlr-url with the final status.

Kannel keeps the smsc's message id as a C string by default; with
``msg-id-type`` it runs both ids (submit_sm_resp's and the receipt's) through
strtoll, hex or decimal, into a signed 64-bit number. Our hex ids have 20
digits and overflow it (every id becomes 9223372036854775807), so such a
customer needs the account's ``message_id_format = "decimal"``.

Needs Debian's ``kannel`` (.ci/run installs it); without it the tests skip
and say so.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from bench.e2e import free_port
from engine.customers.accounts import AccountConfig
from engine.gateway import Gateway
from tests.engine.gateway_harness import PASSWORD, PRICE, account
from tests.engine.peers import WAIT, RecordingSmsc, gateway_with, recording_operator
from tests.engine.webhook_receiver import ReceivedRequest, Receiver

START_WAIT = 15.0
"""Seconds Kannel may take to listen: a hang guard, never a timing assert."""
TEST_LIMIT = START_WAIT + 6 * WAIT
"""Seconds a whole round trip may take: a hang guard; Kannel is still ended."""
SYSTEM_ID = "bank"
HANDSET = "33612345678"
TEXT = "Your code is 482913"
DLR_DELIVERED = 1
DLR_BUFFERED = 4
DLR_SMSC_ACK = 8
FINAL_DLRS = {1, 2, 16}
"""Kannel's dlr-url %d: 1 delivered, 2 undelivered, 4 buffered (an
intermediate receipt), 8 SMSC ack (our submit_sm_resp), 16 SMSC nack."""
LLONG_MAX = str(2**63 - 1)
_SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])


def kannel_binary(name: str) -> str:
    found = shutil.which(name, path=_SBIN)
    if found is None:
        pytest.skip(f"Kannel is not installed ({name} not found): apt-get install kannel")
    return found


def decimal_ids() -> dict[str, str]:
    """The account setting for decimal ids, or a skip while AccountConfig lacks it."""
    if "message_id_format" not in AccountConfig.__struct_fields__:
        pytest.skip("AccountConfig has no message_id_format yet (decimal ids)")
    return {"message_id_format": "decimal"}


class Kannel:
    """bearerbox and smsbox, started from a config written into ``folder``."""

    def __init__(self, folder: Path, smpp_port: int, msg_id_type: str | None = None) -> None:
        self.folder = folder
        self.admin_port, self.box_port, self.sendsms_port = free_port(), free_port(), free_port()
        self.config = folder / "kannel.conf"
        self.config.write_text(self._config(smpp_port, msg_id_type))
        self._processes: list[asyncio.subprocess.Process] = []

    def _config(self, smpp_port: int, msg_id_type: str | None) -> str:
        log = self.folder
        id_type = f"msg-id-type = {msg_id_type}\n" if msg_id_type is not None else ""
        return f"""\
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = adminpw
smsbox-port = {self.box_port}
box-allow-ip = 127.0.0.1
log-file = "{log}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = smsgw
host = 127.0.0.1
port = {smpp_port}
transceiver-mode = true
smsc-username = {SYSTEM_ID}
smsc-password = {PASSWORD}
system-type = ""
enquire-link-interval = 30
reconnect-delay = 1
{id_type}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{log}/smsbox.log"
log-level = 0

group = sendsms-user
username = tester
password = foobar
"""

    async def start(self) -> None:
        try:
            await self._spawn("bearerbox")
            await self._listening(self.box_port)
            await self._spawn("smsbox")
            await self._listening(self.sendsms_port)
        except BaseException:
            await self.stop()
            raise

    async def _spawn(self, box: str) -> None:
        with open(self.folder / f"{box}.out", "wb") as output:
            process = await asyncio.create_subprocess_exec(
                kannel_binary(box),
                "-v",
                "1",
                str(self.config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.folder,
            )
        self._processes.append(process)

    async def _listening(self, port: int) -> None:
        """Until ``port`` accepts a connection; fails at once if a box died."""
        async with asyncio.timeout(START_WAIT):
            while True:
                for process in self._processes:
                    if process.returncode is not None:
                        raise AssertionError(f"a Kannel box ended:\n{self.logs()}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                with suppress(OSError):
                    await writer.wait_closed()
                return

    async def stop(self) -> None:
        """SIGTERM to smsbox then bearerbox, SIGKILL to whichever lingers."""
        for process in reversed(self._processes):
            if process.returncode is None:
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), WAIT)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._processes.clear()

    def logs(self) -> str:
        """The last lines each box wrote, for a failing test's message."""
        lines = []
        for name in ("bearerbox.out", "smsbox.out"):
            path = self.folder / name
            if path.exists():
                lines.append(f"--- {name}")
                lines += path.read_text(errors="replace").splitlines()[-40:]
        return "\n".join(lines)

    async def sendsms(self, http: httpx.AsyncClient, dlr_url: str, dlr_mask: int) -> None:
        """One message through the sendsms interface; Kannel queues it (202)."""
        params = {
            "username": "tester",
            "password": "foobar",
            "from": "MyBank",
            "to": HANDSET,
            "text": TEXT,
            "dlr-mask": str(dlr_mask),
            "dlr-url": dlr_url,
        }
        url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"
        response = await http.get(url, params=params)
        assert response.status_code == 202, (response.status_code, response.text)


@asynccontextmanager
async def running_kannel(
    folder: Path, gateway: Gateway, msg_id_type: str | None = None
) -> AsyncIterator[Kannel]:
    kannel = Kannel(folder, gateway.ports[0], msg_id_type)
    await kannel.start()
    try:
        yield kannel
    finally:
        await kannel.stop()


def dlr_url(receiver: Receiver) -> str:
    """Kannel fills in %d (the DLR type), %F (the smsc's message id, ours)
    and %A (the receipt's text) when it calls it."""
    return f"http://127.0.0.1:{receiver.port}/dlr?type=%d&smsc_id=%F&answer=%A"


async def dlr_calls(receiver: Receiver) -> list[ReceivedRequest]:
    """The dlr-url calls up to the first final one (delivered, undelivered, nack)."""
    async with asyncio.timeout(2 * WAIT):
        while not any(int(query(call, "type")) in FINAL_DLRS for call in receiver.requests):
            receiver.got_request.clear()
            await receiver.got_request.wait()
    return receiver.requests


def query(call: ReceivedRequest, name: str) -> str:
    return call.query.get(name, [""])[0]


async def round_trip(
    tmp_path: Path,
    backend: str,
    redis: Redis,
    namespace: str,
    receiver: Receiver,
    *,
    settings: dict[str, str],
    msg_id_type: str | None,
) -> tuple[RecordingSmsc, list[ReceivedRequest]]:
    """One message from Kannel with dlr-mask 31 (every kind of DLR, so
    registered_delivery 0x11: intermediate receipts too): what our operator
    got and the dlr-url calls up to the final one."""
    operator = recording_operator()
    accounts = (account(SYSTEM_ID, **settings),)
    async with (
        asyncio.timeout(TEST_LIMIT),
        gateway_with(
            backend, [operator], redis, namespace, accounts=accounts, credit=10 * PRICE
        ) as gateway,
        running_kannel(tmp_path, gateway, msg_id_type) as kannel,
        httpx.AsyncClient(timeout=WAIT) as http,
    ):
        await kannel.sendsms(http, dlr_url(receiver), dlr_mask=31)
        try:
            calls = await dlr_calls(receiver)
        except TimeoutError:
            raise AssertionError(f"no final DLR from Kannel:\n{kannel.logs()}") from None
        await operator.wait_until(lambda: len(operator.submitted) >= 1)
    return operator, calls


def check_dlrs(calls: list[ReceivedRequest]) -> str:
    """The SMSC ack, any intermediate (ENROUTE) DLRs, then the delivered one,
    all for our message id: returns the id as Kannel wrote it (%F)."""
    ack, *intermediate, final = calls
    assert int(query(ack, "type")) == DLR_SMSC_ACK
    assert {int(query(call, "type")) for call in intermediate} <= {DLR_BUFFERED}
    assert int(query(final, "type")) == DLR_DELIVERED
    assert "stat:DELIVRD" in query(final, "answer")
    ids = {query(call, "smsc_id") for call in calls}
    assert len(ids) == 1 and "" not in ids
    return ids.pop()


def check_submitted(operator: RecordingSmsc) -> None:
    [submit] = operator.submitted
    assert submit.destination_addr == HANDSET
    assert submit.short_message == TEXT.encode()
    assert submit.registered_delivery & 0x03


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_kannel_gets_final_dlr_for_our_hex_id(
    tmp_path: Path, backend: str, redis_client: Redis, namespace: str, receiver: Receiver
) -> None:
    """Kannel's default: the smsc's ids are C strings, kept as they are."""
    kannel_binary("bearerbox")
    operator, calls = await round_trip(
        tmp_path, backend, redis_client, namespace, receiver, settings={}, msg_id_type=None
    )
    check_submitted(operator)
    our_id = check_dlrs(calls)
    assert len(our_id) >= 20 and int(our_id, 16) >= 0
    assert f"id:{our_id} " in query(calls[1], "answer")


@pytest.mark.parametrize("msg_id_type", ["0x00", None])
async def test_kannel_gets_final_dlr_for_our_decimal_id(
    tmp_path: Path, redis_client: Redis, namespace: str, receiver: Receiver, msg_id_type: str | None
) -> None:
    """An account with decimal ids: Kannel with msg-id-type 0x00 (decimal
    in both PDUs) reads them as numbers, and they fit its signed 64 bits."""
    kannel_binary("bearerbox")
    operator, calls = await round_trip(
        tmp_path,
        "memory",
        redis_client,
        namespace,
        receiver,
        settings=decimal_ids(),
        msg_id_type=msg_id_type,
    )
    check_submitted(operator)
    our_id = check_dlrs(calls)
    assert our_id.isdigit() and int(our_id) < 2**63
    assert f"id:{our_id} " in query(calls[1], "answer")


async def test_kannel_with_msg_id_type_overflows_our_hex_ids(
    tmp_path: Path, redis_client: Redis, namespace: str, receiver: Receiver
) -> None:
    """Why decimal ids exist: Kannel with msg-id-type 0x03 (hex in both PDUs)
    runs our 20-digit hex id through strtoll, which saturates at LLONG_MAX.
    One message still gets its DLR (both ids saturate alike), but every
    message in flight shares that one key in Kannel's DLR store."""
    kannel_binary("bearerbox")
    _, calls = await round_trip(
        tmp_path, "memory", redis_client, namespace, receiver, settings={}, msg_id_type="0x03"
    )
    assert check_dlrs(calls) == LLONG_MAX
