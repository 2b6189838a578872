"""The HTTP benchmark: a tiny run of our side as the real separate processes
(operator, engine with its HTTP front, load generator), and the arithmetic of
its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.http import ratios
from bench.http_load import SCENARIOS, accepted_messages

PROJECT = Path(__file__).resolve().parents[2]
REQUESTS = 60
BATCH = 5
RESULT_KEYS = {
    "scenario",
    "client",
    "connections",
    "requests",
    "messages_sent",
    "messages_accepted",
    "requests_per_s",
    "messages_per_s",
    "latency_ms",
    "statuses",
    "generator_cpu_s",
    "server_cpu_s",
    "backlog_drain_s",
    "gateway_cpu_ms_per_message",
    "rounds_messages_per_s",
}


def test_every_scenario_accepts_every_message() -> None:
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench.http", "--json", "--rounds", "1",
            "--warmup", "0", "--duration", "30", "--requests", str(REQUESTS),
            "--connections", "4", "--batch", str(BATCH),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert "jasmin" not in report and report["settings"]["connections"] == 4
    assert report["smsgw"].keys() == set(SCENARIOS)
    for scenario, result in report["smsgw"].items():
        assert result.keys() >= RESULT_KEYS
        per_request = BATCH if scenario == "v1-batch" else 1
        assert result["requests"] == REQUESTS
        assert result["messages_accepted"] == result["messages_sent"] == REQUESTS * per_request
        assert set(result["statuses"]) == {"202" if scenario.startswith("v1") else "200"}
        assert result["server_cpu_s"].keys() == {"engine", "operator"}
        assert result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]


def test_accepted_messages_reads_both_answer_forms() -> None:
    batch = b'{"messages":[{"status":"accepted","id":"a"},{"status":"refused","to":"1"}]}'
    assert accepted_messages("v1-batch", 202, batch) == 1
    assert accepted_messages("v1-single", 402, b'{"code":"no_credit"}') == 0
    assert accepted_messages("send-get", 200, b'Success "0a1b"') == 1
    assert accepted_messages("send-post", 403, b'Error "Authentication failure"') == 0


def test_ratios_compare_the_same_scenario_and_v1_with_the_best_send() -> None:
    def rate(value: float) -> dict[str, float]:
        return {"messages_per_s": value}

    ours = {"send-get": rate(300), "v1-single": rate(500), "v1-batch": rate(4000)}
    peer = {"send-get": rate(100), "send-post": rate(200)}
    assert ratios(ours, peer) == {
        "send-get": 3.0,
        "v1-single_vs_best_send": 2.5,
        "v1-batch_vs_best_send": 20.0,
    }
