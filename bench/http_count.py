"""`bench.http`'s count mode: smsgw and Kannel side by side, the issue #16 harness.

Each gateway gets its own simulated operator (`bench.smsc_sim`, the same
flags) with the same binds and window (one bind by default: with two, Kannel
drops 7 to 25% of its reports here, "DLR ... not found": a receipt that comes
in on one bind before the other bind has stored its submit_sm_resp's id);
both call the same customer callback receiver (`bench.callback_sink`); the
same load generator (`bench.http_load`) sends ``--messages`` messages over
``--clients`` keep-alive connections, no warm-up, sending a request answered
429 or 503 again after its Retry-After. Two comparisons, each in
``--rounds`` rounds, the gateways taking turns (the best round counts; every
round's rate is reported):

- ``with-callbacks``: smsgw's ``POST /v1/messages`` with a ``webhook_url``
  against Kannel's sendsms with a ``dlr-url`` (final reports, dlr-mask 3);
  the rate is messages / (first request -> last message's first callback at
  the receiver);
- ``without-callbacks``: ``POST /v1/messages`` against sendsms with no
  report; the rate is messages / (first request -> last submit_sm received by
  the operator).

smsgw runs durable (`bench.http_gateways`); Kannel keeps its reports and
queue in memory (`bench.kannel_peer.SETUP`), or its queue in its store file
with ``--kannel-store file``. The report gives each process's
CPU seconds from the first request to the end of the run (serve, persister,
the PostgreSQL backends of the throwaway database, Redis from its INFO: Redis
is shared with whatever else runs; bearerbox, smsbox) and CPU µs per message
of each gateway's own processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.e2e import Child, json_report, python_module
from bench.http_gateways import (
    OPERATOR_ARGS,
    OURS,
    PEER,
    PYSPY_RATE,
    WINDOW,
    CountGateway,
    kannel_gateway,
    smsgw_gateway,
)
from bench.http_load import CALLBACK_SCENARIOS
from bench.kannel_peer import PeerUnavailable

COMPARISONS = {
    "with-callbacks": {OURS: "v1-webhook", PEER: "kannel-dlr"},
    "without-callbacks": {OURS: "v1-single", PEER: "kannel-send"},
}
START_TIMEOUT = 30.0
POLL_SECONDS = 0.1
IDLE_SECONDS = 10.0
"""A run whose count has not moved for this long after the load is over."""


def cpu_spent(
    before: dict[str, float | dict[int, float]], after: dict[str, float | dict[int, float]]
) -> dict[str, float]:
    """Seconds per process between two `CountGateway.cpu` readings; a
    PostgreSQL backend that started in between counts whole."""
    spent: dict[str, float] = {}
    for name, now in after.items():
        then = before.get(name, 0.0)
        if isinstance(now, dict):
            earlier = then if isinstance(then, dict) else {}
            spent[name] = sum(now[pid] - earlier.get(pid, 0.0) for pid in now)
        else:
            spent[name] = now - (then if isinstance(then, float) else 0.0)
    return {name: round(max(seconds, 0.0), 3) for name, seconds in spent.items()}


async def operator_stats(operator: Child) -> dict[str, Any]:
    """The simulator's counters now (it prints them on SIGUSR1)."""
    operator.events.pop("stats", None)
    assert operator.process is not None
    operator.process.send_signal(signal.SIGUSR1)
    return (await operator.wait_event("stats"))["stats"]


# -- one run ------------------------------------------------------------------------


async def run_once(
    gateway: CountGateway, scenario: str, sink_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """``args.messages`` messages through ``gateway``, until the last callback
    (or the last submit_sm at the operator); figures and CPU."""
    async with httpx.AsyncClient(base_url=sink_url) as sink:
        await sink.post("/reset")
        submitted_before = (await operator_stats(gateway.operator))["submits"]
        cpu_before = await gateway.cpu()
        operator_before = gateway.operator.cpu_seconds()
        generator = Child("load generator")
        credentials = gateway.credentials
        await generator.start(
            python_module(
                "bench.http_load",
                "--url", gateway.url,
                "--scenario", scenario,
                "--connections", str(args.connections),
                "--warmup", "0",
                "--duration", str(args.timeout),
                "--requests", str(args.messages),
                "--api-key", credentials.get("api_key", ""),
                "--username", credentials["username"],
                "--password", credentials["password"],
                "--callback-url", f"{sink_url}/{gateway.name}",
                "--retry-refused",
            )
        )  # fmt: skip
        if await generator.wait(args.timeout + START_TIMEOUT) != 0:
            raise RuntimeError(f"the load generator failed: {generator.diagnosis()}")
        load = json_report(generator, "scenario")
        accepted = load["messages_accepted"]
        if scenario in CALLBACK_SCENARIOS:
            progress = _called_back(sink)
        else:
            progress = _submitted(gateway.operator, submitted_before)
        done, ended_at = await until_done(progress, accepted, args.timeout)
        cpu = cpu_spent(cpu_before, await gateway.cpu())
        sink_stats = (await sink.get("/stats")).json()
    elapsed = max(ended_at - load["first_request_at"], 1e-9)
    own = sum(cpu.values())
    return {
        "scenario": scenario,
        "messages_per_s": round(done / elapsed, 1),
        "messages": args.messages,
        "accepted": accepted,
        "completed": done,
        "complete": done == accepted == args.messages,
        "elapsed_s": round(elapsed, 3),
        "http_accepted_per_s": load["messages_per_s"],
        "latency_ms": load["latency_ms"],
        "statuses": load["statuses"],
        "retried": load["retried"],
        "errors_sample": load["errors_sample"],
        "cpu_s": cpu,
        "cpu_us_per_message": {k: round(1e6 * s / max(done, 1)) for k, s in cpu.items()},
        "gateway_cpu_us_per_message": round(1e6 * own / max(done, 1)),
        "operator_cpu_s": round(gateway.operator.cpu_seconds() - operator_before, 3),
        "generator_cpu_s": load["generator_cpu_s"],
        "callbacks": sink_stats if scenario in CALLBACK_SCENARIOS else None,
    }


Progress = Callable[[], Awaitable[tuple[int, float]]]
"""Messages done so far and the wall-clock time of the last one."""


async def until_done(progress: Progress, expected: int, timeout: float) -> tuple[int, float]:
    """Poll ``progress`` until ``expected`` messages are done, or none more for
    `IDLE_SECONDS` (a gateway that lost some: Kannel drops a report it cannot
    match), or ``timeout``."""
    loop = asyncio.get_running_loop()
    done, _ = await progress()
    moved = loop.time()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while done < expected and loop.time() - moved < IDLE_SECONDS:
                await asyncio.sleep(POLL_SECONDS)
                now_done, _ = await progress()
                if now_done != done:
                    done, moved = now_done, loop.time()
    return await progress()


def _called_back(sink: httpx.AsyncClient) -> Progress:
    async def progress() -> tuple[int, float]:
        stats = (await sink.get("/stats")).json()
        return stats["messages"], stats["last_new_at"]

    return progress


def _submitted(operator: Child, before: int) -> Progress:
    async def progress() -> tuple[int, float]:
        stats = await operator_stats(operator)
        return stats["submits"] - before, stats["last_submit_at"]

    return progress


# -- the whole run ------------------------------------------------------------------


async def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Both gateways (Kannel only with ``--peer kannel`` and when it runs here),
    every comparison, ``args.rounds`` rounds taking turns."""
    report: dict[str, Any] = {
        "settings": {
            "messages": args.messages,
            "clients": args.connections,
            "rounds": args.rounds,
            "comparisons": args.comparisons,
            "operator": " ".join(OPERATOR_ARGS),
            "binds": args.binds,
            "kannel_store": args.kannel_store,
            "window": WINDOW,
            "profile": f"py-spy on serve at {PYSPY_RATE} Hz" if args.profile else None,
            "cpus": os.cpu_count(),
        },
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    sink = Child("callback sink")
    await sink.start(python_module("bench.callback_sink", "--port", "0"))
    async with contextlib.AsyncExitStack() as running:
        running.push_async_callback(sink.stop)
        sink_url = f"http://127.0.0.1:{(await sink.wait_event('listening'))['port']}"
        gateways = [await running.enter_async_context(smsgw_gateway(args))]
        if args.peer == PEER:
            try:
                kannel = kannel_gateway(args.binds, store=args.kannel_store == "file")
                gateways.append(await running.enter_async_context(kannel))
            except PeerUnavailable as exc:
                report["kannel_error"] = str(exc)
        sink_before = sink.cpu_seconds()
        for comparison in args.comparisons:
            scenarios = COMPARISONS[comparison]
            for _ in range(args.rounds):
                for gateway in gateways:
                    result = await run_once(gateway, scenarios[gateway.name], sink_url, args)
                    _keep_best(report.setdefault(gateway.name, {}), comparison, result)
        report["sink_cpu_s"] = round(sink.cpu_seconds() - sink_before, 2)
    for gateway in gateways:
        report[f"{gateway.name}_setup"] = gateway.setup
    if OURS in report and PEER in report:
        report["ratio_smsgw_to_kannel"] = {
            name: round(report[OURS][name]["messages_per_s"] / peer["messages_per_s"], 2)
            for name, peer in report[PEER].items()
            if peer["messages_per_s"] and name in report[OURS]
        }
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _keep_best(found: dict[str, Any], comparison: str, result: dict[str, Any]) -> None:
    best = found.get(comparison)
    rates = [*(best["rounds_messages_per_s"] if best else []), result["messages_per_s"]]
    if best is None or result["messages_per_s"] > best["messages_per_s"]:
        best = result
    best["rounds_messages_per_s"] = rates
    found[comparison] = best


def print_table(report: dict[str, Any]) -> None:
    print(f"settings: {report['settings']}")
    for name in (OURS, PEER):
        for comparison, result in report.get(name, {}).items():
            print(
                f"{name:>6} {comparison:>17}  {result['messages_per_s']:>8} msg/s"
                f"  (rounds {result['rounds_messages_per_s']})"
                f"  {result['completed']}/{result['messages']} done"
                f"  retried {result['retried']}"
                f"  http p50 {result['latency_ms']['p50']} p99 {result['latency_ms']['p99']} ms"
                f"  cpu {result['cpu_s']}"
                f"  {result['gateway_cpu_us_per_message']} cpu us/msg"
            )
    for key in ("kannel_error", "ratio_smsgw_to_kannel", "load_average_after"):
        if key in report:
            print(f"{key}: {report[key]}")
    profile = report.get("smsgw_setup", {}).get("profile")
    if profile:
        for section in ("top_own", "top_cumulative"):
            print(f"-- serve profile (py-spy, {profile['samples']} samples): {section}")
            print("\n".join(profile[section]))
