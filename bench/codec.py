"""Encode and decode rates of our SMPP codec against aiosmpplib and smpplib.

``python -m bench.codec [--json] [--duration S] [--warmup S] [--rounds N]``
measures, in one process and the same way (`bench._measure`: warm-up, then
rounds taken in turn, best round kept), three PDUs of the OTP path: a
160-character GSM submit_sm asking for a receipt, its submit_sm_resp, and the
deliver_sm receipt that follows.

Like for like: a library's encode turns its own PDU object, built once before
timing, into wire bytes; its decode turns wire bytes into its own PDU object.
Every decoder reads the same bytes, ours. Before timing, a peer's wire bytes
must decode with our codec to exactly our PDU, so all carry the same content;
a peer that cannot is reported as null with its reason. aiosmpplib keeps the
text as ``str``: its encode includes GSM 03.38 encoding (its cache of encoded
text is cleared before each call, as every message is encoded once) and its
decode includes GSM decoding; ours and smpplib carry octets.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

import aiosmpplib
import smpplib.pdu
import smpplib.smpp
from aiosmpplib.protocol import MESSAGE_TYPE_MAP

from bench._measure import Subject, best_rates
from smpp import codec, pdu
from smpp.tlv import Tag

OPERATIONS = ("encode", "decode")
OURS = "smsgw"

OTP_TEXT = (
    "MyBank: 482913 is your one-time code to confirm the payment of GBP 1,250.00 to"
    " ACME Ltd. It expires in 5 minutes. Never share this code with anyone, not even us"
)
"""160 characters that GSM 03.38 and ASCII encode to the same octets."""
MESSAGE_ID = "6f1c2a9e5b1d4c8e9a0f6d2b4e8c1a37"
RECEIPT_TEXT = (
    f"id:{MESSAGE_ID} sub:001 dlvrd:001 submit date:2401011230 done date:2401011231"
    f" stat:DELIVRD err:000 text:{OTP_TEXT[:20]}"
)
BANK = "MyBank"
HANDSET = "447700900123"


class Library(NamedTuple):
    """One library's PDU objects for the cases and its way to and from bytes."""

    name: str
    messages: Callable[[], dict[str, Any]]
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], object]


def our_pdus() -> dict[str, pdu.Pdu]:
    return {
        "submit_sm": pdu.SubmitSm(
            sequence_number=1,
            source_addr_ton=5,
            source_addr=BANK,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=HANDSET,
            validity_period="000000000500000R",
            registered_delivery=1,
            short_message=OTP_TEXT.encode("ascii"),
        ),
        "submit_sm_resp": pdu.SubmitSmResp(sequence_number=1, message_id=MESSAGE_ID),
        "deliver_sm_receipt": pdu.DeliverSm(
            sequence_number=1,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=HANDSET,
            dest_addr_ton=5,
            destination_addr=BANK,
            esm_class=0x04,
            short_message=RECEIPT_TEXT.encode("ascii"),
            tlvs={Tag.RECEIPTED_MESSAGE_ID: MESSAGE_ID, Tag.MESSAGE_STATE: 2},
        ),
    }


def _aiosmpplib_messages() -> dict[str, Any]:
    handset = aiosmpplib.PhoneNumber(HANDSET, aiosmpplib.TON.INTERNATIONAL, aiosmpplib.NPI.ISDN)
    bank = aiosmpplib.PhoneNumber(BANK, aiosmpplib.TON.ALPHANUMERIC)
    receipt_params = [
        aiosmpplib.OptionalParam(Tag.RECEIPTED_MESSAGE_ID, MESSAGE_ID),
        aiosmpplib.OptionalParam(Tag.MESSAGE_STATE, 2),
    ]
    return {
        "submit_sm": aiosmpplib.SubmitSm(
            sequence_num=1,
            short_message=OTP_TEXT,
            source=bank,
            destination=handset,
            validity_period=timedelta(minutes=5),
            registered_delivery=1,
        ),
        "submit_sm_resp": aiosmpplib.SubmitSmResp(sequence_num=1, message_id=MESSAGE_ID),
        "deliver_sm_receipt": aiosmpplib.DeliverSm(
            sequence_num=1,
            short_message=RECEIPT_TEXT,
            source=handset,
            destination=bank,
            esm_class=0x04,
            registered_delivery=0,
            optional_params=receipt_params,
        ),
    }


def _aiosmpplib_encode(message: Any) -> bytes:
    if isinstance(message, aiosmpplib.SubmitSm):
        message.set_encoded_message(b"")
    return message.pdu()


def _aiosmpplib_decode(wire: bytes) -> object:
    """Header, then body, with the default alphabet its ESME passes."""
    header = aiosmpplib.SmppMessage.parse_header(wire)
    return MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(wire, header, "gsm0338")


class _FixedSequence:
    """The ``client`` smpplib takes sequence numbers from."""

    sequence = 1

    def next_sequence(self) -> int:
        return self.sequence


_SEQUENCE = _FixedSequence()


def _smpplib_messages() -> dict[str, Any]:
    make = partial(smpplib.smpp.make_pdu, client=_SEQUENCE)
    return {
        "submit_sm": make(
            "submit_sm",
            source_addr_ton=5,
            source_addr=BANK,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=HANDSET,
            validity_period="000000000500000R",
            registered_delivery=1,
            short_message=OTP_TEXT.encode("ascii"),
        ),
        "submit_sm_resp": make("submit_sm_resp", message_id=MESSAGE_ID),
        "deliver_sm_receipt": make(
            "deliver_sm",
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=HANDSET,
            dest_addr_ton=5,
            destination_addr=BANK,
            esm_class=0x04,
            short_message=RECEIPT_TEXT.encode("ascii"),
            receipted_message_id=MESSAGE_ID,
            message_state=2,
        ),
    }


OUR_LIBRARY = Library(OURS, our_pdus, codec.encode, codec.decode)
PEERS = (
    Library("aiosmpplib", _aiosmpplib_messages, _aiosmpplib_encode, _aiosmpplib_decode),
    Library(
        "smpplib",
        _smpplib_messages,
        smpplib.pdu.PDU.generate,
        partial(smpplib.smpp.parse_pdu, client=_SEQUENCE, allow_unknown_opt_params=True),
    ),
)


def unfit_reason(library: Library, message: Any, value: pdu.Pdu, wire: bytes) -> str | None:
    """Why ``library`` cannot stand in for our codec on this PDU, or None."""
    if message is None:
        return f"{library.name} has no such PDU"
    try:
        theirs = codec.decode(library.encode(message))
        library.decode(wire)
    except Exception as exc:  # a peer may fail in any way; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    if theirs != value:
        return f"{library.name} encodes different content: {theirs!r}"
    return None


def run(
    duration: float, warmup: float, rounds: int = 5, peers: Sequence[Library] = PEERS
) -> dict[str, Any]:
    """Every rate of every case, as the JSON object the command prints."""
    libraries = (OUR_LIBRARY, *peers)
    names = [library.name for library in libraries]
    messages = {library.name: library.messages() for library in libraries}
    cases: dict[str, Any] = {}
    for case, value in our_pdus().items():
        wire = codec.encode(value)
        subjects: dict[tuple[str, str], Subject] = {}
        reasons: dict[str, str] = {}
        for library in libraries:
            message = messages[library.name].get(case)
            reason = unfit_reason(library, message, value, wire)
            if reason is not None:
                reasons[library.name] = reason
                continue
            subjects["encode", library.name] = Subject(library.encode, message)
            subjects["decode", library.name] = Subject(library.decode, wire)
        rates = best_rates(subjects, duration=duration, warmup=warmup, rounds=rounds)
        cases[case] = _figures(len(wire), rates, reasons, names)
    return {
        "unit": "operations per second, best round; ratio is ours / peer",
        "duration_s": duration,
        "warmup_s": warmup,
        "rounds": rounds,
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in names},
        "cases": cases,
    }


def _figures(
    octets: int, rates: dict[tuple[str, str], float], reasons: dict[str, str], names: list[str]
) -> dict[str, Any]:
    """One case's block of the report; a library without a rate gets null."""
    figures: dict[str, Any] = {"octets": octets}
    for op in OPERATIONS:
        figures[op] = {name: _rounded(rates.get((op, name))) for name in names}
    ours = {op: rates.get((op, OURS)) for op in OPERATIONS}
    figures["ratio"] = {
        op: {name: _ratio(ours[op], rates.get((op, name))) for name in names if name != OURS}
        for op in OPERATIONS
    }
    figures["reason"] = reasons
    return figures


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _rounded(rate: float | None) -> int | None:
    return None if rate is None else round(rate)


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return None if ours is None or theirs is None else round(ours / theirs, 2)


def render_table(report: dict[str, Any]) -> str:
    peers = [name for name in report["versions"] if name != OURS]
    header = ["case", "octets", "op", OURS, *peers, *(f"x {name}" for name in peers)]
    rows = [header]
    for case, figures in report["cases"].items():
        for op in OPERATIONS:
            rates = [_cell(figures[op][name], "{:,}") for name in (OURS, *peers)]
            ratios = [_cell(figures["ratio"][op][name], "{:.2f}") for name in peers]
            rows.append([case, str(figures["octets"]), op, *rates, *ratios])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.append(
        f"{report['unit']}; {report['duration_s']} s per rate in {report['rounds']} rounds,"
        f" after {report['warmup_s']} s warm-up"
    )
    for case, figures in report["cases"].items():
        lines += [f"{case}: {name} not measured: {why}" for name, why in figures["reason"].items()]
    return "\n".join(lines)


def _cell(value: float | None, style: str) -> str:
    return "null" if value is None else style.format(value)


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive count")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.codec",
        description="Encode and decode rates of our SMPP codec, aiosmpplib and smpplib.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--duration", type=_seconds, default=1.0, help="seconds measured per rate")
    parser.add_argument("--warmup", type=_seconds, default=0.2, help="seconds of warm-up per rate")
    parser.add_argument("--rounds", type=_count, default=5, help="rounds the duration is split in")
    args = parser.parse_args(argv)
    report = run(args.duration, args.warmup, args.rounds)
    print(json.dumps(report) if args.json else render_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
