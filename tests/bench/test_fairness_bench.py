"""The fairness benchmark: a tiny run of the embedded backend (operator and OTP
client in the benchmark, engine and flood in their own processes) and its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PHASE_KEYS = {"sent", "inside_gateway_ms", "submit_resp_ms", "refused", "never_reached_operator"}


def test_embedded_run_reports_both_phases_and_the_flood() -> None:
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench.fairness", "--json", "--backend", "embedded",
            "--quiet-seconds", "2", "--flood-warmup", "1", "--flood-seconds", "2",
            "--flood-binds", "2", "--flood-window", "50",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    quiet, flooded = report["otp_without_flood"], report["otp_with_flood"]
    assert quiet.keys() == flooded.keys() == PHASE_KEYS
    # The quiet phase's first second is left out: about a second at 20/s.
    assert quiet["sent"] >= 10 and quiet["never_reached_operator"] == 0 and not quiet["refused"]
    assert quiet["inside_gateway_ms"]["p50"] > 0
    assert flooded["sent"] >= 10
    assert report["flood_accepted"] > 0 and report["engine_exit_code"] == 0
