"""`smsgw serve` starts whole or not at all, and always ends on a signal: real processes."""

from __future__ import annotations

import asyncio
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from smpp import codec
from smpp import pdu as p
from smpp.aio import open_session
from smpp.errors import SmppError
from tests.engine.gateway_harness import Customer
from tests.services import DATABASE_URL, database_url_for, random_namespace
from tests.smsgw.output import read_until
from tests.smsgw.test_serve import free_port, serve_env, serving, write_config

WAIT = 30.0
"""Seconds any wait may take before the test fails: a hang guard, never a timing assert."""


async def serve(config: Path, *flags: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Runs `smsgw serve` to its end: exit status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config), *flags,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def can_listen(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def refused_for_a_taken_port(tmp_path: Path, taken: int, extra: str, top: str = "") -> str:
    smpp_port = free_port()
    config = write_config(tmp_path, smpp_port, random_namespace(), extra, top)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        status, out, err = await serve(config, "--no-database", env=serve_env())
    assert status == 1 and "gateway started" not in out
    assert can_listen(smpp_port)
    [line] = err.splitlines()
    assert f"127.0.0.1:{taken}" in line and "address already in use" in line
    return line


async def test_a_taken_http_port_stops_the_start_with_one_line(tmp_path: Path) -> None:
    port = free_port()
    line = await refused_for_a_taken_port(tmp_path, port, f"\n[api]\nport = {port}\n")
    assert "(HTTP, [api] port)" in line


async def test_a_taken_metrics_port_stops_the_start_with_one_line(tmp_path: Path) -> None:
    port = free_port()
    line = await refused_for_a_taken_port(tmp_path, port, "", f"metrics_port = {port}\n")
    assert "(metrics, metrics_port)" in line


async def test_serve_without_a_database_runs_only_when_told(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port(), random_namespace())
    status, _, err = await serve(config, env=serve_env())
    [line] = err.splitlines()
    assert status == 2 and "SMSGW_DATABASE_URL" in line and "--no-database" in line
    both = serve_env(database_url=DATABASE_URL)
    status, _, err = await serve(config, "--no-database", env=both)
    assert status == 2 and "drop one of them" in err


@asynccontextmanager
async def empty_database() -> AsyncIterator[str]:
    """A database where `smsgw migrate` never ran; dropped after."""
    name = f"smsgw_test_empty_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield database_url_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_schema_behind_says_to_migrate(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port(), random_namespace())
    async with empty_database() as url:
        status, out, err = await serve(config, env=serve_env(database_url=url))
    [line] = err.splitlines()
    assert status == 1 and "gateway started" not in out
    assert "0001_accounts_and_ledger" in line and "run `smsgw migrate`" in line


async def test_redis_down_is_retried_for_the_wait_then_one_line(tmp_path: Path) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    extra = "\n[startup]\nwait = 1.0\n"
    config = write_config(tmp_path, free_port(), random_namespace(), extra)
    status, out, err = await serve(config, "--no-database", env=serve_env(redis_url=nowhere))
    first, last = err.splitlines()
    assert status == 1 and "gateway started" not in out
    assert "retrying for up to 1 s" in first
    assert "unreachable after 1 s" in last and "SMSGW_REDIS_URL" in last
    assert out.count("dependency unreachable") >= 1


async def test_ready_reports_each_dependency_and_the_persister_lag(
    tmp_path: Path, database_url: str
) -> None:
    api_port = free_port()
    extra = f"\n[api]\nport = {api_port}\n"
    async with serving(
        tmp_path,
        free_port(),
        random_namespace(),
        extra,
        ready=b"http front listening",
        database_url=database_url,
    ) as process:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as client:
            ready = await client.get("/ready")
        checks = ready.json()["checks"]
        assert ready.status_code == 503  # its one connector points nowhere
        assert checks["redis"]["ok"] and checks["database"]["ok"]
        assert checks["persister"]["ok"] and checks["persister"]["lag"] >= 0
        assert checks["connectors"] == {
            "ok": False,
            "bound": {"nowhere": 0},
            "error": "no connector has a live bind",
        }
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), WAIT) == 0


async def test_sigterm_during_load_drains_and_exits_0(tmp_path: Path) -> None:
    """An ESME keeps 50 submit_sm in flight; SIGTERM comes once 200 are
    answered. The shard answers what it took, unbinds the ESME and exits 0."""
    port = free_port()
    async with serving(tmp_path, port, random_namespace()) as process:
        bind = p.BindTransceiver(system_id="bank", password="secret")
        connection = await open_session("127.0.0.1", port, bind, Customer())
        answered = 0
        busy = asyncio.Event()

        async def submitter(n: int) -> None:
            nonlocal answered
            while True:
                submit = p.SubmitSm(destination_addr=f"316{n:08d}", short_message=b"hi")
                try:
                    await connection.request(submit)  # refused for credit: load all the same
                except SmppError:
                    return  # the shard unbound us
                answered += 1
                if answered >= 200:
                    busy.set()

        submitters = [asyncio.create_task(submitter(n)) for n in range(50)]
        await asyncio.wait_for(busy.wait(), WAIT)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
        await asyncio.wait_for(connection.wait_closed(), WAIT)
        await asyncio.wait_for(asyncio.gather(*submitters), WAIT)


async def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    """The first SIGTERM waits for an ESME that never answers its unbind (for
    [session] response_timeout, a minute); the second ends the process now."""
    port = free_port()
    extra = "\n[session]\nresponse_timeout = 600\n"
    async with serving(tmp_path, port, random_namespace(), extra) as process:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(codec.encode(p.BindTransceiver(system_id="bank", password="secret"), 1))
        await reader.readexactly(16)  # bound; from now on it reads nothing
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        async with asyncio.timeout(WAIT):
            await read_until(process.stdout, b'"stopping"')
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), WAIT) == 128 + signal.SIGTERM
        writer.close()


async def test_sigterm_while_waiting_for_redis_exits_0(tmp_path: Path) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    config = write_config(tmp_path, free_port(), random_namespace(), "\n[startup]\nwait = 600\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config), "--no-database",
        env=serve_env(redis_url=nowhere), stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = await asyncio.wait_for(process.stderr.readline(), WAIT)
        assert b"retrying for up to 600 s" in line
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_redis_url_password_is_never_printed(tmp_path: Path) -> None:
    nowhere = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    config = write_config(tmp_path, free_port(), random_namespace(), "\n[startup]\nwait = 0\n")
    status, out, err = await serve(config, "--no-database", env=serve_env(redis_url=nowhere))
    assert status == 1 and "hunter2" not in out + err and ":***@127.0.0.1" in err
