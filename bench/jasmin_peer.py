"""The real Jasmin (0.11.1, from PyPI) as `bench.http`'s peer, set up from scratch.

Jasmin is never part of this repository: it runs from its own venv, made once
with ``python3.11 -m venv /tmp/jasmin-venv && /tmp/jasmin-venv/bin/pip install
jasmin==0.11.1``. It needs RabbitMQ (127.0.0.1:5672, guest/guest) and Redis
(127.0.0.1:6379; it gets database `REDIS_DB`, nothing else is touched).

`jasmin_target` writes a ``jasmin.cfg`` in a scratch directory (free ports,
its own store and log paths, the AMQP spec that txAMQP ships), starts
``jasmind.py`` (its HTTP API, jCli, and its SMPP server, idle, which jCli
needs), then configures it over jCli the way an operator would: a group,
a user with a balance, an SMPP client connector to a fresh simulated operator
with no throughput limit, a default MT route with a price per message, and
starts the connector. Jasmin logs at `LOG_LEVEL` with no HTTP access log: its
default (INFO) writes a line per message, which our engine does not, so the
comparison would measure logging.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from bench.e2e import Child, free_port
from bench.http import DRAIN_TIMEOUT, POLL_SECONDS, START_TIMEOUT, Target, operator

JASMIN_VERSION = "0.11.1"
SCENARIOS = ("send-get", "send-post")
"""Jasmin's HTTP API has no batch send: its /send takes one recipient."""
LOG_LEVEL = "WARNING"
REDIS_DB = 7
USERNAME = "bench"
PASSWORD = "benchpw"
CONNECTOR_ID = "smsgwbench"
RATE = "0.04"
"""Price per message on the route, as the demo account pays on ours, so Jasmin
charges its user's balance on every message as our ledger holds credit."""
BALANCE = "100000000"
JCLI_USER, JCLI_PASSWORD = "jcliadmin", "jclipwd"
"""jCli's default admin (its config holds the MD5 of this password)."""
SETUP = {
    "version": JASMIN_VERSION,
    "processes": "one jasmind (HTTP API, router, SMPP client manager), RabbitMQ, Redis",
    "log_level": LOG_LEVEL,
    "http_access_log": False,
    "route_rate": RATE,
    "connector_submit_throughput": "0 (unlimited)",
}
_PROMPTS = ("jcli : ", "> ")
_TELNET_COMMAND = re.compile(rb"\xff\xfa.*?\xff\xf0|\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", re.DOTALL)
_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_JCLI_ERRORS = ("Error", "Unknown", "Incorrect", "not found", "Cannot", "must set", "Nothing to")
_METRIC = re.compile(r'^(httpapi_success_count|smppc_submit_sm_count\{cid="[^"]+"\}) (\S+)$', re.M)


class PeerUnavailable(RuntimeError):
    """Jasmin cannot run here; the text says why (the error it gave)."""


class JCli:
    """A jCli session over its telnet port: one command, its answer up to the prompt."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def login(cls, port: int) -> JCli:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = cls(reader, writer)
        await session._until(("\n",))  # "Authentication required."; no prompt shown
        await session.send(JCLI_USER, ("Password: ",))
        answer = await session.send(JCLI_PASSWORD)
        if "Incorrect" in answer:
            raise PeerUnavailable(f"jCli refused its default admin: {answer}")
        return session

    async def send(self, line: str, prompts: tuple[str, ...] = _PROMPTS) -> str:
        self.writer.write(line.encode() + b"\r\n")
        return await self._until(prompts)

    async def run(self, lines: list[str]) -> None:
        """Each line in turn; an answer that reports a problem stops the setup."""
        for line in lines:
            answer = await self.send(line)
            if any(word in answer for word in _JCLI_ERRORS):
                raise PeerUnavailable(f"jCli {line!r}: {answer.strip()}")

    async def _until(self, prompts: tuple[str, ...]) -> str:
        text = ""
        async with asyncio.timeout(START_TIMEOUT):
            while not text.endswith(prompts):
                chunk = await self.reader.read(65_536)
                if not chunk:
                    raise PeerUnavailable(f"jCli closed the session after: {text!r}")
                text += _ESCAPE.sub("", _TELNET_COMMAND.sub(b"", chunk).decode("latin-1"))
        return text

    async def close(self) -> None:
        with contextlib.suppress(OSError):
            self.writer.write(b"quit\r\n")
            self.writer.close()
            await self.writer.wait_closed()


def setup_commands(operator_port: int) -> list[str]:
    """The jCli lines that make Jasmin send every message to the simulated operator."""
    return [
        "group -a", f"gid {USERNAME}", "ok",
        "user -a", f"uid {USERNAME}", f"gid {USERNAME}", f"username {USERNAME}",
        f"password {PASSWORD}", f"mt_messaging_cred quota balance {BALANCE}", "ok",
        "smppccm -a", f"cid {CONNECTOR_ID}", "host 127.0.0.1", f"port {operator_port}",
        "username smsgw", "password sim", "submit_throughput 0", "loglevel 30", "ok",
        "mtrouter -a", "type DefaultRoute", f"connector smppc({CONNECTOR_ID})",
        f"rate {RATE}", "ok",
        f"smppccm -1 {CONNECTOR_ID}",
    ]  # fmt: skip


def jasmin_config(directory: Path, ports: dict[str, int], amqp_spec: Path) -> str:
    sections: dict[str, dict[str, object]] = {
        "jcli": {"bind": "127.0.0.1", "port": ports["jcli"]},
        "http-api": {"bind": "127.0.0.1", "port": ports["http"], "access_log": "None"},
        "router": {"bind": "127.0.0.1", "port": ports["router"]},
        "client-management": {"bind": "127.0.0.1", "port": ports["client-management"]},
        "sm-listener": {},
        "smpp-server": {"bind": "127.0.0.1", "port": ports["smpp-server"]},
        "smpp-server-pb": {"bind": "127.0.0.1", "port": ports["smpp-server-pb"]},
        "redis-client": {"host": "127.0.0.1", "port": 6379, "dbid": REDIS_DB},
        "amqp-broker": {"host": "127.0.0.1", "port": 5672, "spec": amqp_spec},
    }
    lines = []
    for name, options in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in options.items()]
        lines += [f"log_level = {LOG_LEVEL}", f"log_file = {directory / (name + '.log')}", ""]
    return "\n".join(lines)


def _check_service(name: str, port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        raise PeerUnavailable(f"Jasmin needs {name} at 127.0.0.1:{port}: {exc}") from None


def _installed(venv: Path) -> tuple[Path, Path, Path]:
    """The venv's python, jasmind.py and the AMQP 0-9-1 spec txAMQP ships."""
    python, daemon = venv / "bin" / "python", venv / "bin" / "jasmind.py"
    if not daemon.exists():
        raise PeerUnavailable(
            f"no Jasmin in {venv}: python3.11 -m venv {venv} && "
            f"{venv}/bin/pip install jasmin=={JASMIN_VERSION}"
        )
    specs = sorted(venv.glob("lib/python*/site-packages/txamqp/specs/standard/amqp0-9-1*.xml"))
    if not specs:
        raise PeerUnavailable(f"txAMQP's amqp0-9-1 spec is not in {venv}")
    return python, daemon, specs[0]


def _process_named(command: str) -> int | None:
    """The pid of a process by its command name, to read its CPU (RabbitMQ's beam.smp)."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == command:
                return int(entry.name)
    return None


class JasminTarget(Target):
    async def drained(self) -> None:
        """Until the connector has submitted every message the HTTP API accepted."""
        async with httpx.AsyncClient(base_url=self.url) as client, asyncio.timeout(DRAIN_TIMEOUT):
            while True:
                found = dict(_METRIC.findall((await client.get("/metrics")).text))
                accepted = float(found.get("httpapi_success_count", 0))
                submitted = sum(float(v) for k, v in found.items() if k.startswith("smppc_"))
                if submitted >= accepted:
                    return
                await asyncio.sleep(POLL_SECONDS)


async def _wait_port(port: int, daemon: Child) -> None:
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            assert daemon.process is not None
            if daemon.process.returncode is not None:
                raise PeerUnavailable(f"jasmind exited: {daemon.diagnosis()}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(POLL_SECONDS)


async def _wait_bound(jcli: JCli) -> None:
    async with asyncio.timeout(START_TIMEOUT):
        while "BOUND_TRX" not in await jcli.send("smppccm --list"):
            await asyncio.sleep(POLL_SECONDS)


@contextlib.asynccontextmanager
async def jasmin_target(venv: Path) -> AsyncIterator[Target]:
    """Jasmin configured and bound to a fresh simulated operator, as a `Target`."""
    python, daemon_script, amqp_spec = _installed(venv)
    _check_service("RabbitMQ", 5672)
    _check_service("Redis", 6379)
    with tempfile.TemporaryDirectory(prefix="smsgw-jasmin-") as scratch:
        directory = Path(scratch)
        ports = {
            name: free_port()
            for name in (
                "jcli",
                "http",
                "router",
                "client-management",
                "smpp-server",
                "smpp-server-pb",
            )
        }
        config = directory / "jasmin.cfg"
        config.write_text(jasmin_config(directory, ports, amqp_spec))
        (directory / "store").mkdir()
        env = os.environ | {
            "CONFIG_PATH": scratch,
            "STORE_PATH": str(directory / "store"),
            "LOG_PATH": scratch,
            "ROOT_PATH": scratch,
        }
        async with operator() as sim:
            daemon = Child("jasmind")
            await daemon.start(
                [str(python), str(daemon_script), "--config", str(config)], env=env
            )  # fmt: skip
            try:
                await _wait_port(ports["jcli"], daemon)
                jcli = await JCli.login(ports["jcli"])
                try:
                    await jcli.run(setup_commands(int(sim.events["listening"]["port"])))
                    await _wait_bound(jcli)
                finally:
                    await jcli.close()
                target = JasminTarget(
                    "jasmin",
                    f"http://127.0.0.1:{ports['http']}",
                    {"username": USERNAME, "password": PASSWORD},
                    SCENARIOS,
                )
                target.measured = {"jasmind": daemon, "operator": sim}
                if (rabbit := _process_named("beam.smp")) is not None:
                    target.extra_cpu["rabbitmq"] = rabbit
                yield target
            finally:
                await daemon.stop()
