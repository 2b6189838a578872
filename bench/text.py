"""Rates of the SMPP text layer on the kinds of text a bank sends.

Counting parts, choosing the cheapest coding, encoding, decoding and
splitting.
``python -m bench.text [--json] [--duration S] [--warmup S] [--rounds N]`` measures each
operation on each case the same way (`bench._measure`). `count_parts` runs
for every message accepted, so it is the figure to watch.

Splitting is also measured against smpplib's ``make_parts``, which encodes and
cuts into 8-bit-reference UDH parts as ours does. It is measured only where
its parts are ours (its reference is random, so that octet is not compared);
where it cuts an escape pair or a surrogate pair it is reported as null with
the reason.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from functools import partial
from importlib.metadata import version
from typing import Any, NamedTuple

import smpplib.consts
import smpplib.gsm

from bench._measure import Subject, best_rates
from smpp.split import Concatenation, cheapest_coding, count_parts, split
from smpp.text import DataCoding, alphabet_of, decode_text, encode_text

OURS = "smsgw"
PEER = "smpplib"


class Case(NamedTuple):
    text: str
    data_coding: DataCoding


CASES = {
    "otp_gsm": Case(
        "MyBank: 482913 is your code to confirm the payment of GBP 1,250.00 to ACME Ltd.",
        DataCoding.SMSC_DEFAULT,
    ),
    "notice_gsm_3_parts": Case(
        "Dear customer, your card ending 4821 was used for a payment of EUR 74.99 at "
        "ACME Online on 14 March. If this was not you, call us on 0800 123 4567. " * 3,
        DataCoding.SMSC_DEFAULT,
    ),
    "promo_gsm_extension": Case(
        "Save 10€ on [Premium] {today} only | reply STOP ~ opt out. " * 4,
        DataCoding.SMSC_DEFAULT,
    ),
    "otp_ucs2_cyrillic": Case(
        "Ваш код подтверждения 482913. Никому не сообщайте его, даже сотрудникам банка.",  # noqa: RUF001
        DataCoding.UCS2,
    ),
    "notice_ucs2_emoji": Case("Payment received ✅ 🎉 thank you! 😀 " * 5, DataCoding.UCS2),
}

_SMPPLIB_CODINGS = {
    DataCoding.SMSC_DEFAULT: smpplib.consts.SMPP_ENCODING_DEFAULT,
    DataCoding.UCS2: smpplib.consts.SMPP_ENCODING_ISO10646,
}


def _split_udh(case: Case) -> list[bytes]:
    """Encode and cut into 8-bit-reference UDH parts: the work a send does."""
    payload = encode_text(case.text, case.data_coding)
    parts = split(payload, alphabet_of(case.data_coding), Concatenation.UDH_8BIT_REF, reference=7)
    return [part.short_message for part in parts]


def _smpplib_split_udh(case: Case) -> list[bytes]:
    parts, _, _ = smpplib.gsm.make_parts(case.text, _SMPPLIB_CODINGS[case.data_coding])
    return list(parts)


def _without_reference(parts: list[bytes]) -> list[bytes]:
    return [part[:3] + part[4:] if len(parts) > 1 else part for part in parts]


def peer_unfit_reason(case: Case) -> str | None:
    """Why smpplib's parts differ from ours for ``case``, or None."""
    theirs = _without_reference(_smpplib_split_udh(case))
    ours = _without_reference(_split_udh(case))
    if theirs == ours:
        return None
    if len(theirs) == len(ours):
        return "its parts hold other units: it cuts escape or surrogate pairs"
    return f"it makes {len(theirs)} parts where the rules give {len(ours)}"


def subjects(name: str, case: Case) -> dict[tuple[str, str], Subject]:
    """Our operations on ``case``, keyed by (case, operation)."""
    payload = encode_text(case.text, case.data_coding)
    return {
        (name, "count_parts"): Subject(lambda c: count_parts(c.text, c.data_coding), case),
        (name, "cheapest_coding"): Subject(lambda c: cheapest_coding(c.text), case),
        (name, "encode_text"): Subject(lambda c: encode_text(c.text, c.data_coding), case),
        (name, "decode_text"): Subject(partial(decode_text, data_coding=case.data_coding), payload),
        (name, "split_udh"): Subject(_split_udh, case),
    }


def run(duration: float, warmup: float, rounds: int) -> dict[str, Any]:
    """Every rate of every case, as the JSON object the command prints."""
    measured: dict[tuple[str, str], Subject] = {}
    reasons = {name: peer_unfit_reason(case) for name, case in CASES.items()}
    for name, case in CASES.items():
        measured |= subjects(name, case)
        if reasons[name] is None:
            measured[(name, PEER)] = Subject(_smpplib_split_udh, case)
    rates = best_rates(measured, duration=duration, warmup=warmup, rounds=rounds)
    cases: dict[str, Any] = {}
    for name, case in CASES.items():
        ours = {op: round(rate) for (case_name, op), rate in rates.items() if case_name == name}
        peer_rate = ours.pop(PEER, None)
        cases[name] = {
            "characters": len(case.text),
            "data_coding": int(case.data_coding),
            "parts": count_parts(case.text, case.data_coding),
            "rates": ours,
            "split_udh_peer": {
                PEER: peer_rate,
                "ratio": None if peer_rate is None else round(ours["split_udh"] / peer_rate, 2),
                "reason": reasons[name],
            },
        }
    return {
        "unit": "calls per second, best of the rounds; ratio is ours / peer",
        "duration_s": duration,
        "warmup_s": warmup,
        "rounds": rounds,
        "python": platform.python_version(),
        "versions": {name: version(name) for name in (OURS, PEER)},
        "cases": cases,
    }


def render_table(report: dict[str, Any]) -> str:
    operations = list(next(iter(report["cases"].values()))["rates"])
    header = ["case", "chars", "parts", *operations, f"{PEER} split", "x"]
    rows = [header]
    for name, figures in report["cases"].items():
        peer = figures["split_udh_peer"]
        rows.append(
            [
                name,
                str(figures["characters"]),
                str(figures["parts"]),
                *(f"{figures['rates'][op]:,}" for op in operations),
                "null" if peer[PEER] is None else f"{peer[PEER]:,}",
                "null" if peer["ratio"] is None else f"{peer['ratio']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.append(
        f"{report['unit']}; {report['duration_s']} s each in {report['rounds']} rounds"
        f" after {report['warmup_s']} s warm-up"
    )
    for name, figures in report["cases"].items():
        reason = figures["split_udh_peer"]["reason"]
        if reason is not None:
            lines.append(f"{name}: {PEER} not measured: {reason}")
    return "\n".join(lines)


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.text", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--duration", type=_seconds, default=1.0, help="seconds measured per rate")
    parser.add_argument("--warmup", type=_seconds, default=0.2, help="seconds of warm-up per rate")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the measuring time is cut in")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    report = run(args.duration, args.warmup, args.rounds)
    print(json.dumps(report) if args.json else render_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
