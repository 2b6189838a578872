"""`smsgw dev` as a newcomer runs it: a real process, its banner, SMPP and HTTP."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys

import httpx

from smsgw.dev import DEMO_CREDIT, DEMO_PRICE, DEMO_SCHEDULED, DEMO_TRAFFIC


async def test_dev_prints_credentials_that_work_over_http() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsgw.cli",
        "dev",
        "--port",
        "0",
        "--api-port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        banner = ""
        async with asyncio.timeout(30):
            while "Ctrl-C stops." not in banner:
                line = await process.stdout.readline()
                assert line, f"smsgw dev exited early: {banner}"
                banner += line.decode()
        url = re.search(r"HTTP\s+(http://\S+)", banner)
        key = re.search(r"API key\s+(\S+)", banner)
        assert url and key and re.search(r"SMPP\s+127\.0\.0\.1:\d+", banner)
        async with httpx.AsyncClient(base_url=url[1]) as client:
            assert (await client.get("/health")).json() == {"status": "ok"}
            auth = {"Authorization": f"Bearer {key[1]}"}
            message = {"to": "33612345678", "from": "Demo", "text": "hi"}
            wait = {"wait": "delivered", "timeout": 10}
            sent = await client.post("/v1/messages", json=message | wait, headers=auth)
            assert sent.status_code == 200, sent.text
            assert sent.json()["state"] == "delivered"
            balance = (await client.get("/v1/balance", headers=auth)).json()
            # The demo traffic's delivered messages, then this one, are charged.
            delivered = DEMO_TRAFFIC - DEMO_SCHEDULED + 1
            assert balance["balance"] == DEMO_CREDIT - delivered * DEMO_PRICE
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


def test_a_taken_port_is_one_clear_line_and_status_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = subprocess.run(
            [sys.executable, "-m", "smsgw.cli", "dev", "--port", port, "--api-port", "-1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("smsgw dev: ")
    assert "address already in use" in run.stderr and "Traceback" not in run.stderr
