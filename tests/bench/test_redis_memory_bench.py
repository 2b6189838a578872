"""`python -m bench.redis_memory` at a small count: it runs, and once every
message is settled and delivered no hold record or correlation is left."""

from __future__ import annotations

import json

import pytest

from bench import redis_memory


def test_the_memory_benchmark_leaves_only_settled_marks_and_shared_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    redis_memory.main(
        ["--json", "--messages", "3000", "--warmup", "500", "--batch", "250", "--accounts", "50"]
    )
    report = json.loads(capsys.readouterr().out)
    assert report["messages"] == 3000
    kinds = {name.removeprefix("kept_") for name in report if name.startswith("kept_")}
    assert "settled" in kinds
    assert not kinds & {"hold", "correlation", "idem"}
    assert report["in_flight_hold_bytes"] > 0 and report["in_flight_correlation_bytes"] > 0
