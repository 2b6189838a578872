"""The end-to-end benchmark: a tiny run of the embedded backend as the real
separate processes (operator, engine, fleet), and the arithmetic of its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.e2e import CounterSampler, parse_metrics
from bench.esme_fleet import percentiles_ms

PROJECT = Path(__file__).resolve().parents[2]
COUNT = 200
LATENCY_KEYS = {"p50", "p90", "p99", "max"}
REPORT_KEYS = {
    "backend",
    "accepted_per_s",
    "submitted_to_operator_per_s",
    "receipts_per_s",
    "peak_1s_per_s",
    "submit_resp_ms",
    "accept_receipt_ms",
    "accepted",
    "refused",
    "receipts",
    "engine_counters",
    "cpu_s",
    "engine_cpu_share",
    "exit_codes",
    "ledger",
    "operator",
    "fleet",
    "load_average_before",
    "load_average_after",
}


def test_embedded_run_accepts_and_reports_every_message() -> None:
    # Receipts 500 ms after the response: the engine drops a receipt that it
    # reads before it has stored the submit's correlation, which a 10 ms delay
    # can provoke on a busy machine; this test is about the benchmark.
    completed = subprocess.run(
        [
            sys.executable, "-m", "bench.e2e", "--json", "--backend", "embedded",
            "--count", str(COUNT), "--receipt-delay-ms", "500", "--timeout", "15",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report.keys() >= REPORT_KEYS
    assert report["backend"] == "embedded"
    assert report["accepted"] == report["receipts"] == COUNT
    assert report["refused"] == {}
    assert report["fleet"]["receipts_missing"] == report["fleet"]["receipts_unmatched"] == 0
    assert report["engine_counters"] == {
        "accepted": COUNT,
        "submitted": COUNT,
        "receipts": COUNT,
        "refused": 0,
        "failed": 0,
    }
    assert report["operator"]["submits"] == report["operator"]["receipts_acked"] == COUNT
    assert set(report["exit_codes"].values()) == {0}
    assert set(report["exit_codes"]) == {"fleet", "engine", "operator"}
    assert report["ledger"] == {"balance": 0, "held": 0, "expected_balance": 0}
    for latency in (report["submit_resp_ms"], report["accept_receipt_ms"]):
        assert latency.keys() == LATENCY_KEYS
        assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert report["accepted_per_s"] > 0 and report["receipts_per_s"] > 0
    assert report["cpu_s"]["engine"] > 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1))
def test_percentiles_are_ordered_samples(samples: list[float]) -> None:
    summary = percentiles_ms(samples)
    in_ms = {round(s * 1000, 3) for s in samples}
    assert summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"]
    assert summary["max"] == round(max(samples) * 1000, 3)
    assert {summary[key] for key in LATENCY_KEYS} <= in_ms


def test_percentiles_of_nothing_are_none() -> None:
    assert percentiles_ms([]) == dict.fromkeys(LATENCY_KEYS)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=50_000),
    idle_before=st.integers(min_value=1, max_value=5),
    rising=st.integers(min_value=3, max_value=50),
    idle_after=st.integers(min_value=1, max_value=5),
)
def test_steady_rate_of_a_linear_rise_is_its_slope(
    rate: int, idle_before: int, rising: int, idle_after: int
) -> None:
    """Sampled every 0.5 s: flat, then ``rate`` per second, then flat again."""
    sampler = CounterSampler(port=0)
    value = 0.0
    for step in range(idle_before + rising + idle_after):
        if idle_before <= step < idle_before + rising:
            value += rate * 0.5
        sampler.samples.append((step * 0.5, {"submitted": value}))
    steady, peak = sampler.rates("submitted")
    assert steady is not None and peak is not None
    assert abs(steady - rate) <= rate * 1e-6 + 0.1
    assert peak <= rate * (1 + 1e-6) + 0.1


def test_flat_counter_has_no_rate() -> None:
    sampler = CounterSampler(port=0)
    sampler.samples = [(0.0, {"submitted": 5.0}), (0.2, {"submitted": 5.0})]
    assert sampler.rates("submitted") == (None, None)


def test_parse_metrics_reads_counters_binds_and_queues() -> None:
    text = "\n".join(
        [
            "# HELP smsgw_messages_total Messages by what happened to them.",
            'smsgw_messages_total{event="accepted"} 42.0',
            'smsgw_messages_total{event="submitted"} 40.0',
            'smsgw_connector_binds{connector="a",state="bound"} 2.0',
            'smsgw_connector_binds{connector="a",state="connecting"} 1.0',
            'smsgw_connector_binds{connector="b",state="bound"} 1.0',
            'smsgw_queue_depth{connector="a",priority="otp"} 3.0',
            'smsgw_queue_depth{connector="b",priority="bulk"} 4.0',
        ]
    )
    assert parse_metrics(text) == {"accepted": 42, "submitted": 40, "bound": 3, "queued": 7}
