import json

from bench import text


def test_text_benchmark_prints_positive_rates(capsys) -> None:
    text.main(["--json", "--duration", "0.02", "--warmup", "0.01"])
    report = json.loads(capsys.readouterr().out)
    rates = [r for case in report["cases"].values() for r in case["rates"].values() if r]
    assert rates and all(r > 0 for r in rates)
