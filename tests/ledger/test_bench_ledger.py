"""`python -m bench.ledger --json` runs end to end and prints one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.services import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_prints_one_json_object() -> None:
    command = [
        sys.executable, "-m", "bench.ledger", "--json", "--redis-url", REDIS_URL,
        "--seconds", "0.2", "--warmup", "0.05", "--concurrency", "16", "--accounts", "4",
    ]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    report = json.loads(out.stdout)
    assert report["batched_accepts_per_s"] > 0 and report["single_accepts_per_s"] > 0
    assert report["ratio"] == round(
        report["batched_accepts_per_s"] / report["single_accepts_per_s"], 2
    )
    assert report["concurrency"] == 16 and report["goal_accepts_per_s"] == 50_000
