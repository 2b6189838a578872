"""``python -m bench.e2e --shards N``: N engine processes on a local Redis Cluster.

A throwaway cluster (`bench.redis_cluster`: three masters, three replicas)
and a throwaway PostgreSQL database; one simulated operator; N ``smsgw
serve`` processes, each its own shard (``shard``, ``shard_number``) with the
in-process persister, all sharing the cluster and the database; and one ESME
fleet per shard, the messages split evenly, each fleet its own account
(``bench-<n>``): the operator sends a receipt on any bind of ours, and the
shard that takes it delivers it to a bind of the message's account, so a fleet
hears only its own messages' receipts. It prints each
shard's accepted and receipts per second as its fleet saw them, and the total:
the messages of every fleet over the time from the first submit to the last
receipt of any. On this 2-core machine more shards than cores measure
contention, not scaling; the figure that carries to a bigger machine is CPU
per message (printed per process).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvloop

from bench.e2e import (
    ACCOUNT,
    PRICE,
    Child,
    build_parser,
    engine_config,
    fleet_command,
    free_port,
    json_report,
    python_module,
    throwaway_database,
)
from bench.redis_cluster import LocalCluster
from ledger.config import LedgerConfig
from ledger.redis_client import open_redis
from ledger.redis_ledger import RedisLedger

READY = "gateway started"


async def run_shards(args: Any) -> dict[str, Any]:
    """The report of one run of ``args.shards`` engines on a fresh cluster."""
    with LocalCluster() as cluster, tempfile.TemporaryDirectory(prefix="smsgw-shards-") as tmp:
        async with throwaway_database(args.database_url) as database_url:
            env = os.environ | {"SMSGW_REDIS_URL": cluster.url, "SMSGW_DATABASE_URL": database_url}
            return await _run(args, Path(tmp), cluster.url, env)


async def _run(args: Any, directory: Path, redis_url: str, env: dict[str, str]) -> dict[str, Any]:
    namespace = "bench-shards"
    operator = Child("operator")
    engines = [Child(f"shard-{n}") for n in range(args.shards)]
    started: list[Child] = []
    redis = await open_redis(redis_url, timeout=10.0, connections=8)
    try:
        started.append(operator)
        await operator.start(
            python_module(
                "bench.smsc_sim", "--port", "0",
                "--latency-ms", str(args.operator_latency_ms),
                "--receipt-delay-ms", str(args.receipt_delay_ms),
                "--deliver-window", str(args.connector_window),
            )
        )  # fmt: skip
        operator_port = int((await operator.wait_event("listening"))["port"])
        ports = []
        for number, engine in enumerate(engines):
            config = directory / f"{engine.name}.toml"
            text = _accounts(engine_config(args, operator_port, free_port(), namespace), args)
            shard = f'shard = "{engine.name}"\nshard_number = {number}\n'
            config.write_text(text.replace('shard = "bench"\n', shard, 1))
            started.append(engine)
            await engine.start(python_module("smsgw.cli", "serve", "--config", str(config)), env)
            ports.append(int((await engine.wait_event(READY))["ports"][0]))
        ledger = RedisLedger(redis, LedgerConfig(namespace=namespace))
        await ledger.start()
        share = args.count // args.shards
        for n in range(args.shards):
            await ledger.adjust(f"{ACCOUNT}-{n}", share * PRICE, reason="credit", reference="b")
        cpu_before = {child.name: child.cpu_seconds() for child in started}
        fleets = [Child(f"fleet-{n}") for n in range(args.shards)]
        for n, (fleet, port) in enumerate(zip(fleets, ports, strict=True)):
            await fleet.start(_fleet_argv(args, port, share, f"{ACCOUNT}-{n}"))
        codes = [await fleet.wait(args.timeout + 30) for fleet in fleets]
        cpu = {child.name: child.cpu_seconds() - cpu_before[child.name] for child in started}
        results = [json_report(fleet, "accepted") for fleet in fleets]
    finally:
        for child in reversed(started):
            await child.stop()
        await redis.aclose()
    return _report(args, engines, results, codes, cpu)


def _accounts(config: str, args: Any) -> str:
    """``config`` with its one account made ``args.shards`` accounts, one per fleet."""
    one = f'[[accounts]]\nid = "{ACCOUNT}"\n'
    start = config.index(one)
    end = config.index("\n\n", start) + 2
    block = config[start:end]
    every = "".join(
        block.replace(one, one.replace(ACCOUNT, f"{ACCOUNT}-{n}")) for n in range(args.shards)
    )
    return config[:start] + every + config[end:]


def _fleet_argv(args: Any, port: int, count: int, account: str) -> list[str]:
    return fleet_command(
        port,
        account,
        binds=args.binds,
        window=args.window,
        count=count,
        timeout=args.timeout,
        receipt_wait=args.receipt_wait,
        rate=args.rate,
    )


def _report(
    args: Any,
    engines: list[Child],
    results: list[dict[str, Any]],
    codes: list[int],
    cpu: dict[str, float],
) -> dict[str, Any]:
    accepted = sum(r["accepted"] for r in results)
    receipts = sum(r["receipts"] for r in results)
    slowest = max(r["elapsed_s"] for r in results)
    per_message = max(accepted, 1)
    return {
        "backend": "redis-cluster+postgres",
        "shards": args.shards,
        "count": args.count,
        "per_shard": {
            engine.name: {
                "accepted_per_s": r["accepted_per_s"],
                "receipts_per_s": r["receipts_per_s"],
                "accepted": r["accepted"],
                "receipts": r["receipts"],
                "refused": r["refused"],
            }
            for engine, r in zip(engines, results, strict=True)
        },
        "total_receipts_per_s": round(receipts / max(slowest, 1e-3), 1),
        "accepted": accepted,
        "receipts": receipts,
        "cpu_us_per_message": {name: round(s * 1e6 / per_message, 1) for name, s in cpu.items()},
        "exit_codes": {f"fleet-{n}": code for n, code in enumerate(codes)},
        "engine_problems": {engine.name: dict(engine.problems) for engine in engines},
        "engine_first_problems": {engine.name: engine.first_problems for engine in engines},
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = uvloop.run(run_shards(args))
    if args.json:
        print(json.dumps(report), flush=True)
    else:
        for name, value in report.items():
            print(f"{name:>22}  {value}")
    complete = not any(report["exit_codes"].values())
    expected = args.count // args.shards * args.shards
    return 0 if complete and report["receipts"] == report["accepted"] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
