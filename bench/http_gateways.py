"""The two gateways of `bench.http_count`, started and stopped: ``smsgw serve``
run durable, and Kannel (`bench.kannel_peer`), each with its own simulated
operator (`bench.smsc_sim`, the same flags, binds and window).

smsgw runs as in production: ``smsgw serve`` on Redis and PostgreSQL with
``smsgw ledger persist`` as its own process, in a throwaway key namespace and
database (`bench.e2e`'s), an API key and credit for the bench account, its
webhooks signed and allowed to call loopback (``[webhooks] private_networks =
true``, as ``smsgw dev``). ``--profile`` samples serve with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from bench.costs import process_cpu_seconds
from bench.e2e import (
    ACCOUNT,
    Child,
    delete_namespace,
    engine_config,
    pyspy_executable,
    pyspy_summary,
    python_module,
    redis_cpu_seconds,
    throwaway_database,
)
from bench.kannel_peer import free_port, kannel_peer, setup, version
from engine.customers.api_keys import RedisApiKeyStore, new_api_key
from ledger.config import LedgerConfig
from ledger.redis_ledger import RedisLedger

OURS, PEER = "smsgw", "kannel"
OPERATOR_ARGS = ("--latency-ms", "1", "--receipt-delay-ms", "10")
WINDOW = 200
"""Both gateways' submit_sm in flight per bind to their operator (``--binds`` binds)."""
CREDIT = 10**13
START_TIMEOUT = 30.0
POLL_SECONDS = 0.1
PYSPY_RATE = 100
"""Samples a second: enough for shares, little for the engine to carry."""
PG_OWN_PIDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'"
)


@dataclass
class CountGateway:
    """A gateway under load: where to send, and the processes whose CPU counts."""

    name: str
    url: str
    credentials: dict[str, str]
    operator: Child
    processes: dict[str, Child]
    setup: dict[str, Any] = field(default_factory=dict)
    database_url: str = ""
    redis: Redis | None = None

    async def cpu(self) -> dict[str, float | dict[int, float]]:
        """CPU seconds so far: each process's, each PostgreSQL backend's by pid, Redis's."""
        for child in self.processes.values():
            assert child.process is not None
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited: {child.diagnosis()}")
        found: dict[str, float | dict[int, float]] = {
            name: child.cpu_seconds() for name, child in self.processes.items()
        }
        if self.database_url:
            found["postgres"] = {pid: _cpu(pid) for pid in await _backends(self.database_url)}
        if self.redis is not None:
            found["redis"] = await redis_cpu_seconds(self.redis)
        return found


def _cpu(pid: int) -> float:
    try:
        return process_cpu_seconds(pid)
    except OSError:  # a backend that ended since it was listed
        return 0.0


async def _backends(database_url: str) -> list[int]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(PG_OWN_PIDS, database_url.rsplit("/", 1)[1])
        own = connection.get_server_pid()
    finally:
        await connection.close()
    return [row["pid"] for row in rows if row["pid"] != own]


# -- starting them -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def operator() -> AsyncIterator[Child]:
    child = Child("operator")
    argv = ["--port", "0", *OPERATOR_ARGS, "--deliver-window", str(WINDOW)]
    await child.start(python_module("bench.smsc_sim", *argv))
    try:
        await child.wait_event("listening")
        yield child
    finally:
        await child.stop()


def serve_config(
    operator_port: int, api_port: int, metrics_port: int, namespace: str, binds: int
) -> str:
    """`bench.e2e`'s engine config with the HTTP front on and webhooks to loopback
    allowed; the account signs its webhooks, as a customer's would."""
    shape = argparse.Namespace(
        persister="process",
        binds=1,
        deliver_window=1_000,
        connector_binds=binds,
        connector_window=WINDOW,
    )
    toml = engine_config(shape, operator_port, metrics_port, namespace)
    secret = json.dumps(f"whsec_{secrets.token_hex(16)}")
    toml = toml.replace("\n[[connectors]]", f"webhook_secret = {secret}\n\n[[connectors]]", 1)
    return (
        toml
        + f'\n[api]\nhost = "127.0.0.1"\nport = {api_port}\n'
        + "\n[webhooks]\nprivate_networks = true\n"
    )


@contextlib.asynccontextmanager
async def smsgw_gateway(args: argparse.Namespace) -> AsyncIterator[CountGateway]:
    """``smsgw serve`` + ``smsgw ledger persist`` on a throwaway namespace and
    database, with an API key and credit, its operator bound."""
    redis = Redis.from_url(args.redis_url)
    namespace = f"bench-{secrets.token_hex(6)}"
    try:
        async with (
            operator() as sim,
            throwaway_database(args.database_url) as database_url,
            contextlib.AsyncExitStack() as running,
        ):
            scratch = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="smsgw-http-")))
            env = os.environ | {
                "SMSGW_REDIS_URL": args.redis_url,
                "SMSGW_DATABASE_URL": database_url,
            }
            record, api_key = new_api_key(ACCOUNT, label="bench")
            await RedisApiKeyStore(redis, namespace).put(record)
            persister = await _persister(namespace, env, running)
            serve, url = await _serve(sim, args.binds, namespace, scratch, env, running)
            ledger = RedisLedger(redis, LedgerConfig(namespace=namespace), shard="bench")
            await ledger.start()
            await ledger.adjust(ACCOUNT, CREDIT, reason="bench credit", reference="bench")
            await _wait_ready(url, serve)
            gateway = CountGateway(
                OURS,
                url,
                {"api_key": api_key, "username": ACCOUNT, "password": ""},
                sim,
                {"serve": serve, "persister": persister},
                setup={
                    "command": "smsgw serve + smsgw ledger persist (Redis + PostgreSQL)",
                    "webhooks": "signed JSON; [webhooks] defaults but private_networks",
                },
                database_url=database_url,
                redis=redis,
            )
            profile = Path(args.profile).resolve() if args.profile else None
            profiler = await _profile(serve, profile) if profile else None
            if profiler is not None:
                running.push_async_callback(_stop_quietly, profiler)
            yield gateway
            await serve.stop()
            await persister.stop()
            gateway.setup["warnings"] = {
                child.name: dict(child.problems) | {"first": child.first_problems}
                for child in (serve, persister)
                if child.problems
            }
            if profiler is not None and profile is not None:
                await profiler.wait()  # py-spy writes once serve has exited
                gateway.setup["profile"] = pyspy_summary(profile) | {"raw": str(profile)}
    finally:
        await delete_namespace(redis, namespace)
        await redis.aclose()


async def _persister(
    namespace: str, env: dict[str, str], running: contextlib.AsyncExitStack
) -> Child:
    persister = Child("persister")
    await persister.start(
        python_module("smsgw.cli", "ledger", "persist", "--namespace", namespace), env=env
    )
    running.push_async_callback(_stop_quietly, persister)
    await persister.wait_until(
        lambda: any("persisting" in line for line in persister.stdout_tail), "persisting"
    )
    return persister


async def _serve(
    sim: Child,
    binds: int,
    namespace: str,
    scratch: Path,
    env: dict[str, str],
    running: contextlib.AsyncExitStack,
) -> tuple[Child, str]:
    """serve started on its config, and its URL."""
    api_port, metrics_port = free_port(), free_port()
    config = scratch / "smsgw.toml"
    operator_port = int(sim.events["listening"]["port"])
    config.write_text(serve_config(operator_port, api_port, metrics_port, namespace, binds))
    serve = Child("serve")
    await serve.start(python_module("smsgw.cli", "serve", "--config", str(config)), env=env)
    running.push_async_callback(_stop_quietly, serve)
    await serve.wait_event("gateway started")
    return serve, f"http://127.0.0.1:{api_port}"


async def _wait_ready(url: str, serve: Child) -> None:
    """Until /ready says yes: the HTTP front listens after "gateway started"."""
    async with httpx.AsyncClient(base_url=url) as client, asyncio.timeout(START_TIMEOUT):
        while True:
            assert serve.process is not None
            if serve.process.returncode is not None:
                raise RuntimeError(f"serve exited: {serve.diagnosis()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/ready")).status_code == 200:
                    return
            await asyncio.sleep(POLL_SECONDS)


async def _stop_quietly(child: Child) -> None:
    """Stop a child left running by a failure; one already stopped just reports."""
    with contextlib.suppress(RuntimeError):
        await child.stop()


async def _profile(serve: Child, output: Path) -> Child:
    profiler = Child("py-spy")
    await profiler.start(
        [
            pyspy_executable(), "record", "--pid", str(serve.pid), "--rate", str(PYSPY_RATE),
            "--nonblocking", "--format", "raw", "--output", str(output),
        ]
    )  # fmt: skip
    await profiler.wait_until(
        lambda: any("Sampling process" in line for line in profiler.stdout_tail), "sampling"
    )
    return profiler


@contextlib.asynccontextmanager
async def kannel_gateway(binds: int, store: bool = False) -> AsyncIterator[CountGateway]:
    async with operator() as sim:
        port = int(sim.events["listening"]["port"])
        async with kannel_peer(port, binds, WINDOW, store) as kannel:
            gateway = CountGateway(
                PEER,
                kannel.url,
                {"username": kannel.username, "password": kannel.password},
                sim,
                kannel.processes,
                setup=setup(store) | {"version": version()},
            )
            yield gateway
            gateway.setup["log"] = kannel.log_problems()
