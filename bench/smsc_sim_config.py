"""Settings of the simulated operator SMSC, from TOML, JSON or command-line flags.

Every knob an end-to-end test or a benchmark turns lives here, with a default
that behaves like a healthy operator: answer at once, accept everything,
deliver every message and say so 100 ms later. Probabilities are floats in
0..1 (they are not money); times are integer milliseconds.

TOML (or the same shape in JSON)::

    port = 2776
    seed = 7
    message_id_style = "decimal"
    error_rate = 0.01
    error_status = "ESME_RSUBMITFAIL"
    max_submits_per_second = 500
    credentials = { smsgw = "secret" }

    [response_latency]
    fixed_ms = 20
    jitter_ms = 30

    [receipts]
    delay = { fixed_ms = 2000, jitter_ms = 3000 }
    outcomes = { delivered = 90, undeliverable = 6, expired = 3, rejected = 1 }

    [mo]
    rate = 5.0
    text = "STOP"

    [session]  # smpp.aio.SessionLimits
    enquire_link_interval = 30.0
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import msgspec

from smpp.aio import SessionLimits
from smpp.constants import CommandStatus
from smpp.gsm import UnencodableError
from smpp.text import DataCoding, encode_text

Milliseconds = Annotated[int, msgspec.Meta(ge=0, le=86_400_000)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Weight = Annotated[int, msgspec.Meta(ge=0)]
Address = Annotated[str, msgspec.Meta(max_length=20)]
"""source_addr and destination_addr are C-octet strings of at most 21 octets (§4.4.1)."""

MAX_SHORT_MESSAGE = 140
"""Octets of user data in one SMS (3GPP TS 23.040 §9.2.3.24)."""


class Delay(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A fixed delay plus a uniform random jitter in [0, jitter_ms]."""

    fixed_ms: Milliseconds = 0
    jitter_ms: Milliseconds = 0


class OutcomeMix(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Relative weights of each final state a receipt reports (§5.2.28)."""

    delivered: Weight = 100
    undeliverable: Weight = 0
    expired: Weight = 0
    rejected: Weight = 0


class ReceiptSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When delivery receipts are sent and what they say."""

    enabled: bool = True
    delay: Delay = Delay(fixed_ms=100)
    """Counted from the submit_sm_resp, so a receipt never overtakes its response."""
    outcomes: OutcomeMix = OutcomeMix()


class MoSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Mobile-originated messages pushed to receiver and transceiver binds."""

    rate: Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)] = 0.0
    """Messages per second over all binds; 0 sends none."""
    source: Address = "447700900001"
    destination: Address = "12345"
    text: str = "Hello from the simulated operator"
    system_ids: list[str] = []
    """Only these accounts receive MO; empty means every bound one."""


class SimulatorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole simulator: listener, answers to submit_sm, receipts, MO."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65_535)] = 2775
    system_id: Annotated[str, msgspec.Meta(max_length=15)] = "smscsim"
    """What bind responses call us (§4.1.2: at most 16 octets with the NUL)."""
    credentials: dict[str, str] = {}
    """system_id -> password; empty accepts any bind."""
    seed: int = 0
    """Every random choice (errors, throttling, jitter, outcomes) follows it."""
    message_id_style: Literal["hex", "decimal"] = "hex"
    response_latency: Delay = Delay()
    error_rate: Probability = 0.0
    """Share of submit_sm answered with ``error_status``."""
    error_status: str = "ESME_RSYSERR"
    throttle_rate: Probability = 0.0
    """Share of submit_sm answered ESME_RTHROTTLED regardless of rate."""
    max_submits_per_second: Annotated[float, msgspec.Meta(ge=0.0)] = 0.0
    """Per bind, as a token bucket holding one second of submits; 0 is unlimited."""
    receipts: ReceiptSettings = ReceiptSettings()
    mo: MoSettings = MoSettings()
    deliver_window: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 64
    """deliver_sm awaiting deliver_sm_resp per bind at most."""
    deliver_retry_ms: Annotated[int, msgspec.Meta(ge=1, le=86_400_000)] = 1_000
    """Wait before resending a deliver_sm the ESME answered with an error."""
    deliver_max_wait_ms: Milliseconds = 600_000
    """A receipt or MO still undelivered after this long (no bind) is dropped."""
    session: SessionLimits = SessionLimits()

    def __post_init__(self) -> None:
        errors: list[str] = []
        if self.error_status not in CommandStatus.__members__:
            errors.append(f"error_status: not an SMPP command_status name: {self.error_status!r}")
        elif CommandStatus[self.error_status] == CommandStatus.ESME_ROK:
            errors.append("error_status: must be an error, not ESME_ROK")
        outcomes = self.receipts.outcomes
        if self.receipts.enabled and not any(msgspec.structs.astuple(outcomes)):
            errors.append("receipts.outcomes: at least one weight must be positive")
        try:
            mo_text = encode_mo_text(self.mo.text)
        except ValueError as error:
            errors.append(f"mo.text: {error}")
        else:
            if len(mo_text[1]) > MAX_SHORT_MESSAGE:
                errors.append(f"mo.text: longer than one SMS ({len(mo_text[1])} octets)")
        if errors:
            raise ValueError("; ".join(errors))

    @property
    def error_command_status(self) -> CommandStatus:
        return CommandStatus[self.error_status]


def encode_mo_text(text: str) -> tuple[DataCoding, bytes]:
    """GSM 03.38 when every character has a septet, else UCS-2 (§5.2.19)."""
    try:
        return DataCoding.SMSC_DEFAULT, encode_text(text, DataCoding.SMSC_DEFAULT)
    except UnencodableError:
        return DataCoding.UCS2, encode_text(text, DataCoding.UCS2)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The plain data of a ``.toml`` or ``.json`` file, to be overlaid and decoded."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table at the top level")
    return data


_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--host", "host", str, "address to listen on"),
    ("--port", "port", int, "port to listen on (0 picks a free one)"),
    ("--seed", "seed", int, "seed of every random choice"),
    ("--message-id-style", "message_id_style", str, "hex or decimal"),
    ("--latency-ms", "response_latency.fixed_ms", int, "fixed submit_sm_resp delay"),
    ("--latency-jitter-ms", "response_latency.jitter_ms", int, "extra random delay, uniform"),
    ("--error-rate", "error_rate", float, "share of submits answered --error-status"),
    ("--error-status", "error_status", str, "e.g. ESME_RSYSERR, ESME_RSUBMITFAIL"),
    ("--throttle-rate", "throttle_rate", float, "share of submits answered ESME_RTHROTTLED"),
    ("--max-submits-per-second", "max_submits_per_second", float, "per bind; 0 = unlimited"),
    ("--receipt-delay-ms", "receipts.delay.fixed_ms", int, "fixed receipt delay"),
    ("--receipt-jitter-ms", "receipts.delay.jitter_ms", int, "extra random receipt delay"),
    ("--delivered", "receipts.outcomes.delivered", int, "weight of DELIVRD receipts"),
    ("--undeliverable", "receipts.outcomes.undeliverable", int, "weight of UNDELIV receipts"),
    ("--expired", "receipts.outcomes.expired", int, "weight of EXPIRED receipts"),
    ("--rejected", "receipts.outcomes.rejected", int, "weight of REJECTD receipts"),
    ("--mo-rate", "mo.rate", float, "MO messages per second"),
    ("--mo-source", "mo.source", str, "MO source_addr"),
    ("--mo-destination", "mo.destination", str, "MO destination_addr"),
    ("--mo-text", "mo.text", str, "MO text"),
    ("--deliver-window", "deliver_window", int, "deliver_sm in flight per bind"),
)
"""Flag, dotted config path, type, help: one row per flag, so none can drift."""


EVENT_LOOPS = ("uvloop", "asyncio")


class CommandLine(NamedTuple):
    config: SimulatorConfig
    event_loop: str
    """"uvloop" (the default, as in production) or "asyncio", to compare or to debug."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.smsc_sim",
        description="A simulated operator SMSC. Flags override the --config file.",
    )
    parser.add_argument("--config", help="TOML or JSON file of SimulatorConfig")
    parser.add_argument("--loop", choices=EVENT_LOOPS, default=EVENT_LOOPS[0])
    for flag, path, kind, text in _FLAGS:
        parser.add_argument(flag, dest=path, type=kind, help=text)
    parser.add_argument(
        "--no-receipts", dest="receipts.enabled", action="store_false", default=None
    )
    parser.add_argument(
        "--credential",
        action="append",
        default=[],
        metavar="SYSTEM_ID:PASSWORD",
        help="accept this bind (repeatable); none given accepts any",
    )
    return parser


def parse_command_line(argv: list[str] | None = None) -> CommandLine:
    """The config file of ``--config``, if any, overridden by the flags given.

    Raises `ValueError` (msgspec's `ValidationError` is one) or `OSError`.
    """
    args = vars(build_parser().parse_args(argv))
    event_loop: str = args.pop("loop")
    config_path = args.pop("config")
    data = load_config_file(config_path) if config_path else {}
    credentials: list[str] = args.pop("credential")
    for entry in credentials:
        system_id, colon, password = entry.partition(":")
        if not colon or not system_id:
            raise ValueError(f"--credential expects SYSTEM_ID:PASSWORD, got {entry!r}")
        data.setdefault("credentials", {})[system_id] = password
    for path, value in args.items():
        if value is not None:
            _set_path(data, path.split("."), value)
    return CommandLine(msgspec.convert(data, SimulatorConfig), event_loop)


def _set_path(data: dict[str, Any], keys: list[str], value: object) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value
