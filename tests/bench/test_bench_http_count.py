"""The count mode of the HTTP benchmark (issue #16): a tiny run against a
durable smsgw (and Kannel, when installed) as the real processes, and the
pieces of its arithmetic: the callback receiver's keys and counts, CPU deltas,
Kannel's requests and answers."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from bench import http_load
from bench.callback_sink import CallbackCounts, message_keys
from bench.http_count import COMPARISONS, cpu_spent
from bench.http_load import RequestMaker, accepted_messages
from bench.kannel_peer import KannelPorts, PeerUnavailable, binaries, kannel_config, setup

PROJECT = Path(__file__).resolve().parents[2]
MESSAGES = 40


def count_run(*extra: str) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench.http", "--json", "--messages", str(MESSAGES),
            "--clients", "4", "--rounds", "1", "--timeout", "30", *extra,
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, (completed.stdout[-2000:], completed.stderr[-3000:])
    return json.loads(completed.stdout)


def check_gateway(report: dict[str, Any], name: str, processes: set[str]) -> None:
    assert report[name].keys() == set(COMPARISONS)
    for comparison, result in report[name].items():
        assert result["scenario"] == COMPARISONS[comparison][name]
        assert result["accepted"] == result["completed"] == MESSAGES and result["complete"]
        assert result["messages_per_s"] > 0 and result["elapsed_s"] > 0
        assert result["cpu_s"].keys() == processes
        assert isinstance(result["gateway_cpu_us_per_message"], int)
    callbacks = report[name]["with-callbacks"]["callbacks"]
    assert callbacks["messages"] == MESSAGES and callbacks["unkeyed"] == 0
    assert report[name]["without-callbacks"]["callbacks"] is None


ENVIRONMENT_WARNINGS = {"redis frees expired keys on its main thread"}
"""Said of the machine's shared Redis, which the tests never reconfigure."""


def test_smsgw_durable_gets_every_message_through_and_called_back() -> None:
    report = count_run()
    assert "kannel" not in report and report["settings"]["clients"] == 4
    check_gateway(report, "smsgw", {"serve", "persister", "postgres", "redis"})
    warned = {
        process: {event for event in found["first"] if event not in ENVIRONMENT_WARNINGS}
        for process, found in report["smsgw_setup"]["warnings"].items()
    }
    assert not any(warned.values()), warned


def test_kannel_runs_beside_smsgw_when_installed() -> None:
    try:
        binaries()
    except PeerUnavailable as exc:
        pytest.skip(str(exc))
    report = count_run("--peer", "kannel", "--kannel-store", "file")
    assert "kannel_error" not in report
    check_gateway(report, "smsgw", {"serve", "persister", "postgres", "redis"})
    check_gateway(report, "kannel", {"bearerbox", "smsbox"})
    assert report["ratio_smsgw_to_kannel"].keys() == set(COMPARISONS)
    assert report["kannel_setup"]["dlr_storage"].startswith("internal")
    assert report["kannel_setup"]["message_store"].startswith("file")
    assert report["settings"]["kannel_store"] == "file"


def test_kannel_keeps_its_queue_in_a_store_file_only_when_asked(tmp_path: Path) -> None:
    ports = KannelPorts()
    plain = kannel_config(tmp_path, ports, 2775, binds=1, window=10)
    stored = kannel_config(tmp_path, ports, 2775, binds=1, window=10, store=True)
    assert "store-type" not in plain and setup(False)["message_store"].startswith("none")
    core = stored.split("group = smsc")[0]
    assert "store-type = file" in core and f'store-location = "{tmp_path}/kannel.store"' in core
    assert setup(True)["message_store"].startswith("file")


def test_the_sink_keys_a_callback_by_its_recipient() -> None:
    assert message_keys(b"/kannel?to=33600000001&type=1", b"") == ["33600000001"]
    webhook = orjson.dumps({"event": "receipt", "message_id": "m1", "to": "33600000002"})
    assert message_keys(b"/smsgw", webhook) == ["33600000002"]
    batch = orjson.dumps([{"to": "1"}, {"to": "2"}, {"no": "to"}])
    assert message_keys(b"/smsgw", batch) == ["1", "2"]
    assert message_keys(b"/smsgw", b"not json") == []
    assert message_keys(b"/smsgw?type=1", b"") == []


def test_a_duplicate_callback_does_not_move_the_end_of_a_run() -> None:
    counts = CallbackCounts()
    counts.add(["1"])
    counts.add(["2"])
    last = counts.last_new_at
    counts.add(["1"])
    counts.add([])
    stats = counts.stats()
    assert stats["last_new_at"] == last
    assert (stats["callbacks"], stats["messages"], stats["duplicates"], stats["unkeyed"]) == (
        4,
        2,
        1,
        1,
    )
    counts.reset()
    assert counts.stats()["messages"] == 0


def test_cpu_spent_counts_a_new_backend_whole_and_a_gone_one_not_at_all() -> None:
    before = {"serve": 1.0, "postgres": {10: 2.0, 11: 5.0}}
    after = {"serve": 3.5, "postgres": {10: 2.5, 12: 0.25}}
    assert cpu_spent(before, after) == {"serve": 2.5, "postgres": 0.75}


def test_kannel_requests_name_their_recipient_in_the_dlr_url() -> None:
    args = argparse.Namespace(
        scenario="kannel-dlr",
        username="u",
        password="p",
        callback_url="http://127.0.0.1:9/kannel",
        batch=1,
        api_key="",
    )
    request = RequestMaker(args).build()
    fields = parse_qs(urlsplit(request.target).query)
    assert request.method == "GET" and request.target.startswith("/cgi-bin/sendsms?")
    assert fields["dlr-mask"] == ["3"] and fields["username"] == ["u"]
    dlr = urlsplit(fields["dlr-url"][0])
    assert parse_qs(dlr.query) == {"to": fields["to"], "type": ["%d"]}
    assert accepted_messages("kannel-dlr", 202, b"0: Accepted for delivery") == 1
    assert accepted_messages("kannel-send", 403, b"Authorization failed") == 0


def test_the_generator_sends_a_refused_request_again_after_its_retry_after() -> None:
    answers = [
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n",
        *[b'HTTP/1.1 202 Accepted\r\nContent-Length: 21\r\n\r\n{"status":"accepted"}'] * 3,
    ]
    bodies: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            bodies.append(await reader.readexactly(length))
            writer.write(answers.pop(0))
        writer.close()

    async def load() -> dict[str, Any]:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        args = http_load.build_parser().parse_args(
            [
                "--url", f"http://127.0.0.1:{port}", "--scenario", "v1-single",
                "--connections", "1", "--warmup", "0", "--duration", "10",
                "--requests", "3", "--retry-refused",
            ]
        )  # fmt: skip
        async with server:
            return await http_load.run(args)

    report = asyncio.run(load())
    assert report["retried"] == {"429": 1} and report["statuses"] == {"202": 3}
    assert report["messages_accepted"] == 3
    assert bodies[0] == bodies[1] != bodies[2]  # the same message again, then the next


def test_a_refusal_is_named_by_its_problem_code() -> None:
    assert http_load.refusal(429, b'{"code":"locked_out","status":429}') == "429 locked_out"
    assert http_load.refusal(503, b"") == "503"
    assert http_load.refusal(429, b"{not json") == "429"
