"""The routing benchmark measures number portability: memory per entry, lookup, decisions."""

from bench import router as bench


def test_small_run_reports_the_portability_figures() -> None:
    result = bench.run(seed=1, prefix_count=300, decisions=10_000, ported_count=20_000)
    figures = result["portability"]
    assert figures["ported_numbers"] == 20_000
    assert 9.0 <= figures["bytes_per_entry"] <= 11.0
    assert figures["lookup_us"] > 0 and figures["build_ms"] > 0
    assert 0.15 <= figures["ported_share"] <= 0.25
    assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["max_us"]
    assert figures["decisions_per_second"] > 0


def test_ported_numbers_default_to_a_hundred_per_prefix() -> None:
    result = bench.run(seed=1, prefix_count=200, decisions=10_000)
    assert result["portability"]["ported_numbers"] == 200 * bench.PORTED_PER_PREFIX
