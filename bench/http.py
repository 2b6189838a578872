"""HTTP front benchmark (issue #6).

``python -m bench.http --json`` runs three processes on this machine: the
simulated operator (`bench.smsc_sim`), the engine with its HTTP front (the
gateway of ``smsgw dev`` with enough credit for the run and a connector as
fast as the operator, launched by `serve_engine` below), and, one scenario at
a time, the load generator (`bench.http_load`: fixed concurrency, warm-up,
fixed measuring time). Each scenario runs in ``--rounds`` rounds, the
gateways taking turns, and the best round of each counts (every round's rate
is in the report too): the machine is shared, and a burst of other work then
costs one round of one gateway, not the comparison. For each scenario it
reports accepted messages/s and requests/s, latency percentiles, answers by
status, and the CPU seconds of the engine, the operator and the generator
during the load, read from ``/proc``.

Scenarios: Jasmin's ``GET /send`` and ``POST /send``, ``POST /v1/messages``
with one recipient and with 100. After each round the gateway hands its
backlog to the operator before the next round starts (``backlog_drain_s``
says how long that took), so one round's backlog does not slow the next.

``--peer jasmin`` also runs the real Jasmin (`bench.jasmin_peer`: its own
venv, RabbitMQ and Redis, an SMPP connector to a fresh simulated operator)
and loads its ``/send`` with the same generator and message mix, in the same
rounds; the report has Jasmin's figures next to ours and their ratio.
``--serve-engine`` is the engine launcher (hidden).

``--peer kannel`` (or ``--messages N``) is the count mode of issue #16
(`bench.http_count`): ``--messages`` (20,000) over ``--clients`` (50)
keep-alive connections to a durable ``smsgw serve`` (Redis + PostgreSQL,
persister process) and, when it is installed, Kannel (`bench.kannel_peer`),
with and without receipt callbacks to one receiver, timed from the first
request to the last callback (or the last message at the operator).
``--profile [FILE]`` samples serve with py-spy during it (raw stacks in FILE,
`PROFILE_FILE` by default, for a flame graph).
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import orjson
import uvloop

from bench.costs import process_cpu_seconds
from bench.e2e import Child, json_report, parse_metrics, python_module
from bench.http_load import CLIENTS, SCENARIOS

OURS = "smsgw"
PEERS = ("jasmin", "kannel")
COUNT_MESSAGES = 20_000
COUNT_CLIENTS = 50
ROUNDS_CLIENTS = 32
PROFILE_FILE = "/tmp/smsgw-serve.pyspy"
DEFAULT_SCENARIOS = ("send-get", "send-post", "v1-single", "v1-batch")
ACCOUNT_PASSWORD = "benchpw"
CREDIT = 10**13
"""Micro-units: 10 million EUR, 250 million messages at the demo price; no run runs dry."""
OPERATOR_ARGS = ("--latency-ms", "1", "--receipt-delay-ms", "10", "--deliver-window", "200")
"""The simulated operator both gateways send to: answers in 1 ms, receipts 10 ms later."""
CONNECTOR = {"binds": 2, "window": 200, "throughput": 100_000.0}
"""Our connector to it: as fast as the operator, like Jasmin's with no throughput limit."""
READY_EVENT = "bench http engine ready"
START_TIMEOUT = 30.0
DRAIN_TIMEOUT = 120.0
POLL_SECONDS = 0.2


# -- the engine process -----------------------------------------------------------


def serve_engine(operator_port: int, credit: int) -> int:
    """`smsgw dev`'s gateway and HTTP front, sending to ``operator_port`` over a
    fast connector, the demo account credited with ``credit``; says its URL,
    API key and Jasmin credentials in one JSON line on stdout."""
    from api.server import HttpFront
    from engine.gateway import Gateway
    from engine.messages.receipt_map import MemoryReceiptMap
    from ledger.memory import MemoryLedger
    from ledger.memory_messages import MemoryMessageStore
    from smsgw.commands import run_until_signalled
    from smsgw.dev import DEMO_ACCOUNT, dev_config, dev_engine
    from smsgw.logs import configure_logging

    configure_logging(json=True)
    config = dev_config("127.0.0.1", 0, operator_port, ACCOUNT_PASSWORD)
    connectors = tuple(msgspec.structs.replace(c, **CONNECTOR) for c in config.connectors)
    config = msgspec.structs.replace(config, connectors=connectors)

    async def run(stopping: asyncio.Event) -> None:
        history = MemoryMessageStore()
        ledger = MemoryLedger(shard=config.shard, tap=history.apply)
        gateway = Gateway(
            config, ledger, MemoryReceiptMap(ttl=config.limits.receipt_ttl), history=history
        )
        await gateway.start()
        front = None
        try:
            await ledger.adjust(DEMO_ACCOUNT, credit, reason="bench credit", reference="bench")
            engine, api_key = await dev_engine(gateway, history)
            front = HttpFront(engine, "127.0.0.1", 0)
            await front.start()
            # Printed, not logged: the log masks credentials, and the
            # generator needs these to send.
            ready = {
                "event": READY_EVENT,
                "url": f"http://127.0.0.1:{front.port}",
                "api_key": api_key,
                "username": DEMO_ACCOUNT,
                "password": ACCOUNT_PASSWORD,
            }
            print(orjson.dumps(ready).decode(), flush=True)
            await stopping.wait()
        finally:
            if front is not None:
                await front.stop()
            await gateway.stop()

    return run_until_signalled(run)


# -- a gateway under load -----------------------------------------------------------


class Target(abc.ABC):
    """A running gateway as the generator sees it, and the processes whose CPU counts."""

    def __init__(
        self, name: str, url: str, credentials: dict[str, str], scenarios: tuple[str, ...]
    ) -> None:
        self.name = name
        self.url = url
        self.credentials = credentials
        self.scenarios = scenarios
        """What this gateway can be asked (Jasmin's HTTP API has no batch send)."""
        self.measured: dict[str, Child] = {}
        self.extra_cpu: dict[str, int] = {}
        """Other processes doing this gateway's work (RabbitMQ for Jasmin), by pid."""

    @abc.abstractmethod
    async def drained(self) -> None:
        """Until what the last scenario accepted has gone to the operator."""


class SmsgwTarget(Target):
    async def drained(self) -> None:
        async with httpx.AsyncClient(base_url=self.url) as client, asyncio.timeout(DRAIN_TIMEOUT):
            while parse_metrics((await client.get("/metrics")).text)["queued"] > 0:
                await asyncio.sleep(POLL_SECONDS)


@contextlib.asynccontextmanager
async def operator() -> AsyncIterator[Child]:
    """A fresh simulated operator (one per gateway, so counters do not mix)."""
    child = Child("operator")
    await child.start(python_module("bench.smsc_sim", "--port", "0", *OPERATOR_ARGS))
    await child.wait_event("listening")
    try:
        yield child
    finally:
        await child.stop()


@contextlib.asynccontextmanager
async def smsgw_target() -> AsyncIterator[Target]:
    async with operator() as sim:
        engine = Child("engine")
        port = str(sim.events["listening"]["port"])
        await engine.start(
            python_module("bench.http", "--serve-engine", port, "--credit", str(CREDIT))
        )
        try:
            ready = await engine.wait_event(READY_EVENT)
            credentials = {k: ready[k] for k in ("api_key", "username", "password")}
            target = SmsgwTarget(OURS, ready["url"], credentials, SCENARIOS)
            target.measured = {"engine": engine, "operator": sim}
            await wait_ready(ready["url"])
            yield target
        finally:
            await engine.stop()


async def wait_ready(url: str) -> None:
    """Until /ready says the connector is bound, so no first message waits for a bind."""
    async with httpx.AsyncClient(base_url=url) as client, asyncio.timeout(START_TIMEOUT):
        while (await client.get("/ready")).status_code != 200:
            await asyncio.sleep(POLL_SECONDS)


async def run_scenario(target: Target, scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """One load generator run against ``target``: the servers' CPU during it; how
    long the gateway took afterwards to hand its backlog to the operator; and
    the CPU of the gateway's processes (not the operator's) per message
    from the load's start until that backlog was gone, which counts the work a
    gateway defers as well as the work it does while answering."""
    pids = {name: child.pid for name, child in target.measured.items()} | target.extra_cpu
    before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    generator = Child("load generator")
    credentials = target.credentials
    await generator.start(
        python_module(
            "bench.http_load",
            "--url", target.url,
            "--scenario", scenario,
            "--client", args.client,
            "--connections", str(args.connections),
            "--warmup", str(args.warmup),
            "--duration", str(args.duration),
            "--requests", str(args.requests),
            "--batch", str(args.batch),
            "--api-key", credentials.get("api_key", ""),
            "--username", credentials["username"],
            "--password", credentials["password"],
        )
    )  # fmt: skip
    code = await generator.wait(args.warmup + args.duration + START_TIMEOUT + 60)
    cpu = {name: round(process_cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()}
    if code != 0:
        raise RuntimeError(f"the load generator exited {code}: {generator.diagnosis()}")
    result = json_report(generator, "scenario")
    busy = args.warmup + result["elapsed_s"]
    result["server_cpu_s"] = cpu
    result["server_cpu_share"] = (
        {name: round(s / busy, 3) for name, s in cpu.items()} if busy else {}
    )
    load_ended = time.monotonic()
    await target.drained()
    result["backlog_drain_s"] = round(time.monotonic() - load_ended, 2)
    handled = result["messages_accepted"] + result["warmup_messages_accepted"]
    gateway = {name: pid for name, pid in pids.items() if name != "operator"}
    spent = sum(process_cpu_seconds(pid) - before[name] for name, pid in gateway.items())
    result["gateway_cpu_ms_per_message"] = round(1000 * spent / handled, 3) if handled else None
    return result


async def take_turns(
    targets: list[Target], scenarios: list[str], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Every scenario ``args.rounds`` times, the gateways taking turns, keeping
    each one's best round (with every round's rate): a burst of other work on
    this shared machine costs one round of one gateway, not the comparison."""
    found: dict[str, dict[str, Any]] = {target.name: {} for target in targets}
    for scenario in scenarios:
        for _ in range(args.rounds):
            for target in targets:
                if scenario not in target.scenarios:
                    continue
                result = await run_scenario(target, scenario, args)
                best = found[target.name].get(scenario)
                rates = [*(best["rounds_messages_per_s"] if best else []), result["messages_per_s"]]
                if best is None or result["messages_per_s"] > best["messages_per_s"]:
                    best = result
                best["rounds_messages_per_s"] = rates
                found[target.name][scenario] = best
    return found


# -- the whole run ------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "settings": {
            "client": args.client,
            "connections": args.connections,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "request_budget": args.requests,
            "batch": args.batch,
            "operator": " ".join(OPERATOR_ARGS),
            "cpus": os.cpu_count(),
        },
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    async with contextlib.AsyncExitStack() as running:
        targets = [await running.enter_async_context(smsgw_target())]
        if args.peer == "jasmin":
            from bench import jasmin_peer

            try:
                peer = jasmin_peer.jasmin_target(args.jasmin_venv)
                targets.append(await running.enter_async_context(peer))
                report["jasmin_setup"] = jasmin_peer.SETUP
            except jasmin_peer.PeerUnavailable as exc:
                report["jasmin_error"] = str(exc)
        report |= await take_turns(targets, args.scenarios, args)
    if "jasmin" in report:
        report["ratio_smsgw_to_jasmin"] = ratios(report[OURS], report["jasmin"])
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def ratios(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, float]:
    """Our accepted messages/s over the peer's: per scenario both ran, and our
    v1 figures over the peer's best /send."""

    def rate(results: dict[str, Any], names: list[str]) -> float:
        return max((results[n]["messages_per_s"] for n in names if n in results), default=0.0)

    pairs = {name: ([name], [name]) for name in peer if name in ours}
    pairs["v1-single_vs_best_send"] = (["v1-single"], list(peer))
    pairs["v1-batch_vs_best_send"] = (["v1-batch"], list(peer))
    found: dict[str, float] = {}
    for label, (mine, theirs) in pairs.items():
        numerator, denominator = rate(ours, mine), rate(peer, theirs)
        if numerator and denominator:
            found[label] = round(numerator / denominator, 2)
    return found


# -- command line ---------------------------------------------------------------------


def _scenario_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"scenarios are among {', '.join(SCENARIOS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--json", action="store_true", help="one JSON object")
    add("--peer", choices=PEERS, help="also measure this gateway the same way")
    add("--scenarios", type=_scenario_list, default=list(DEFAULT_SCENARIOS))
    add("--client", choices=CLIENTS, default="raw", help="the generator's HTTP client")
    add(
        "--connections",
        "--clients",
        type=int,
        help=f"keep-alive connections ({ROUNDS_CLIENTS}; count mode {COUNT_CLIENTS})",
    )
    add("--warmup", type=float, default=1.0, help="seconds not counted, per round")
    add("--duration", type=float, default=5.0, help="seconds measured, per round")
    add("--rounds", type=int, default=3, help="rounds per scenario and gateway; the best counts")
    add("--requests", type=int, default=0, help="measured requests per round; 0: no cap")
    add("--batch", type=int, default=100, help="recipients per v1-batch request")
    add(
        "--jasmin-venv",
        type=Path,
        default=Path(os.environ.get("JASMIN_VENV", "/tmp/jasmin-venv")),
        help="a venv with `pip install jasmin` (Python 3.11)",
    )
    add("--messages", type=int, default=0, help=f"count mode ({COUNT_MESSAGES} with kannel)")
    add(
        "--comparisons",
        type=lambda text: text.split(","),
        default=["with-callbacks", "without-callbacks"],
        help="count mode: with-callbacks, without-callbacks, or both (comma-separated)",
    )
    add(
        "--binds",
        type=int,
        default=1,
        help="count mode: each gateway's binds to its operator (Kannel, given 2, loses "
        "the reports that come in on the other bind before it has stored the submit's id)",
    )
    add(
        "--kannel-store",
        choices=("none", "file"),
        default="none",
        help="count mode: Kannel's message queue in memory (its default) or in its store file",
    )
    add("--timeout", type=float, default=120.0, help="count mode: seconds a run may take")
    add(
        "--profile",
        nargs="?",
        const=PROFILE_FILE,
        metavar="FILE",
        help="count mode: sample serve with py-spy; its raw stacks go to FILE",
    )
    add("--redis-url", default=os.environ.get("SMSGW_REDIS_URL", "redis://127.0.0.1:6379/0"))
    add(
        "--database-url",
        default=os.environ.get(
            "SMSGW_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="count mode: a server where the benchmark may create and drop a database",
    )
    add("--serve-engine", type=int, metavar="OPERATOR_PORT", help=argparse.SUPPRESS)
    add("--credit", type=int, default=CREDIT, help=argparse.SUPPRESS)
    return parser


def _print_table(report: dict[str, Any]) -> None:
    print(f"settings: {report['settings']}")
    for gateway in (OURS, *PEERS):
        for scenario, result in report.get(gateway, {}).items():
            latency = result["latency_ms"]
            print(
                f"{gateway:>7} {scenario:>10}  {result['messages_per_s']:>9} msg/s"
                f"  {result['requests_per_s']:>8} req/s"
                f"  p50 {latency['p50']} p90 {latency['p90']} p99 {latency['p99']} ms"
                f"  accepted {result['messages_accepted']}/{result['messages_sent']}"
                f"  cpu {result['server_cpu_s']} generator {result['generator_cpu_s']}"
                f"  drain {result['backlog_drain_s']} s"
                f"  {result['gateway_cpu_ms_per_message']} cpu ms/msg"
            )
    for key in ("jasmin_error", "ratio_smsgw_to_jasmin"):
        if key in report:
            print(f"{key}: {report[key]}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.serve_engine is not None:
        return serve_engine(args.serve_engine, args.credit)
    if args.peer == "kannel" or args.messages:
        return count_mode(args)
    args.connections = args.connections or ROUNDS_CLIENTS
    started = time.monotonic()
    report = uvloop.run(benchmark(args))
    report["wall_s"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(report), flush=True)
    else:
        _print_table(report)
    complete = all(
        result["messages_accepted"] == result["messages_sent"] > 0
        for gateway in (OURS, *PEERS)
        for result in report.get(gateway, {}).values()
    )
    return 0 if complete else 1


def count_mode(args: argparse.Namespace) -> int:
    """Issue #16's harness: smsgw (durable) and Kannel, a fixed count each."""
    from bench import http_count

    args.messages = args.messages or COUNT_MESSAGES
    args.connections = args.connections or COUNT_CLIENTS
    if args.peer == "jasmin":
        raise SystemExit("the count mode compares with Kannel, not Jasmin")
    if unknown := set(args.comparisons) - set(http_count.COMPARISONS):
        raise SystemExit(f"unknown comparisons {sorted(unknown)}: {list(http_count.COMPARISONS)}")
    started = time.monotonic()
    report = uvloop.run(http_count.compare(args))
    report["wall_s"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(report), flush=True)
    else:
        http_count.print_table(report)
    complete = all(
        result["complete"]
        for gateway in (http_count.OURS, http_count.PEER)
        for result in report.get(gateway, {}).values()
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
