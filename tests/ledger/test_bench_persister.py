"""`python -m bench.persister --json` persists every event it wrote and says how fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.services import DATABASE_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 64  # bench.persister's: each is created and funded (an account and an adjust event)


def test_benchmark_persists_every_event_it_wrote() -> None:
    messages = 40
    command = [
        sys.executable, "-m", "bench.persister", "--json", "--count", str(messages),
        "--redis-url", REDIS_URL, "--database-url", DATABASE_URL,
    ]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(out.stdout)
    assert report["events"] == 5 * messages + 2 * ACCOUNTS
    assert report["rows"] == {
        "ledger_entries": 2 * messages + ACCOUNTS,
        "messages": messages,
    }
    assert report["events_per_s"] > 0 and report["persister_cpu_us_per_event"] > 0
