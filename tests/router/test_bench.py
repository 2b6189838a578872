"""The routing benchmark runs end to end on a small table and prints one JSON object."""

import json
import sys

import pytest

from bench import router as bench


def test_small_run_reports_every_figure() -> None:
    result = bench.run(seed=1, prefix_count=400, decisions=10_000)
    assert result["decisions"] == 10_000
    assert result["decisions_per_second"] > 0
    assert result["live_set"]["decisions_per_second"] > 0
    assert 0 < result["p50_us"] <= result["p99_us"] <= result["max_us"]
    assert result["table"]["mt_routes"] == 50
    assert result["table"]["route_prefixes"] >= 400 - len(bench.COUNTRY_CODES)
    mix = result["route_mix"]
    assert sum(mix.values()) == 10_000
    assert mix["account_and_prefix"] > mix["regex_filters"] > mix["least_cost"] > 0


def test_json_flag_prints_one_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        sys, "argv", ["bench.router", "--json", "--prefixes", "300", "--decisions", "10000"]
    )
    bench.main()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert set(json.loads(lines[0])) >= {
        "decisions_per_second",
        "p50_us",
        "p99_us",
        "table_build_ms",
        "config_load_ms",
        "table",
    }


def test_decisions_match_those_before_the_speed_work() -> None:
    """Making decisions faster must not change one.

    Retaken when decisions gained ``plan_id``, ``cost_currency`` and ``country``
    (issue 17); the fields they had before still gave the digests of commit
    8a8f5b2 (4fd7aee8..., e6e509db...) then.
    """
    assert bench.digests(seed=1, prefix_count=400, count=3000) == {
        "all_usable": "2dc259cfa09fa3f3b20f2193701d3d351e60b4e32f4d38fe4aecb2481b905b2b",
        "live_set": "4896106f2757d4ebd02b76f53ec24b98973bc82be68a95a30018ba74cb3cd20f",
    }
