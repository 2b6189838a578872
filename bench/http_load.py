"""The HTTP load generator of `bench.http`: a process of its own, so its CPU is
not the server's.

A closed loop: a fixed number of keep-alive HTTP/1.1 connections, each sending
its next request as soon as the answer to the previous one is in; a warm-up
whose requests are not counted, then a fixed measuring time (or a request
budget, whichever ends first). It prints one JSON line: requests and accepted
messages per second, latency percentiles, answers by status, and its own CPU
time, so a reader sees whether the generator itself was the limit.

Two clients: ``raw`` (the default) writes prebuilt request bytes on an asyncio
transport and parses answers with httptools (the C parser uvicorn uses), a
small fraction of the server's CPU per request; ``httpx`` is the ordinary
library, kept to show what it costs (``--client httpx``).

Scenarios, one message mix (a 19-character GSM text to numbers 336xxxxxxxx):
``v1-single`` and ``v1-batch`` (``--batch`` recipients) are ``POST
/v1/messages`` with an API key; ``v1-webhook`` is ``v1-single`` asking for a
receipt webhook to ``--callback-url``; ``send-get`` and ``send-post`` are
Jasmin's ``/send`` as a query string and as a form; ``kannel-send`` is
Kannel's ``GET /cgi-bin/sendsms`` and ``kannel-dlr`` the same asking for
final delivery reports (dlr-mask 3) at ``--callback-url?to=<recipient>``.

A count mode is a request budget with no warm-up (``--warmup 0 --requests
20000``, ``--duration`` then only a time limit); the report gives the
wall-clock time of the first request (``first_request_at``, ``time.time()``),
so a caller can measure up to an event another process saw. With
``--retry-refused`` a request answered 429 or 503 is sent again after its
Retry-After, as a customer that must get every message through would; the
report counts those answers under ``retried``, and a request's latency is
that of its last attempt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import httptools
import httpx
import uvloop

from bench.esme_fleet import percentiles_ms
from engine.loop.collector import settle_collector

SCENARIOS = ("v1-single", "v1-batch", "send-get", "send-post")
COUNT_SCENARIOS = ("v1-webhook", "kannel-send", "kannel-dlr")
"""Those of `bench.http`'s count mode only (a callback receiver, or Kannel)."""
ALL_SCENARIOS = SCENARIOS + COUNT_SCENARIOS
CALLBACK_SCENARIOS = frozenset({"v1-webhook", "kannel-dlr"})
CLIENTS = ("raw", "httpx")
TEXT = "Your code is 123456"
SENDER = "Bench"
FIRST_NUMBER = 33_600_000_000
ERROR_SAMPLES = 5
RETRIED = frozenset({429, 503})
"""Answers ``--retry-refused`` sends again: throttled, locked out, shed, unavailable."""
RETRY_WAIT = 0.05
"""Seconds before sending again when the answer gave no Retry-After."""
MAX_RETRY_WAIT = 1.0
CONNECT_TIMEOUT = 10.0
_ACCEPTED_V1 = b'"status":"accepted"'
_ACCEPTED_JASMIN = b'Success "'
KANNEL_DLR_MASK = 3
"""Delivered (1) and undeliverable (2): one report per message, its final state."""


@dataclass(frozen=True)
class Request:
    """One request as both clients send it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    def wire(self, host: str) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


class RequestMaker:
    """The requests of a scenario; every recipient number is new."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.next_number = FIRST_NUMBER
        self.build: Callable[[], Request] = {
            "v1-single": self._v1_single,
            "v1-batch": self._v1_batch,
            "v1-webhook": self._v1_webhook,
            "kannel-send": self._kannel_send,
            "kannel-dlr": self._kannel_dlr,
            "send-get": self._send_get,
            "send-post": self._send_post,
        }[args.scenario]

    @property
    def messages_per_request(self) -> int:
        return self.args.batch if self.args.scenario == "v1-batch" else 1

    def _numbers(self, count: int) -> list[str]:
        first = self.next_number
        self.next_number += count
        return [str(first + i) for i in range(count)]

    def _v1(self, to: str | list[str], **extra: str) -> Request:
        fields = {"to": to, "from": SENDER, "text": TEXT, **extra}
        body = json.dumps(fields, separators=(",", ":"))
        headers = {
            "Authorization": f"Bearer {self.args.api_key}",
            "Content-Type": "application/json",
        }
        return Request("POST", "/v1/messages", headers, body.encode())

    def _v1_single(self) -> Request:
        return self._v1(self._numbers(1)[0])

    def _v1_batch(self) -> Request:
        return self._v1(self._numbers(self.args.batch))

    def _v1_webhook(self) -> Request:
        return self._v1(self._numbers(1)[0], webhook_url=self.args.callback_url)

    def _kannel(self, **dlr: str) -> Request:
        fields = {
            "username": self.args.username,
            "password": self.args.password,
            "from": SENDER,
            "to": dlr.pop("to"),
            "text": TEXT,
        }
        return Request("GET", f"/cgi-bin/sendsms?{urlencode(fields | dlr)}", {}, b"")

    def _kannel_send(self) -> Request:
        return self._kannel(to=self._numbers(1)[0])

    def _kannel_dlr(self) -> Request:
        """The dlr-url names the recipient itself: Kannel keeps a URL per message."""
        to = self._numbers(1)[0]
        url = f"{self.args.callback_url}?{urlencode({'to': to})}&type=%d"
        return self._kannel(to=to, **{"dlr-mask": str(KANNEL_DLR_MASK), "dlr-url": url})

    def _send_form(self) -> str:
        return urlencode(
            {
                "username": self.args.username,
                "password": self.args.password,
                "to": self._numbers(1)[0],
                "from": SENDER,
                "content": TEXT,
            }
        )

    def _send_get(self) -> Request:
        return Request("GET", f"/send?{self._send_form()}", {}, b"")

    def _send_post(self) -> Request:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request("POST", "/send", headers, self._send_form().encode())


def accepted_messages(scenario: str, status: int, body: bytes) -> int:
    """Messages an answer accepted: v1 lists each recipient, Jasmin says
    Success, Kannel answers 202 (accepted, or queued for later delivery)."""
    if scenario.startswith("v1"):
        return body.count(_ACCEPTED_V1) if status in (200, 202) else 0
    if scenario.startswith("kannel"):
        return 1 if status == 202 else 0
    return 1 if status == 200 and body.startswith(_ACCEPTED_JASMIN) else 0


def refusal(status: int, body: bytes) -> str:
    """A refused answer's status, with the ``code`` of its problem JSON if it has one."""
    try:
        code = json.loads(body).get("code", "") if body.startswith(b"{") else ""
    except ValueError:
        code = ""
    return f"{status} {code}" if isinstance(code, str) and code else str(status)


@dataclass
class Tally:
    """What the measured requests got; of the warm-up, only what it accepted."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: int = 0
    errors: list[str] = field(default_factory=list)
    last_answer: float = 0.0
    warmup_accepted: int = 0
    retried: Counter[str] = field(default_factory=Counter)
    """Answers sent again after their Retry-After (``--retry-refused``), by
    status and problem code (``429 locked_out``)."""

    def add(
        self, scenario: str, started: float, status: int, body: bytes, *, measured: bool
    ) -> None:
        if not measured:
            self.warmup_accepted += accepted_messages(scenario, status, body)
            return
        now = time.perf_counter()
        self.latencies.append(now - started)
        self.statuses[status] += 1
        self.last_answer = now
        accepted = accepted_messages(scenario, status, body)
        self.accepted += accepted
        if not accepted and len(self.errors) < ERROR_SAMPLES:
            self.errors.append(f"{status} {body[:300].decode(errors='replace')}")


# -- the raw client ---------------------------------------------------------------


class RawConnection(asyncio.Protocol):
    """One keep-alive connection: write a request, resolve when its answer is in."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.retry_after = 0.0
        """The last answer's Retry-After, in seconds (0: none)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.retry_after = 0.0

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            with contextlib.suppress(ValueError):
                self.retry_after = float(value)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((self.parser.get_status_code(), body))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


async def raw_worker(
    args: argparse.Namespace, maker: RequestMaker, clock: Clock, tally: Tally
) -> None:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(CONNECT_TIMEOUT):
        transport, connection = await loop.create_connection(RawConnection, host, port)
    try:
        while (request := clock.next_request()) is not None:
            wire = maker.build().wire(f"{host}:{port}")
            while True:
                started = time.perf_counter()
                status, body = await connection.exchange(wire)
                if not (args.retry_refused and status in RETRIED and clock.running()):
                    break
                tally.retried[refusal(status, body)] += 1
                await asyncio.sleep(min(connection.retry_after or RETRY_WAIT, MAX_RETRY_WAIT))
            tally.add(args.scenario, started, status, body, measured=request)
    finally:
        transport.close()


# -- the httpx client -------------------------------------------------------------


async def httpx_worker(
    args: argparse.Namespace, maker: RequestMaker, clock: Clock, tally: Tally, client: Any
) -> None:
    while (request := clock.next_request()) is not None:
        built = maker.build()
        started = time.perf_counter()
        answer = await client.request(
            built.method, built.target, headers=built.headers, content=built.body or None
        )
        tally.add(args.scenario, started, answer.status_code, answer.content, measured=request)


# -- the run ---------------------------------------------------------------------


class Clock:
    """Warm-up, then the measuring time, and the request budget."""

    def __init__(self, warmup: float, duration: float, budget: int) -> None:
        now = time.perf_counter()
        self.measure_from = now + warmup
        self.until = self.measure_from + duration
        self.budget = budget
        self.measured_started = 0
        self.first_measured_at = 0.0
        """Wall-clock time of the first measured request."""

    def running(self) -> bool:
        return time.perf_counter() < self.until

    def next_request(self) -> bool | None:
        """None: stop; False: a warm-up request; True: a measured one."""
        now = time.perf_counter()
        if now >= self.until:
            return None
        if now < self.measure_from:
            return False
        if self.budget and self.measured_started >= self.budget:
            return None
        if not self.measured_started:
            self.first_measured_at = time.time()
        self.measured_started += 1
        return True


async def run(args: argparse.Namespace) -> dict[str, Any]:
    maker = RequestMaker(args)
    tally = Tally()
    clock = Clock(args.warmup, args.duration, args.requests)
    cpu_before = time.process_time()
    if args.client == "raw":
        workers = [raw_worker(args, maker, clock, tally) for _ in range(args.connections)]
        await asyncio.gather(*workers)
    else:
        limits = httpx.Limits(max_connections=args.connections)
        async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=60) as client:
            workers = [
                httpx_worker(args, maker, clock, tally, client) for _ in range(args.connections)
            ]
            await asyncio.gather(*workers)
    cpu = time.process_time() - cpu_before
    return report(args, maker, clock, tally, cpu)


def report(
    args: argparse.Namespace, maker: RequestMaker, clock: Clock, tally: Tally, cpu: float
) -> dict[str, Any]:
    requests = len(tally.latencies)
    elapsed = max(tally.last_answer - clock.measure_from, 1e-9) if requests else 0.0
    per_s = (lambda n: round(n / elapsed, 1)) if elapsed else (lambda n: 0.0)
    return {
        "scenario": args.scenario,
        "client": args.client,
        "connections": args.connections,
        "messages_per_request": maker.messages_per_request,
        "requests": requests,
        "messages_sent": requests * maker.messages_per_request,
        "messages_accepted": tally.accepted,
        "warmup_messages_accepted": tally.warmup_accepted,
        "elapsed_s": round(elapsed, 3),
        "first_request_at": clock.first_measured_at,
        "requests_per_s": per_s(requests),
        "messages_per_s": per_s(tally.accepted),
        "latency_ms": percentiles_ms(tally.latencies),
        "statuses": {str(status): n for status, n in sorted(tally.statuses.items())},
        "retried": dict(sorted(tally.retried.items())),
        "errors_sample": tally.errors,
        "generator_cpu_s": round(cpu, 2),
        "generator_cpu_share": round(cpu / (args.warmup + elapsed), 3) if elapsed else None,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__)
    add = parser.add_argument
    add("--url", required=True, help="the server's base URL, http://host:port")
    add("--scenario", choices=ALL_SCENARIOS, required=True)
    add("--client", choices=CLIENTS, default="raw")
    add("--connections", type=int, default=32)
    add("--warmup", type=float, default=1.0, help="seconds not counted")
    add("--duration", type=float, default=5.0, help="seconds measured")
    add("--requests", type=int, default=0, help="stop after this many measured; 0: no budget")
    add("--batch", type=int, default=100, help="recipients per v1-batch request")
    add("--api-key", default="")
    add("--username", default="")
    add("--password", default="")
    add(
        "--retry-refused",
        action="store_true",
        help="send a request answered 429 or 503 again after its Retry-After (at most "
        f"{MAX_RETRY_WAIT:g} s), as a client that must get every message through; raw client",
    )
    add("--callback-url", default="", help="v1-webhook's webhook_url, kannel-dlr's dlr-url")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.connections < 1 or args.duration <= 0 or args.warmup < 0 or args.batch < 1:
        raise SystemExit("connections and batch at least 1, duration positive, warmup >= 0")
    if args.scenario in CALLBACK_SCENARIOS and not args.callback_url:
        raise SystemExit(f"{args.scenario} needs --callback-url")
    settle_collector()
    print(json.dumps(uvloop.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
