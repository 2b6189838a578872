"""`smsgw serve` and `smsgw hash-password` as an operator runs them: real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bench.e2e import free_port
from engine.customers.api_keys import RedisApiKeyStore, new_api_key
from engine.customers.passwords import hash_password, verify_password
from smpp import pdu as p
from smpp.aio import open_session
from tests.cluster import client_for
from tests.engine.gateway_harness import Customer
from tests.services import REDIS_URL, delete_namespace, random_namespace
from tests.smsgw.output import read_until

CONFIG = """
shard = "serve-test"

[[listeners]]
port = {port}

[ledger]
namespace = "{namespace}"

[[accounts]]
id = "bank"
password_hash = "{password_hash}"

[[connectors]]
id = "nowhere"
host = "127.0.0.1"
port = 9
system_id = "x"

[routing]
currency = "EUR"
connectors = {{ nowhere = {{}} }}
"""


def test_hash_password_reads_stdin_and_refuses_long_ones() -> None:
    smsgw = [sys.executable, "-m", "smsgw.cli", "hash-password"]
    out = subprocess.run(smsgw, input="s3cret\n", capture_output=True, text=True, check=True)
    assert verify_password("s3cret", out.stdout.strip())
    refused = subprocess.run(smsgw, input="far-too-long\n", capture_output=True, text=True)
    assert refused.returncode == 2 and "1 to 8" in refused.stderr


def test_serve_rejects_a_broken_config_with_its_places(tmp_path: Path) -> None:
    config = tmp_path / "smsgw.toml"
    config.write_text('shard_number = "one"\n[[accounts]]\nid = 5\n')
    run = subprocess.run(
        [sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "shard_number" in run.stderr and "accounts[0]" in run.stderr


def write_config(tmp_path: Path, port: int, namespace: str, extra: str = "", top: str = "") -> Path:
    """The shard's config: SMPP on ``port``, account "bank" (password "secret");
    ``extra`` (sections) goes at its end, ``top`` (top-level keys) first."""
    config = tmp_path / "smsgw.toml"
    password_hash = hash_password("secret", log2_n=10)
    config.write_text(
        top + CONFIG.format(port=port, namespace=namespace, password_hash=password_hash) + extra
    )
    return config


def serve_env(database_url: str | None = None, redis_url: str = REDIS_URL) -> dict[str, str]:
    env = {**os.environ, "SMSGW_REDIS_URL": redis_url}
    env.pop("SMSGW_DATABASE_URL", None)
    if database_url is not None:
        env["SMSGW_DATABASE_URL"] = database_url
    return env


@asynccontextmanager
async def serving(
    tmp_path: Path,
    port: int,
    namespace: str,
    extra: str = "",
    ready: bytes = b"gateway started",
    database_url: str | None = None,
    redis_url: str = REDIS_URL,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`smsgw serve` on the real Redis (and PostgreSQL if given, else with
    --no-database) until it logs ``ready``; killed if the test leaves it
    running, its namespace deleted after."""
    config = write_config(tmp_path, port, namespace, extra)
    flags = [] if database_url else ["--no-database"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config), *flags,
        env=serve_env(database_url, redis_url), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            await read_until(process.stdout, ready)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        redis = await client_for(redis_url)
        await delete_namespace(redis, namespace)
        await redis.aclose()


async def test_serve_binds_customers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, redis_url: str
) -> None:
    port = free_port()
    async with serving(tmp_path, port, random_namespace(), redis_url=redis_url) as process:
        bind = p.BindTransceiver(system_id="bank", password="secret")
        connection = await open_session("127.0.0.1", port, bind, Customer())
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(connection.wait_closed(), 20)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_serve_answers_http_with_keys_from_redis(tmp_path: Path, redis_url: str) -> None:
    api_port, namespace = free_port(), random_namespace()
    redis = await client_for(redis_url)
    record, key = new_api_key("bank")
    await RedisApiKeyStore(redis, namespace).put(record)
    await redis.aclose()
    extra = f"\n[api]\nport = {api_port}\n"
    async with serving(
        tmp_path, free_port(), namespace, extra, ready=b"http front listening", redis_url=redis_url
    ) as process:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as client:
            assert (await client.get("/health")).json() == {"status": "ok"}
            ready = await client.get("/ready")  # its one connector points nowhere
            checks = ready.json()["checks"]
            assert ready.status_code == 503 and checks["redis"] == {"ok": True}
            assert checks["connectors"]["ok"] is False
            assert checks["connectors"]["bound"] == {"nowhere": 0}
            balance = await client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
            assert balance.status_code == 200 and balance.json()["balance"] == 0
            assert (await client.get("/v1/balance")).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
