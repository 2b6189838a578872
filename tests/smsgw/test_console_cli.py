"""`smsgw console users` on the config's Redis, and `smsgw serve` with the
console on: a user the command line made logs in over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.e2e import free_port
from tests.cluster import client_for
from tests.services import REDIS_URL, delete_namespace, random_namespace
from tests.smsgw.test_serve import serve_env, serving, write_config

PASSWORD = "a long enough password"
SECRET = "k" * 40
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def console_cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "smsgw.cli", "console", "users", *args]
    return subprocess.run(
        [*command, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        env=serve_env(),
    )


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    name = random_namespace()
    yield name
    redis = await client_for(REDIS_URL)
    await delete_namespace(redis, name)
    await redis.aclose()


def test_add_list_disable(tmp_path: Path, namespace: str) -> None:
    config = write_config(tmp_path, free_port(), namespace)
    added = console_cli(
        config, "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert added.returncode == 0, added.stderr
    support = console_cli(
        config, "add", "ops", "--role", "support", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert support.returncode == 0, support.stderr
    twice = console_cli(config, "add", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert twice.returncode == 1 and "exists" in twice.stderr
    short = console_cli(config, "add", "x", "--role", "admin", "--password-stdin", stdin="short")
    assert short.returncode == 1 and "password" in short.stderr
    no_account = console_cli(
        config, "add", "c", "--role", "customer", "--password-stdin", stdin=PASSWORD
    )
    assert no_account.returncode == 1 and "account" in no_account.stderr
    listed = console_cli(config, "list")
    assert listed.returncode == 0
    assert re.search(r"ops\s+support", listed.stdout) and re.search(r"root\s+admin", listed.stdout)
    last = console_cli(config, "disable", "root")
    assert last.returncode == 1 and "last enabled admin" in last.stderr
    assert console_cli(config, "disable", "ops").returncode == 0
    assert '"disabled": true' in console_cli(config, "list", "--json").stdout


def test_serve_refuses_a_console_without_a_secret(
    tmp_path: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMSGW_CONSOLE_SECRET", raising=False)
    short = tmp_path / "secret"
    short.write_text("too short\n")
    for section in (
        "[console]\nenabled = true\n",
        f'[console]\nenabled = true\nsecret_file = "{short}"\n',
    ):
        config = write_config(tmp_path, free_port(), namespace, "\n" + section)
        run = subprocess.run(
            [sys.executable, "-m", "smsgw.cli", "serve", "--config", str(config), "--no-database"],
            capture_output=True,
            text=True,
            env=serve_env(),
            timeout=60,
        )
        assert run.returncode != 0
        assert "[console]" in run.stderr and "32 bytes" in run.stderr, run.stderr


async def test_a_user_added_by_the_cli_logs_in_to_serve(
    tmp_path: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSGW_CONSOLE_SECRET", SECRET)
    config = write_config(tmp_path, free_port(), namespace)
    added = console_cli(
        config, "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert added.returncode == 0, added.stderr
    api_port = free_port()
    extra = f"\n[api]\nport = {api_port}\n\n[console]\nenabled = true\nsecure_cookies = false\n"
    base_url = f"http://127.0.0.1:{api_port}"
    ready = b"http front listening"
    async with (
        serving(tmp_path, free_port(), namespace, extra, ready=ready),
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        form = await client.get("/console/login")
        assert form.status_code == 200
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        answer = await client.post(
            "/console/login",
            data={"username": "root", "password": PASSWORD, "csrf": csrf.group(1)},
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/console"
        page = await client.get("/console/users")
        assert page.status_code == 200 and 'data-testid="user-root"' in page.text
