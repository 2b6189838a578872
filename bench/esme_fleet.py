"""A load-generating fleet of ESMEs: N transceiver binds of one account
submitting one-part OTP messages with registered delivery, as a bank does.

``python -m bench.esme_fleet --port P --system-id X --password Y --binds N
--window W --rate R --count C --json`` binds N transceivers with our own
client (`smpp.aio`), submits C messages at up to R per second in total (0: as
fast as the windows allow), keeps at most W submit_sm unanswered per bind,
answers every deliver_sm at once, and prints one JSON object: what was
accepted and refused, the receipts that came back, rates, and two latencies.

- submit -> resp: from writing the submit_sm to reading its submit_sm_resp.
- accept -> receipt: from reading a submit_sm_resp OK to reading the receipt
  whose receipted_message_id TLV (SMPP 3.4 §5.3.2.12) is that response's
  message_id. Receipts come back on any bind of the account, so one may
  overtake its response on another connection: it is counted as 0 ms and
  in ``receipts_before_response``.

The run is bounded by ``--timeout``, and ends ``--receipt-wait`` seconds after
the last receipt once every submit is answered; a run that ends either way
with receipts missing still reports what it saw, and exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import time
from collections import Counter
from functools import partial
from typing import Annotated, Any

import msgspec
import uvloop
from msgspec import Meta

from engine.loop.collector import settle_collector
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session
from smpp.constants import CommandStatus as S
from smpp.constants import EsmClass, RegisteredDelivery
from smpp.errors import SmppError
from smpp.text import DataCoding, encode_text
from smpp.tlv import Tag

SENDER = "MyBank"
HANDSETS = 100_000
"""Distinct destination numbers the fleet cycles through."""
FIRST_HANDSET = 447_700_900_000
OTP_TEXTS = 1_000
"""Distinct OTP texts, encoded once at start so the fleet spends its CPU on SMPP."""
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99))


class FleetSettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65_535)]
    system_id: Annotated[str, Meta(min_length=1, max_length=15)]
    """SMPP 3.4 §4.1.1: at most 16 octets with the NUL."""
    password: Annotated[str, Meta(max_length=8)]
    binds: Annotated[int, Meta(ge=1, le=256)] = 4
    window: Annotated[int, Meta(ge=1, le=10_000)] = 64
    rate: Annotated[float, Meta(ge=0)] = 0.0
    """submit_sm per second over every bind; 0 is as fast as the windows allow."""
    count: Annotated[int, Meta(ge=1, le=100_000_000)] = 10_000
    timeout: Annotated[float, Meta(gt=0)] = 60.0
    """Seconds for the whole run, binds included."""
    receipt_wait: Annotated[float, Meta(gt=0)] = 5.0
    """Once every submit is answered, seconds without a new receipt after which
    the missing ones count as lost and the run ends."""


def percentiles_ms(samples: list[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p90/p99 and the maximum of seconds, in milliseconds."""
    if not samples:
        return {name: None for name in (*(name for name, _ in PERCENTILES), "max")}
    ordered = sorted(samples)
    last = len(ordered) - 1
    summary = {
        name: round(ordered[min(last, math.ceil(share * len(ordered)) - 1)] * 1000, 3)
        for name, share in PERCENTILES
    }
    summary["max"] = round(ordered[last] * 1000, 3)
    return summary


def otp_submits(count: int) -> list[p.SubmitSm]:
    """``count`` distinct one-part GSM 03.38 OTP submits (sequence numbers unset)."""
    return [
        p.SubmitSm(
            source_addr_ton=5,
            source_addr=SENDER,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=str(FIRST_HANDSET + n),
            priority_flag=3,
            registered_delivery=RegisteredDelivery.FINAL,
            data_coding=DataCoding.SMSC_DEFAULT,
            short_message=encode_text(
                f"{SENDER}: {n * 7919 % 1_000_000:06d} is your code. Never share it.",
                DataCoding.SMSC_DEFAULT,
            ),
        )
        for n in range(count)
    ]


_DELIVERY_RECEIPT = int(EsmClass.DELIVERY_RECEIPT)
_RECEIPTED_MESSAGE_ID = int(Tag.RECEIPTED_MESSAGE_ID)
_OK = int(S.ESME_ROK)
"""Plain ints: ``int & IntFlag`` is a Python call, and reading an enum member off
its class costs more than what is done with it; these run per message."""


class _Bind:
    """One transceiver of the fleet and its window."""

    __slots__ = ("connection", "in_flight", "slot_freed", "stopped")

    def __init__(self, connection: SmppConnection) -> None:
        self.connection = connection
        self.in_flight = 0
        self.slot_freed = asyncio.Event()
        """Set when a response frees a slot, for a paced sender waiting on it."""
        self.stopped = False
        """A submit failed to go out: this bind takes no more."""


class EsmeFleet:
    """The `SessionHandler` of every bind of the fleet, and its counters."""

    def __init__(self, settings: FleetSettings) -> None:
        self.settings = settings
        self._submits = otp_submits(min(OTP_TEXTS, settings.count))
        self._unsent = settings.count
        self._answered = 0
        self._statuses: Counter[int] = Counter()
        self._failures: Counter[str] = Counter()
        self._awaiting_receipt: dict[str, float] = {}
        """message_id -> clock when its submit_sm_resp OK was read."""
        self._early_receipts: dict[str, float] = {}
        self._unreadable_receipts = 0
        self._receipts = 0
        self._receipts_before_response = 0
        self._resp_latency: list[float] = []
        self._receipt_latency: list[float] = []
        self._started = self._last_accept = self._last_receipt = 0.0
        self._lost_binds = 0
        self._paced = settings.rate > 0
        self._sending = False
        """Unpaced, responses refill the windows while this holds."""
        self._unbinding = False
        self._answered_all = asyncio.Event()
        self._receipt_arrived = asyncio.Event()
        self._finished = asyncio.Event()

    # -- SessionHandler ---------------------------------------------------

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if isinstance(request, p.DeliverSm):
            connection.respond(p.DeliverSmResp(sequence_number=request.sequence_number))
            if request.esm_class & _DELIVERY_RECEIPT:
                self._receipt_received(request)
        elif request.response_class is not None:
            connection.respond(p.response_to(request, S.ESME_RINVCMDID))

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        if not self._unbinding:
            self._lost_binds += 1

    # -- receipts and responses -------------------------------------------

    def _receipt_received(self, request: p.DeliverSm) -> None:
        now = time.perf_counter()
        message_id = request.tlvs.get(_RECEIPTED_MESSAGE_ID)
        if not isinstance(message_id, str):
            self._unreadable_receipts += 1
            return
        accepted_at = self._awaiting_receipt.pop(message_id, None)
        if accepted_at is None:
            self._early_receipts[message_id] = now
            return
        self._receipt_matched(now - accepted_at, now)

    def _receipt_matched(self, latency: float, now: float) -> None:
        self._receipts += 1
        self._receipt_latency.append(latency)
        self._last_receipt = now
        self._receipt_arrived.set()
        self._check_finished()

    def _response_received(
        self, bind: _Bind, sent_at: float, future: asyncio.Future[p.Pdu]
    ) -> None:
        now = time.perf_counter()
        bind.in_flight -= 1
        if self._paced:
            bind.slot_freed.set()
        self._answered += 1
        if future.cancelled():
            self._failures["Cancelled"] += 1
        elif (error := future.exception()) is not None:
            self._failures[type(error).__name__] += 1
        else:
            response = future.result()
            self._resp_latency.append(now - sent_at)
            self._statuses[response.command_status] += 1
            if response.command_status == _OK:
                self._accepted(getattr(response, "message_id", ""), now)
        self._check_finished()
        if self._sending and not self._paced:
            self._fill(bind)

    def _accepted(self, message_id: str, now: float) -> None:
        self._last_accept = now
        if message_id in self._early_receipts:
            del self._early_receipts[message_id]
            self._receipts_before_response += 1
            self._receipt_matched(0.0, now)
        else:
            self._awaiting_receipt[message_id] = now

    def _check_finished(self) -> None:
        if self._answered == self.settings.count:
            self._answered_all.set()
            if not self._awaiting_receipt:
                self._finished.set()

    # -- sending ----------------------------------------------------------

    def _fill(self, bind: _Bind) -> None:
        """Unpaced: submit on ``bind`` until its window is full or nothing is
        left. Called again by every response, so a freed slot is taken at once
        without waking a task per message."""
        window = self.settings.window
        while bind.in_flight < window and self._unsent > 0 and not bind.stopped:
            self._submit(bind)

    async def _send_paced(self, bind: _Bind) -> None:
        """Submit while messages are left, within the window and the pace."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        interval = settings.binds / settings.rate
        due = loop.time()
        while self._unsent > 0 and not bind.stopped:
            while bind.in_flight >= settings.window:
                bind.slot_freed.clear()
                await bind.slot_freed.wait()
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            due += interval
            if self._unsent <= 0:
                return  # the other binds took the rest while this one waited
            self._submit(bind)

    def _submit(self, bind: _Bind) -> None:
        """The next message on ``bind``; a bind that cannot send is stopped."""
        settings = self.settings
        number = settings.count - self._unsent
        self._unsent -= 1
        try:
            future = bind.connection.request(self._submits[number % len(self._submits)])
        except SmppError as error:
            self._failures[type(error).__name__] += 1
            self._answered += 1
            bind.stopped = True
            self._check_finished()
            return
        bind.in_flight += 1
        future.add_done_callback(partial(self._response_received, bind, time.perf_counter()))

    async def run(self) -> dict[str, Any]:
        settings = self.settings
        timed_out = False
        binds: list[_Bind] = []
        cpu_before = _cpu_seconds()
        self._started = time.perf_counter()
        try:
            async with asyncio.timeout(settings.timeout):
                binds = [_Bind(c) for c in await self._bind_all()]
                self._started = time.perf_counter()
                senders = []
                if self._paced:
                    senders = [asyncio.create_task(self._send_paced(bind)) for bind in binds]
                else:
                    self._sending = True
                    for bind in binds:
                        self._fill(bind)
                try:
                    await self._answered_all.wait()
                    await self._wait_receipts()
                finally:
                    self._sending = False
                    for sender in senders:
                        sender.cancel()
                    await asyncio.gather(*senders, return_exceptions=True)
        except TimeoutError:
            timed_out = True
        elapsed = time.perf_counter() - self._started
        self._unbinding = True
        await asyncio.gather(*(b.connection.unbind() for b in binds), return_exceptions=True)
        return self._report(elapsed, timed_out, _cpu_seconds() - cpu_before)

    async def _wait_receipts(self) -> None:
        """Until every receipt is in, or none came for ``receipt_wait`` seconds."""
        while not self._finished.is_set():
            self._receipt_arrived.clear()
            try:
                async with asyncio.timeout(self.settings.receipt_wait):
                    await self._receipt_arrived.wait()
            except TimeoutError:
                return

    async def _bind_all(self) -> list[SmppConnection]:
        settings = self.settings
        bind = p.BindTransceiver(system_id=settings.system_id, password=settings.password)
        return list(
            await asyncio.gather(
                *(
                    open_session(settings.host, settings.port, bind, self)
                    for _ in range(settings.binds)
                )
            )
        )

    def _report(self, elapsed: float, timed_out: bool, cpu: float) -> dict[str, Any]:
        settings = self.settings
        accepted = self._statuses.get(S.ESME_ROK, 0)
        return {
            "binds": settings.binds,
            "window": settings.window,
            "rate_limit": settings.rate,
            "count": settings.count,
            "submitted": settings.count - self._unsent,
            "accepted": accepted,
            "refused": {_status_name(status): n for status, n in self._statuses.items() if status},
            "failed": dict(self._failures),
            "receipts": self._receipts,
            "receipts_unmatched": len(self._early_receipts) + self._unreadable_receipts,
            "receipts_missing": len(self._awaiting_receipt),
            "receipts_before_response": self._receipts_before_response,
            "lost_binds": self._lost_binds,
            "timed_out": timed_out,
            "elapsed_s": round(elapsed, 3),
            "active_s": round(max(self._last_accept, self._last_receipt) - self._started, 3),
            "accepted_per_s": _rate(accepted, self._last_accept - self._started),
            "receipts_per_s": _rate(self._receipts, self._last_receipt - self._started),
            "submit_resp_ms": percentiles_ms(self._resp_latency),
            "accept_receipt_ms": percentiles_ms(self._receipt_latency),
            "cpu_s": round(cpu, 3),
        }


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if count and seconds > 0 else 0.0


def _status_name(status: int) -> str:
    return S(status).name if status in S._value2member_map_ else f"0x{status:08X}"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parse_settings(argv: list[str] | None = None) -> tuple[FleetSettings, bool]:
    """The settings from the command line and whether to print JSON; raises
    `msgspec.ValidationError` for a value out of bounds."""
    parser = argparse.ArgumentParser(prog="python -m bench.esme_fleet", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--binds", type=int, default=4)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0.0, help="per second in total; 0: no cap")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run")
    parser.add_argument(
        "--receipt-wait", type=float, default=5.0, help="seconds without receipts before giving up"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = vars(parser.parse_args(argv))
    as_json = args.pop("json")
    return msgspec.convert(args, FleetSettings), as_json


def main(argv: list[str] | None = None) -> int:
    try:
        settings, as_json = parse_settings(argv)
    except msgspec.ValidationError as error:
        print(f"esme_fleet: {error}", file=sys.stderr)
        return 2

    async def run() -> dict[str, Any]:
        return await EsmeFleet(settings).run()

    settle_collector()
    try:
        report = uvloop.run(run())
    except (OSError, SmppError) as error:
        print(f"esme_fleet: cannot bind: {error}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(report), flush=True)
    else:
        for name, value in report.items():
            print(f"{name:>26}  {value}")
    return 1 if report["timed_out"] or report["receipts_missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
