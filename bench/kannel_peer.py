"""Kannel (Debian's package, 1.4.5) as the peer of `bench.http`'s count mode.

Kannel is never part of this repository. As root, install it without letting
the package start its own service (a ``policy-rc.d`` that exits 101 tells
invoke-rc.d no), as ``.ci/run`` does::

    printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y --no-install-recommends kannel
    rm /usr/sbin/policy-rc.d

`kannel_peer` writes a ``kannel.conf`` in a scratch directory: a bearerbox
with SMPP transceiver binds to the simulated operator (as many binds and as
large a window as our connector has, the operator's hex message ids read as
hex in both submit_sm_resp and deliver_sm: ``msg-id-type = 0x03``), and an
smsbox with one sendsms-user; then it starts both boxes and waits until every
bind is online. Both log at warning level to files and nothing to stderr
(smsbox logs every sendsms call at info level; our engine logs none).

Kannel keeps its delivery-report store in memory (``dlr-storage = internal``,
its default) and, by default here, its message queue too: a restart loses
every message not yet sent and every report not yet matched, and it holds no
credit for a message. smsgw in the comparison commits each accept to Redis,
holds its price and persists it to PostgreSQL, so the two do not do the same
work for a message; `setup` says so in the report. ``store=True`` gives
bearerbox its message store (``store-type = file``): each message it takes
is written to a file before it is sent, so a restart resends what was queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.e2e import Child, free_port

USERNAME = "bench"
PASSWORD = "benchpw"
ADMIN_PASSWORD = "benchadmin"
SMSC_ID = "sim"
LOG_LEVEL = 2
"""Kannel's warning level (0 debug .. 4 panic), in its log files."""
STDERR_LEVEL = 4
"""Panic only on stderr (``-v``): every line written there is work the bench would count."""
START_TIMEOUT = 30.0
POLL_SECONDS = 0.2
_LEVELS = ("WARNING:", "ERROR:", "PANIC:")
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
INSTALL_HINT = (
    "Kannel is not installed (no bearerbox/smsbox in PATH or /usr/sbin); as root: "
    "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && "
    "chmod +x /usr/sbin/policy-rc.d && "
    "apt-get install -y --no-install-recommends kannel; rm /usr/sbin/policy-rc.d "
    "(the policy keeps the package from starting its own service)"
)
SETUP = {
    "processes": "bearerbox (SMPP binds, queues, DLR store), smsbox (sendsms, dlr-url calls)",
    "dlr_storage": "internal (memory): Kannel's default; reports pending at a restart are lost",
    "message_store": "none: messages queued in bearerbox are lost at a restart",
    "billing": "none: Kannel holds no credit per message",
    "log_level": f"{LOG_LEVEL} (warning) to files, nothing to stderr",
    "msg_id_type": "0x03 (the operator's ids are hex in submit_sm_resp and deliver_sm)",
}
FILE_STORE = (
    "file: bearerbox writes each message it takes to its store file, resent after a restart"
)


def setup(store: bool) -> dict[str, str]:
    """What the report says of this Kannel's configuration."""
    return SETUP | {"message_store": FILE_STORE} if store else dict(SETUP)


class PeerUnavailable(RuntimeError):
    """Kannel cannot run here; the text says why."""


def binaries() -> tuple[str, str]:
    """bearerbox and smsbox, or `PeerUnavailable` with how to install them."""
    found = [
        shutil.which(name) or shutil.which(name, path=":".join(_SBIN))
        for name in ("bearerbox", "smsbox")
    ]
    if None in found:
        raise PeerUnavailable(INSTALL_HINT)
    bearerbox, smsbox = found
    assert bearerbox is not None and smsbox is not None
    return bearerbox, smsbox


def version() -> str:
    """The installed package's version, or "" where dpkg cannot say."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        answer = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "kannel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return answer.stdout.strip()
    return ""


@dataclass
class KannelPorts:
    admin: int = field(default_factory=lambda: free_port())
    box: int = field(default_factory=lambda: free_port())
    sendsms: int = field(default_factory=lambda: free_port())


def kannel_config(
    directory: Path,
    ports: KannelPorts,
    operator_port: int,
    binds: int,
    window: int,
    store: bool = False,
) -> str:
    """bearerbox with ``binds`` transceivers of ``window`` each to the operator
    (and its message store in ``directory`` with ``store``), and an smsbox
    with the bench's sendsms-user."""
    stored = f'store-type = file\nstore-location = "{directory}/kannel.store"\n' if store else ""
    smsc = f"""\
group = smsc
smsc = smpp
smsc-id = {SMSC_ID}
host = 127.0.0.1
port = {operator_port}
transceiver-mode = true
smsc-username = smsgw
smsc-password = bench
system-type = ""
max-pending-submits = {window}
msg-id-type = 0x03
enquire-link-interval = 30
reconnect-delay = 1
"""
    # One group per bind, all with the same smsc-id: a report arriving on any
    # bind finds its message in the one store (Kannel matches by smsc-id and id).
    smscs = "\n".join([smsc] * binds)
    return f"""\
group = core
admin-port = {ports.admin}
admin-interface = 127.0.0.1
admin-password = {ADMIN_PASSWORD}
smsbox-port = {ports.box}
box-allow-ip = 127.0.0.1
log-file = "{directory}/bearerbox.log"
log-level = {LOG_LEVEL}
dlr-storage = internal
{stored}
{smscs}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports.box}
sendsms-port = {ports.sendsms}
sendsms-interface = 127.0.0.1
log-file = "{directory}/smsbox.log"
log-level = {LOG_LEVEL}

group = sendsms-user
username = {USERNAME}
password = {PASSWORD}
max-messages = 1
"""


@dataclass
class RunningKannel:
    """What the bench needs of a running Kannel: where to send, and whose CPU counts."""

    url: str
    username: str
    password: str
    processes: dict[str, Child]
    directory: Path

    def log_problems(self, samples: int = 5) -> dict[str, Any]:
        """Warnings and errors the boxes logged, by level, with the first few
        lines: a report Kannel could not match shows here."""
        counts: Counter[str] = Counter()
        first: list[str] = []
        for name in ("bearerbox.log", "smsbox.log"):
            path = self.directory / name
            for line in path.read_text(errors="replace").splitlines() if path.exists() else ():
                level = next((word for word in _LEVELS if word in line), None)
                if level is not None:
                    counts[f"{name.split('.')[0]} {level}"] += 1
                    if len(first) < samples:
                        first.append(line)
        return {"counts": dict(counts), "first": first}

    def log_tail(self, lines: int = 20) -> str:
        found = []
        for name in ("bearerbox.log", "smsbox.log"):
            path = self.directory / name
            if path.exists():
                found += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(found)


async def _online_binds(client: httpx.AsyncClient) -> int:
    """SMSC connections the admin status page shows online."""
    answer = await client.get("/status.txt", params={"password": ADMIN_PASSWORD})
    return answer.text.count("(online")


def _check_running(boxes: list[Child]) -> None:
    for box in boxes:
        if box.process is not None and box.process.returncode is not None:
            raise PeerUnavailable(f"{box.name} exited: {box.diagnosis()}")


async def _wait_listening(port: int, box: Child) -> None:
    while True:
        _check_running([box])
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(POLL_SECONDS)


async def _wait_ready(ports: KannelPorts, binds: int, boxes: list[Child]) -> None:
    """Until every bind is online and smsbox answers sendsms."""
    admin = f"http://127.0.0.1:{ports.admin}"
    async with httpx.AsyncClient(base_url=admin, timeout=5) as client:
        while True:
            _check_running(boxes)
            with contextlib.suppress(httpx.HTTPError):
                if await _online_binds(client) >= binds:
                    probe = f"http://127.0.0.1:{ports.sendsms}/cgi-bin/sendsms"
                    # No recipient: Kannel answers 4xx without sending anything.
                    await client.get(probe, params={"username": USERNAME})
                    return
            await asyncio.sleep(POLL_SECONDS)


@contextlib.asynccontextmanager
async def kannel_peer(
    operator_port: int, binds: int, window: int, store: bool = False
) -> AsyncIterator[RunningKannel]:
    """bearerbox and smsbox, bound to the operator at ``operator_port``; stopped after."""
    bearerbox, smsbox = binaries()
    with tempfile.TemporaryDirectory(prefix="smsgw-kannel-") as scratch:
        directory = Path(scratch)
        ports = KannelPorts()
        config = directory / "kannel.conf"
        config.write_text(kannel_config(directory, ports, operator_port, binds, window, store))
        boxes = [Child("bearerbox"), Child("smsbox")]
        try:
            try:
                async with asyncio.timeout(START_TIMEOUT):
                    await boxes[0].start([bearerbox, "-v", str(STDERR_LEVEL), str(config)])
                    await _wait_listening(ports.box, boxes[0])  # else smsbox gives up
                    await boxes[1].start([smsbox, "-v", str(STDERR_LEVEL), str(config)])
                    await _wait_ready(ports, binds, boxes)
            except TimeoutError:
                logs = RunningKannel("", "", "", {}, directory).log_tail()
                raise PeerUnavailable(
                    f"Kannel did not start and bind within {START_TIMEOUT} s: {logs}"
                ) from None
            yield RunningKannel(
                f"http://127.0.0.1:{ports.sendsms}",
                USERNAME,
                PASSWORD,
                {box.name: box for box in boxes},
                directory,
            )
        finally:
            for box in reversed(boxes):  # smsbox first: bearerbox then has no box to wait for
                if box.process is not None:
                    with contextlib.suppress(RuntimeError):
                        await box.stop()
