"""End-to-end benchmark of one engine process (issue #5).

``python -m bench.e2e --json`` runs, for each backend (the embedded one, then
Redis + PostgreSQL), three processes on this machine: the simulated operator
(`bench.smsc_sim`: answers in 1 ms, delivery receipts 10 ms later), the engine
(``smsgw serve`` on the real backends, or the launcher below with the
in-memory ledger), and the ESME fleet (`bench.esme_fleet`). It prints one JSON
object per backend:

- accepted/s and receipts/s as the fleet saw them (from its first submit to
  the last accept or receipt), and submitted to the operator/s from the
  engine's own counters (its Prometheus endpoint, sampled every
  `SAMPLE_SECONDS`, see `CounterSampler.rates`), with the best one-second
  window of each;
- latency percentiles of submit_sm -> submit_sm_resp and accept -> receipt;
- CPU seconds of every process during the load (from ``/proc``), the load
  average around the run (other work on the machine shows there), the
  engine's warnings by event, and what the ledger and PostgreSQL hold
  afterwards, which checks the run end to end (with PostgreSQL's writes per
  table and the bytes its tables and indexes keep per message).

The seed requirement is 100 million messages a day (about 1,160/s on average,
10,000/s at peak); the goal is the peak from ONE engine process, receipts,
ledger and persistence on. ``--profile`` runs the engine under cProfile, or
``--profile py-spy`` samples it from outside (far less overhead, if py-spy is
installed); the report then says where the engine's time went. A run under
cProfile is slower, so its rates are not the benchmark's.

The Redis + PostgreSQL run uses a throwaway key namespace and a throwaway
database (created, migrated with ``smsgw migrate``, dropped), so it can share
servers with tests. ``--serve-embedded CONFIG`` is the embedded engine
launcher: the gateway of ``smsgw dev`` with this benchmark's account.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pstats
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog
import uvloop
from prometheus_client import start_http_server
from redis.asyncio import Redis

from bench.costs import (
    commands_per_message,
    postgres_cpu_seconds,
    process_cpu_seconds,
    redis_command_counts,
)
from engine.config import load_config_file
from engine.customers.passwords import hash_password
from engine.gateway import Gateway
from engine.messages.receipt_map import MemoryReceiptMap
from ledger.config import LedgerConfig
from ledger.memory import MemoryLedger
from ledger.redis_ledger import RedisLedger
from smsgw.commands import run_until_signalled
from smsgw.logs import configure_logging

BACKENDS = ("embedded", "redis+postgres")
PROFILERS = ("cprofile", "py-spy")
ACCOUNT = "bench"
PASSWORD = "bench-pw"
PRICE = 1_000
"""Micro-units per part; the account gets exactly ``count x PRICE`` of credit."""
GOAL_PER_S = 10_000
SAMPLE_SECONDS = 0.5
"""At 5 Hz the scrapes took about 5% of the engine's py-spy samples; 2 Hz is enough
for a rate measured between samples inside the rise."""
PEAK_WINDOW_SECONDS = 1.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0
PROFILE_ENTRIES = 70
PYSPY_RATE = 250
"""Samples per second; py-spy reads the engine's memory without stopping it."""
READY_EVENT = {"embedded": "bench engine ready", "redis+postgres": "gateway started"}
"""The log line after which each engine takes binds (the embedded one after its credit)."""
STOPPED_EVENT = "bench engine stopped"
_RATES = ("accepted", "submitted", "receipts")
_COUNTERS = (*_RATES, "refused", "failed")
_PROBLEM_LEVELS = frozenset({"warning", "error", "critical"})
_PERSISTED_TABLES = ("messages", "ledger_entries")
_PROJECT = Path(__file__).resolve().parents[1]
_STDLIB = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
_LOOP_FRAME = "Runner.run (asyncio/runners.py"
_LOOP_ITSELF = "event loop itself (uvloop, C)"
_LOOP_FILE = "uvloop (C)"

log = structlog.get_logger("smsgw.bench")


def engine_config(
    args: argparse.Namespace, operator_port: int, metrics_port: int, namespace: str
) -> str:
    """The TOML of `engine.config` both backends run: one account, one connector."""
    password_hash = hash_password(PASSWORD, log2_n=10)
    q = json.dumps  # a JSON string of ASCII is a TOML basic string
    return f"""\
shard = "bench"
metrics_port = {metrics_port}
persister_in_process = {"true" if args.persister == "in-process" else "false"}

[[listeners]]
host = "127.0.0.1"
port = 0

[ledger]
namespace = {q(namespace)}

[[accounts]]
id = {q(ACCOUNT)}
password_hash = {q(password_hash)}
max_binds = {args.binds}
window = {args.deliver_window}

[[connectors]]
id = "operator"
host = "127.0.0.1"
port = {operator_port}
system_id = "smsgw"
password = "bench"
binds = {args.connector_binds}
window = {args.connector_window}
throughput = 100000

[routing]
currency = "EUR"

[routing.connectors.operator]
cost_tariff = "operator-cost"

[routing.tariffs.retail]
rates = [{{ prefix = "", price = {PRICE} }}]

[routing.tariffs.operator-cost]
rates = [{{ prefix = "", price = {PRICE // 2} }}]

[[routing.mt_routes]]
id = "everything"
sell_tariff = "retail"
target = {{ kind = "static", connector = "operator" }}
"""


# -- child processes ----------------------------------------------------------


class Child:
    """One process of the run: its JSON stdout lines by event, warnings it
    logged, the tails of its output, its CPU time, and a stop by SIGTERM whose
    exit status is reported."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.process: asyncio.subprocess.Process | None = None
        self.events: dict[str, dict[str, Any]] = {}
        self.problems: Counter[str] = Counter()
        """Log lines at warning level and above, by event."""
        self.first_problems: dict[str, dict[str, Any]] = {}
        self.stdout_tail: deque[str] = deque(maxlen=20)
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._readers: list[asyncio.Task[None]] = []
        self._line_read = asyncio.Event()

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    async def start(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.process.stdout, self.stdout_tail)),
            asyncio.create_task(self._read(self.process.stderr, self.stderr_tail)),
        ]

    async def _read(self, stream: asyncio.StreamReader, tail: deque[str]) -> None:
        """Drain a pipe for the whole run (a full pipe would stall the child)."""
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            tail.append(text)
            if tail is self.stdout_tail:
                self._note(text)
            self._line_read.set()
        self._line_read.set()

    def _note(self, line: str) -> None:
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and isinstance(event := record.get("event"), str):
                self.events[event] = record
                if record.get("level") in _PROBLEM_LEVELS:
                    self.problems[event] += 1
                    self.first_problems.setdefault(event, record)

    async def wait_until(self, done: Callable[[], bool], what: str) -> None:
        """Until ``done()`` holds after some line; fails if the child ends first."""
        async with asyncio.timeout(START_TIMEOUT):
            while not done():
                if all(reader.done() for reader in self._readers):
                    raise RuntimeError(f"{self.name} ended before {what}: {self.diagnosis()}")
                self._line_read.clear()
                await self._line_read.wait()

    async def wait_event(self, event: str) -> dict[str, Any]:
        await self.wait_until(lambda: event in self.events, repr(event))
        return self.events[event]

    def cpu_seconds(self) -> float:
        """utime + stime of the running child (proc(5), fields 14 and 15)."""
        return process_cpu_seconds(self.pid)

    async def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Exit status once the child ended by itself and its output is read."""
        assert self.process is not None, "not started"
        try:
            async with asyncio.timeout(timeout):
                returncode = await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise RuntimeError(f"{self.name} did not end within {timeout} s") from None
        await asyncio.gather(*self._readers)
        return returncode

    async def stop(self) -> int:
        """SIGTERM, then the exit status; a child that already ended just reports it."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
        return await self.wait()

    def diagnosis(self) -> str:
        return " | ".join([*self.stdout_tail, *self.stderr_tail][-12:])


def python_module(module: str, *args: str, profile: Path | None = None) -> list[str]:
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
    return [sys.executable, *prefix, "-m", module, *args]


# -- the engine's counters over time ----------------------------------------


def fleet_command(
    port: int,
    account: str,
    *,
    binds: int,
    window: int,
    count: int,
    timeout: float,
    receipt_wait: float,
    rate: float = 0.0,
) -> list[str]:
    """The `bench.esme_fleet` process submitting as ``account`` (with the
    benchmarks' password) to ``port``; ``rate`` 0: as fast as it is let."""
    return python_module(
        "bench.esme_fleet",
        "--port", str(port),
        "--system-id", account,
        "--password", PASSWORD,
        "--binds", str(binds),
        "--window", str(window),
        "--rate", str(rate),
        "--count", str(count),
        "--timeout", str(timeout),
        "--receipt-wait", str(receipt_wait),
        "--json",
    )  # fmt: skip


class CounterSampler:
    """Scrapes the engine's /metrics every `SAMPLE_SECONDS` while the load runs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.samples: list[tuple[float, dict[str, float]]] = []

    async def scrape(self) -> dict[str, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        body = (await reader.read()).decode()
        writer.close()
        return parse_metrics(body)

    async def wait_bound(self, binds: int) -> None:
        """Until every operator bind is up, so the first messages wait for none."""
        async with asyncio.timeout(START_TIMEOUT):
            while (await self.scrape())["bound"] < binds:
                await asyncio.sleep(SAMPLE_SECONDS)

    async def run(self) -> None:
        """Sample until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self.samples.append((loop.time(), await self.scrape()))
            await asyncio.sleep(SAMPLE_SECONDS)

    def rates(self, name: str) -> tuple[float | None, float | None]:
        """Rate of counter ``name`` while it rose, and its best
        `PEAK_WINDOW_SECONDS` window.

        The rate is taken between the first sample after the counter left its
        starting value and the last one before it reached its final value, so
        neither ramp is in it; with fewer than two such samples, between the
        samples around the whole rise (erring low by up to two periods).
        """
        points = [(t, values.get(name, 0.0)) for t, values in self.samples]
        if len(points) < 2 or points[-1][1] == points[0][1]:
            return None, None
        base, final = points[0][1], points[-1][1]
        rising = [i for i, (_, v) in enumerate(points) if base < v < final]
        if len(rising) >= 2:
            first, last = rising[0], rising[-1]
        else:
            first = max(i for i, (_, v) in enumerate(points) if v == base)
            last = min(i for i, (_, v) in enumerate(points) if v == final)
        steady = (points[last][1] - points[first][1]) / (points[last][0] - points[first][0])
        peak, end = 0.0, 0
        for start, value in points:
            while end < len(points) and points[end][0] - start < PEAK_WINDOW_SECONDS:
                end += 1
            if end == len(points):
                break
            peak = max(peak, (points[end][1] - value) / (points[end][0] - start))
        return round(steady, 1), (round(peak, 1) if peak else None)

    def maximum(self, name: str) -> float:
        return max((values.get(name, 0.0) for _, values in self.samples), default=0.0)


def parse_metrics(text: str) -> dict[str, float]:
    """The few series the benchmark reads from the Prometheus text format."""
    values: dict[str, float] = {"bound": 0.0, "queued": 0.0}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith('smsgw_messages_total{event="'):
            values[name.split('"')[1]] = float(value)
        elif name.startswith("smsgw_connector_binds{") and 'state="bound"' in name:
            values["bound"] += float(value)
        elif name.startswith("smsgw_queue_depth{"):
            values["queued"] += float(value)
    return values


# -- where the engine's time went -------------------------------------------


def short_path(filename: str) -> str:
    """A source file as a reader finds it: in this repository, an installed
    package, or the standard library."""
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1]
    for root in (_PROJECT, _STDLIB):
        with contextlib.suppress(ValueError):
            return str(Path(filename).relative_to(root))
    return filename


def cprofile_summary(path: Path, entries: int = PROFILE_ENTRIES) -> dict[str, Any]:
    """Top functions by cumulative and by own time, and own time per file."""

    def top(order: pstats.SortKey) -> list[str]:
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).sort_stats(order).print_stats(entries)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        return [line.rstrip() for line in lines[start : start + entries + 1] if line.strip()]

    own: Counter[str] = Counter()
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own_time, *_) in raw.items():
        own[short_path(filename) if filename != "~" else f"built-in {function}"] += own_time
    return {
        "tool": "cProfile",
        "top_cumulative": top(pstats.SortKey.CUMULATIVE),
        "top_own": top(pstats.SortKey.TIME),
        "own_by_file": _shares(own, sum(own.values()), entries),
    }


def pyspy_summary(path: Path, entries: int = PROFILE_ENTRIES) -> dict[str, Any]:
    """The same view from py-spy's collapsed stacks (``frame;frame;... count``):
    a function's share of the samples with it anywhere on the stack, and at its
    top. Frames up to the event loop's `Runner.run` are cut (every callback has
    them); samples whose top is that frame are the loop's own C code."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    files: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # a stack py-spy could not read whole (--nonblocking)
        frames = [_pyspy_frame(frame) for frame in stack.split(";") if frame]
        loop = [i for i, frame in enumerate(frames) if frame.startswith(_LOOP_FRAME)]
        if loop:
            frames = frames[loop[-1] + 1 :] or [_LOOP_ITSELF]
        if not frames:
            continue
        samples = int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
        top = frames[-1]
        files[_LOOP_FILE if top == _LOOP_ITSELF else top.rsplit(" (", 1)[-1].split(":")[0]] += (
            samples
        )
    return {
        "tool": "py-spy",
        "samples": total,
        "top_cumulative": _shares(inclusive, total, entries),
        "top_own": _shares(own, total, entries),
        "own_by_file": _shares(files, total, entries),
    }


def _pyspy_frame(frame: str) -> str:
    function, _, place = frame.partition(" (")
    return f"{function} ({short_path(place.rstrip(')'))})" if place else function


def _shares(counts: Counter[str], total: float, entries: int) -> list[str]:
    return [f"{100 * n / total:5.1f}%  {name}" for name, n in counts.most_common(entries)]


def pyspy_executable() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("bench.e2e: --profile py-spy needs py-spy (pip install py-spy)")
    return found


# -- the Redis + PostgreSQL backend -------------------------------------------


@contextlib.asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str]:
    """A database created and migrated with ``smsgw migrate``, dropped afterwards."""
    name = f"smsgw_bench_{secrets.token_hex(6)}"
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        migrate = Child("smsgw migrate")
        await migrate.start(python_module("smsgw.cli", "migrate", "--database-url", url))
        if await migrate.wait() != 0:
            raise RuntimeError(f"smsgw migrate failed: {migrate.diagnosis()}")
        yield url
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def delete_namespace(redis: Redis, namespace: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=10_000)]
    for start in range(0, len(keys), 10_000):
        await redis.unlink(*keys[start : start + 10_000])


async def persisted_rows(database_url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(database_url)
    try:
        rows: dict[str, Any] = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in _PERSISTED_TABLES
        }
        states = await connection.fetch("SELECT state, count(*) FROM messages GROUP BY state")
        rows["message_states"] = {row[0]: row[1] for row in states}
        # How often PostgreSQL wrote each table: a message's row inserted once
        # and updated in place (HOT) is the cheap case; every other update
        # writes each of the table's indexes again.
        writes = await connection.fetch(
            "SELECT CASE WHEN relname LIKE 'messages%' THEN 'messages' ELSE relname END,"
            " sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_hot_upd) FROM pg_stat_user_tables"
            " WHERE relname LIKE 'messages%' OR relname LIKE 'ledger_entries%'"
            " OR relname = 'balances' GROUP BY 1"
        )
        rows["table_writes"] = {
            row[0]: {"inserts": int(row[1]), "updates": int(row[2]), "hot_updates": int(row[3])}
            for row in writes
        }
        # What the tables keep on disk per message: the heap (its free room
        # for HOT updates included) and the indexes, dead entries included.
        sizes = await connection.fetch(
            "SELECT CASE WHEN c.relname LIKE 'messages%' THEN 'messages' ELSE 'ledger_entries' END,"
            " sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid))"
            " FROM pg_class c WHERE c.relkind = 'r'"
            " AND (c.relname LIKE 'messages%' OR c.relname LIKE 'ledger_entries%') GROUP BY 1"
        )
        messages = max(1, rows["messages"])
        rows["bytes_per_message"] = {
            row[0]: {"table": round(row[1] / messages), "indexes": round(row[2] / messages)}
            for row in sizes
        }
    finally:
        await connection.close()
    return rows


async def redis_cpu_seconds(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# -- one backend's run ----------------------------------------------------------


class BenchRun:
    """The operator, the engine and the fleet of one backend, and the report."""

    def __init__(
        self, backend: str, args: argparse.Namespace, directory: Path, redis: Redis | None
    ) -> None:
        self.backend = backend
        self.args = args
        self.directory = directory
        self.redis = redis
        self.namespace = f"bench-{secrets.token_hex(6)}"
        self.credit = args.count * PRICE
        self.operator = Child("operator")
        self.engine = Child("engine")
        self.profiler = Child("py-spy")
        self.persister = Child("persister")
        self.sampler: CounterSampler | None = None
        self._started: list[Child] = []

    async def execute(self, env: dict[str, str] | None = None) -> dict[str, Any]:
        load_before = os.getloadavg()
        try:
            port = await self._start(env)
            report = await self._load(port)
            for child in reversed(self._started):
                # py-spy writes its stacks when the engine has exited: let it end by itself.
                ending = child.wait() if child is self.profiler else child.stop()
                report["exit_codes"][child.name] = await ending
            self._started.clear()
            report |= await self._aftermath(report["accepted"])
        finally:
            for child in reversed(self._started):
                with contextlib.suppress(RuntimeError):
                    await child.stop()
            if self.redis is not None:
                await delete_namespace(self.redis, self.namespace)
        report["load_average_before"] = [round(x, 2) for x in load_before]
        report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        return report

    async def _start(self, env: dict[str, str] | None) -> int:
        """Operator, then engine (credited, operator binds up); the customer port."""
        args = self.args
        self._started.append(self.operator)
        await self.operator.start(
            python_module(
                "bench.smsc_sim",
                "--port", "0",
                "--latency-ms", str(args.operator_latency_ms),
                "--receipt-delay-ms", str(args.receipt_delay_ms),
                "--deliver-window", str(args.connector_window),
            )
        )  # fmt: skip
        operator_port = int((await self.operator.wait_event("listening"))["port"])
        metrics_port = free_port()
        config = self.directory / "smsgw.toml"
        config.write_text(engine_config(args, operator_port, metrics_port, self.namespace))
        profile = self.directory / "engine.prof" if args.profile == "cprofile" else None
        if self.backend == "embedded":
            argv = python_module(
                "bench.e2e", "--serve-embedded", str(config), "--credit", str(self.credit),
                profile=profile,
            )  # fmt: skip
        else:
            argv = python_module("smsgw.cli", "serve", "--config", str(config), profile=profile)
        if self.backend != "embedded" and args.persister == "process":
            self._started.append(self.persister)  # stopped after the engine: drains last
            await self.persister.start(
                python_module("smsgw.cli", "ledger", "persist", "--namespace", self.namespace),
                env=env,
            )
            await self.persister.wait_until(
                lambda: any("persisting" in line for line in self.persister.stdout_tail),
                "persisting",
            )
        self._started.append(self.engine)
        await self.engine.start(argv, env=env)
        ready = await self.engine.wait_event(READY_EVENT[self.backend])
        if self.redis is not None:
            ledger = RedisLedger(self.redis, LedgerConfig(namespace=self.namespace), shard="bench")
            await ledger.start()
            await ledger.adjust(ACCOUNT, self.credit, reason="bench credit", reference="bench")
        self.sampler = CounterSampler(metrics_port)
        await self.sampler.wait_bound(args.connector_binds)
        if args.profile == "py-spy":
            await self._attach_pyspy()
        return int(ready["ports"][0])

    async def _attach_pyspy(self) -> None:
        """py-spy follows the engine until it exits, then writes its stacks."""
        self._started.insert(0, self.profiler)  # stopped last, after the engine
        await self.profiler.start(
            [
                pyspy_executable(), "record", "--pid", str(self.engine.pid),
                "--rate", str(PYSPY_RATE), "--nonblocking", "--format", "raw",
                "--output", str(self.directory / "engine.pyspy"),
            ]
        )  # fmt: skip
        await self.profiler.wait_until(
            lambda: any("Sampling process" in line for line in self.profiler.stdout_tail),
            "sampling",
        )

    async def _load(self, port: int) -> dict[str, Any]:
        """Run the fleet against the engine while sampling the engine's counters."""
        args, sampler, redis = self.args, self.sampler, self.redis
        assert sampler is not None
        measured = {"engine": self.engine, "operator": self.operator}
        if self.persister in self._started:
            measured["persister"] = self.persister
        cpu_before = {name: child.cpu_seconds() for name, child in measured.items()}
        redis_before = await redis_cpu_seconds(redis) if redis is not None else 0.0
        commands_before = await redis_command_counts(redis) if redis is not None else Counter()
        postgres_before = postgres_cpu_seconds()
        sampling = asyncio.create_task(sampler.run())
        fleet = Child("fleet")
        await fleet.start(
            fleet_command(
                port,
                ACCOUNT,
                binds=args.binds,
                window=args.window,
                count=args.count,
                timeout=args.timeout,
                receipt_wait=args.receipt_wait,
                rate=args.rate,
            )
        )
        fleet_code = await fleet.wait(args.timeout + START_TIMEOUT)
        cpu = {name: child.cpu_seconds() - cpu_before[name] for name, child in measured.items()}
        costs: dict[str, Any] = {}
        if redis is not None:
            cpu["redis"] = await redis_cpu_seconds(redis) - redis_before
            cpu["postgres"] = postgres_cpu_seconds() - postgres_before
            commands = await redis_command_counts(redis)
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        sampler.samples.append((asyncio.get_running_loop().time(), await sampler.scrape()))
        result = json_report(fleet, "accepted")
        cpu["fleet"] = result["cpu_s"]
        if redis is not None:
            accepted = max(result["accepted"], 1)
            costs = {
                "redis_commands": commands_per_message(commands_before, commands, accepted),
                "cpu_us": {
                    name: round(cpu[name] * 1e6 / accepted, 1)
                    for name in ("engine", "persister", "redis", "postgres")
                    if name in cpu
                },
            }
        rates = {name: sampler.rates(name) for name in _RATES}
        return {
            "backend": self.backend,
            "goal_per_s": GOAL_PER_S,
            "count": args.count,
            "rate_limit": args.rate,
            "binds": args.binds,
            "window": args.window,
            "accepted_per_s": result["accepted_per_s"],
            "submitted_to_operator_per_s": rates["submitted"][0],
            "receipts_per_s": result["receipts_per_s"],
            "peak_1s_per_s": {name: peak for name, (_, peak) in rates.items()},
            "submit_resp_ms": result["submit_resp_ms"],
            "accept_receipt_ms": result["accept_receipt_ms"],
            "accepted": result["accepted"],
            "refused": result["refused"],
            "receipts": result["receipts"],
            "elapsed_s": result["elapsed_s"],
            "engine_counters": {name: sampler.samples[-1][1].get(name, 0) for name in _COUNTERS},
            "max_queue_depth": sampler.maximum("queued"),
            "cpu_s": {name: round(seconds, 2) for name, seconds in cpu.items()},
            "engine_cpu_share": round(cpu["engine"] / max(result["active_s"], 1e-3), 3),
            "operator_latency_ms": args.operator_latency_ms,
            "receipt_delay_ms": args.receipt_delay_ms,
            "fleet": result,
            "exit_codes": {"fleet": fleet_code},
            "profiled": args.profile,
            "persister": args.persister if self.backend != "embedded" else "none",
            "per_message": costs,
        }

    async def _aftermath(self, accepted: int) -> dict[str, Any]:
        """What the stopped processes said and what the ledger holds."""
        if self.redis is not None:
            ledger = RedisLedger(self.redis, LedgerConfig(namespace=self.namespace), shard="bench")
            state = await ledger.get_account(ACCOUNT)
            balance = {"balance": state.balance, "held": state.held} if state else {}
        else:
            stopped = self.engine.events.get(STOPPED_EVENT, {})
            balance = {"balance": stopped.get("balance"), "held": stopped.get("held")}
        found: dict[str, Any] = {
            "ledger": balance | {"expected_balance": self.credit - accepted * PRICE},
            "operator": self.operator.events.get("stopped", {}).get("stats", {}),
            "engine_problems": dict(self.engine.problems),
            "engine_first_problems": self.engine.first_problems,
        }
        if self.args.profile == "cprofile":
            found["profile"] = cprofile_summary(self.directory / "engine.prof")
        elif self.args.profile == "py-spy":
            found["profile"] = pyspy_summary(self.directory / "engine.pyspy")
        return found


def json_report(child: Child, key: str) -> dict[str, Any]:
    """The last JSON object with ``key`` that ``child`` printed: its report."""
    for line in reversed(child.stdout_tail):
        with contextlib.suppress(ValueError):
            result = json.loads(line)
            if isinstance(result, dict) and key in result:
                return result
    raise RuntimeError(f"{child.name} printed no report: {child.diagnosis()}")


def free_port() -> int:
    """A loopback port free a moment ago, for a listener whose port must be
    known before it starts (an engine's metrics, a peer gateway's)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """One backend's report; the Redis + PostgreSQL one in throwaway places."""
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-") as scratch:
        if backend == "embedded":
            return await BenchRun(backend, args, Path(scratch), None).execute()
        redis = Redis.from_url(args.redis_url)
        try:
            async with throwaway_database(args.database_url) as database_url:
                env = os.environ | {
                    "SMSGW_REDIS_URL": args.redis_url,
                    "SMSGW_DATABASE_URL": database_url,
                }
                report = await BenchRun(backend, args, Path(scratch), redis).execute(env)
                report["persisted"] = await persisted_rows(database_url)
                return report
        finally:
            await redis.aclose()


# -- the embedded engine --------------------------------------------------------


def serve_embedded(config_path: str, credit: int) -> int:
    """`smsgw dev`'s gateway (in-memory ledger and receipt map) on this
    benchmark's config, credited before it says it is ready."""
    config = load_config_file(config_path)
    configure_logging(json=True)

    async def run(stopping: asyncio.Event) -> None:
        ledger = MemoryLedger(config.ledger, shard=config.shard)
        gateway = Gateway(config, ledger, MemoryReceiptMap(ttl=config.limits.receipt_ttl))
        await gateway.start()
        for account in config.accounts:
            await ledger.adjust(account.id, credit, reason="bench credit", reference="bench")
        if config.metrics_port:
            start_http_server(config.metrics_port, config.metrics_host, gateway.registry)
        log.info(READY_EVENT["embedded"], ports=gateway.ports)
        try:
            await stopping.wait()
        finally:
            await gateway.stop()
        state = await ledger.get_account(ACCOUNT)
        log.info(
            STOPPED_EVENT,
            balance=state.balance if state else None,
            held=state.held if state else None,
        )

    return run_until_signalled(run)


# -- command line ---------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.e2e",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--json", action="store_true", help="one JSON object per backend, one per line")
    add("--backend", choices=BACKENDS, help="run only this one")
    add("--count", type=int, default=40_000, help="messages per backend")
    add("--rate", type=float, default=0.0, help="fleet's cap, messages/s; 0: none")
    add("--binds", type=int, default=4, help="fleet transceivers")
    add("--window", type=int, default=100, help="fleet's submit_sm in flight per bind")
    add("--deliver-window", type=int, default=1_000, help="engine's deliver_sm per customer bind")
    add("--connector-binds", type=int, default=2, help="engine's binds to the operator")
    add("--connector-window", type=int, default=200, help="engine's submit_sm per operator bind")
    add("--operator-latency-ms", type=int, default=1, help="operator's submit_sm_resp delay")
    add("--receipt-delay-ms", type=int, default=10, help="operator's receipt delay")
    add("--timeout", type=float, default=60.0, help="seconds the fleet may take")
    add("--receipt-wait", type=float, default=5.0, help="seconds without a receipt: give up")
    add(
        "--persister",
        choices=("in-process", "process"),
        default="in-process",
        help="Redis+PostgreSQL: the engine persists, or `smsgw ledger persist` does",
    )
    add("--profile", nargs="?", const="cprofile", choices=PROFILERS, help="profile the engine")
    add("--redis-url", default=os.environ.get("SMSGW_REDIS_URL", "redis://127.0.0.1:6379/0"))
    add(
        "--database-url",
        default=os.environ.get(
            "SMSGW_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where the benchmark may create and drop a database",
    )
    add(
        "--shards",
        type=int,
        default=0,
        help="run N engines on a local Redis Cluster (bench.e2e_shards); per shard and total",
    )
    add("--serve-embedded", metavar="CONFIG", help=argparse.SUPPRESS)
    add("--credit", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    profile = report.get("profile", {})
    for section in ("top_cumulative", "top_own", "own_by_file"):
        if section in profile:
            print(f"-- engine profile ({profile['tool']}): {section}", file=sys.stderr)
            print("\n".join(profile[section]), file=sys.stderr)
    if as_json:
        print(json.dumps(report), flush=True)
        return
    print(f"== {report['backend']}")
    for name, value in report.items():
        if name not in ("fleet", "profile", "engine_first_problems"):
            print(f"{name:>28}  {value}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.serve_embedded:
        return serve_embedded(args.serve_embedded, args.credit)
    if args.shards:  # its own module, which builds on this one (so no import back)
        command = [sys.executable, "-m", "bench.e2e_shards", *(argv or sys.argv[1:])]
        return subprocess.call(command)
    complete = True
    for backend in (args.backend,) if args.backend else BACKENDS:
        report = uvloop.run(run_backend(backend, args))
        _print_report(report, args.json)
        complete &= not any(report["exit_codes"].values())
        complete &= report["accepted"] == report["receipts"] == args.count
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
