import json

import pytest

from bench import codec as bench
from bench._measure import Subject, best_rates
from smpp import codec, pdu

PEER_NAMES = ("aiosmpplib", "smpplib")
CASES = ("submit_sm", "submit_sm_resp", "deliver_sm_receipt")
TINY = ["--duration", "0.02", "--warmup", "0.01", "--rounds", "2"]


def test_json_report_has_every_rate_and_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--json", *TINY]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["versions"]) == {bench.OURS, *PEER_NAMES}
    assert (report["duration_s"], report["warmup_s"], report["rounds"]) == (0.02, 0.01, 2)
    assert tuple(report["cases"]) == CASES
    for case, figures in report["cases"].items():
        assert figures["octets"] == len(codec.encode(bench.our_pdus()[case]))
        assert figures["reason"] == {}
        for op in bench.OPERATIONS:
            assert set(figures[op]) == {bench.OURS, *PEER_NAMES}
            assert all(isinstance(rate, int) and rate > 0 for rate in figures[op].values())
            assert set(figures["ratio"][op]) == set(PEER_NAMES)
            assert all(ratio > 0 for ratio in figures["ratio"][op].values())


def test_table_names_every_case_and_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(TINY) == 0
    table = capsys.readouterr().out
    for name in (*CASES, bench.OURS, *PEER_NAMES):
        assert name in table


def _shifted_wire(message: pdu.Pdu) -> bytes:
    wire = bytearray(codec.encode(message))
    wire[15] ^= 1  # another sequence_number: same PDU type, different content
    return bytes(wire)


def test_a_peer_that_cannot_carry_a_case_is_null_with_its_reason() -> None:
    lossy = bench.Library("lossy", bench.our_pdus, _shifted_wire, codec.decode)
    partial = bench.Library(
        "partial", lambda: {"submit_sm": bench.our_pdus()["submit_sm"]}, codec.encode, codec.decode
    )
    report = bench.run(0.005, 0.001, rounds=1, peers=(lossy, partial))
    submit, resp = report["cases"]["submit_sm"], report["cases"]["submit_sm_resp"]
    assert submit["encode"]["lossy"] is None
    assert submit["ratio"]["decode"]["lossy"] is None
    assert "encodes different content" in submit["reason"]["lossy"]
    assert submit["encode"]["partial"] > 0
    assert "partial" not in submit["reason"]
    assert resp["decode"]["partial"] is None
    assert resp["reason"]["partial"] == "partial has no such PDU"
    table = bench.render_table(report)
    assert "null" in table
    assert "submit_sm: lossy not measured: lossy encodes different content" in table


@pytest.mark.parametrize(
    "arguments",
    [["--duration", "0"], ["--duration", "soon"], ["--warmup", "-1"], ["--rounds", "0"]],
)
def test_flags_refuse_what_is_not_positive(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        bench.main(arguments)
    assert arguments[0] in capsys.readouterr().err


def test_best_rates_measures_every_subject_with_its_argument() -> None:
    calls: dict[str, list[int]] = {"a": [], "b": []}
    subjects = {name: Subject(calls[name].append, n) for n, name in enumerate(calls)}
    rates = best_rates(subjects, duration=0.01, warmup=0.0, rounds=3)
    assert set(rates) == {"a", "b"}
    assert all(rate > 0 for rate in rates.values())
    assert set(calls["a"]) == {0}
    assert set(calls["b"]) == {1}


@pytest.mark.parametrize(
    ("duration", "warmup", "rounds"), [(0.0, 0.0, 1), (0.01, -0.1, 1), (0.01, 0.0, 0)]
)
def test_best_rates_refuses_a_method_it_cannot_follow(
    duration: float, warmup: float, rounds: int
) -> None:
    with pytest.raises(ValueError):
        best_rates({}, duration=duration, warmup=warmup, rounds=rounds)
