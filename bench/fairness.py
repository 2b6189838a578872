"""Fairness under saturation (issue 16): another account's OTP while one account floods.

``python -m bench.fairness [--json]`` runs, in one run on this machine:

- the simulated operator (`bench.smsc_sim`'s `SimulatedSmsc`, in this process:
  answers in 1 ms, receipts 10 ms later), which notes the moment each OTP
  probe's submit_sm reaches it;
- the engine: ``smsgw serve`` on Redis + PostgreSQL (a throwaway key namespace
  and database, as `bench.e2e` makes them; the default, the durable case),
  persisting by itself or, with ``--persister process``, beside ``smsgw ledger
  persist`` as a shard at this rate should run; or `bench.e2e`'s embedded
  launcher (``--backend embedded``);
- an OTP client of account ``otp`` (in this process) sending submit_sm with
  priority_flag 3 at a steady ``--otp-rate``, first alone (``--quiet-seconds``),
  then while
- a flood of account ``bench`` (`bench.esme_fleet` in its own process: several
  binds, large windows, no rate cap) submits as fast as the engine lets it for
  ``--flood-seconds``.

Time inside the gateway is the operator's arrival time of an OTP's submit_sm
minus the moment the OTP client wrote it: both ends live in this process and
read one clock (`time.perf_counter`), so no clock sync is involved. The
OTP's submit_sm -> submit_sm_resp (its commit point) is shown beside it. The
flood's first ``--flood-warmup`` seconds (process start, binds) are left out.
It prints the OTP p50/p99/max without and with the flood, OTPs refused or
never seen by the operator, the flood's accepted rate and its refusals by
status (ESME_RTHROTTLED is shedding), and the engine's CPU share during the
flood (near 1.0 is one core saturated).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvloop
from redis.asyncio import Redis

from bench.e2e import (
    ACCOUNT,
    PRICE,
    READY_EVENT,
    Child,
    CounterSampler,
    delete_namespace,
    engine_config,
    fleet_command,
    free_port,
    json_report,
    python_module,
    throwaway_database,
)
from bench.esme_fleet import percentiles_ms
from bench.output import print_report
from bench.smsc_sim import SimulatedSmsc
from bench.smsc_sim_config import Delay, ReceiptSettings, SimulatorConfig
from engine.customers.passwords import hash_password
from ledger.config import LedgerConfig
from ledger.redis_ledger import RedisLedger
from smpp import pdu as p
from smpp.aio import SmppConnection, open_session
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.text import DataCoding

OTP_ACCOUNT = "otp"
OTP_PASSWORD = "otp-pw"
MARKER = b"fairness-otp "
"""Starts every probe's text: the simulator times only these submits."""
CREDIT_MESSAGES = 50_000_000
"""Each account's credit, in messages: more than any flood sends."""
BACKENDS = ("redis+postgres", "embedded")
NICE = 5
"""This process (the operator and the OTP client) runs this much ahead of the
others when allowed (root): its own wait for a CPU on a busy machine would
count as time inside the gateway. The engine, Redis and the flood do not."""


class ProbedSmsc(SimulatedSmsc):
    """The simulated operator, noting when each OTP probe arrives."""

    def __init__(self, config: SimulatorConfig) -> None:
        super().__init__(config)
        self.arrived: dict[bytes, float] = {}
        self._handlers[C.SUBMIT_SM] = self._probe_received

    def _probe_received(self, connection: SmppConnection, request: p.SubmitSm) -> None:
        if request.short_message.startswith(MARKER):
            self.arrived[request.short_message] = time.perf_counter()
        self._submit_received(connection, request)


class OtpClient:
    """One transceiver of account ``otp``: a probe every 1/rate seconds."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.sent: dict[bytes, float] = {}
        self.statuses: dict[bytes, int] = {}
        self.answered_at: dict[bytes, float] = {}
        self._connection: SmppConnection | None = None
        self._number = 0

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        if request.response_class is not None:
            connection.respond(p.response_to(request))  # receipts: deliver_sm_resp OK

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        pass

    async def run(self, port: int) -> None:
        """Send until cancelled, at a steady pace (not catching up after a stall)."""
        bind = p.BindTransceiver(system_id=OTP_ACCOUNT, password=OTP_PASSWORD)
        self._connection = await open_session("127.0.0.1", port, bind, self)
        try:
            while True:
                self._send()
                await asyncio.sleep(1 / self.rate)
        finally:
            await self._connection.unbind()

    def _send(self) -> None:
        assert self._connection is not None
        self._number += 1
        text = MARKER + b"%08d" % self._number
        request = p.SubmitSm(
            source_addr_ton=5,
            source_addr="MyBank",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=f"4479{self._number:08d}",
            priority_flag=3,
            registered_delivery=1,
            data_coding=DataCoding.SMSC_DEFAULT,
            short_message=text,
        )
        self.sent[text] = time.perf_counter()
        future = self._connection.request(request)
        future.add_done_callback(lambda f: self._answered(text, f))

    def _answered(self, text: bytes, future: asyncio.Future[p.Pdu]) -> None:
        self.answered_at[text] = time.perf_counter()
        failed = future.cancelled() or future.exception() is not None
        self.statuses[text] = -1 if failed else future.result().command_status


def otp_phase(client: OtpClient, operator: ProbedSmsc, start: float, end: float) -> dict[str, Any]:
    """The probes sent in [start, end): their time inside the gateway and what failed."""
    inside: list[float] = []
    answered: list[float] = []
    refused: Counter[str] = Counter()
    missing = 0
    for text, sent in client.sent.items():
        if not start <= sent < end:
            continue
        status = client.statuses.get(text)
        if status not in (None, S.ESME_ROK):
            refused[S(status).name if status in S._value2member_map_ else str(status)] += 1
        elif text in operator.arrived:
            inside.append(operator.arrived[text] - sent)
        else:
            missing += 1
        if text in client.answered_at:
            answered.append(client.answered_at[text] - sent)
    return {
        "sent": len(inside) + sum(refused.values()) + missing,
        "inside_gateway_ms": percentiles_ms(inside),
        "submit_resp_ms": percentiles_ms(answered),
        "refused": dict(refused),
        "never_reached_operator": missing,
    }


def fairness_config(args: argparse.Namespace, operator_port: int, metrics_port: int,
                    namespace: str) -> str:  # fmt: skip
    """bench.e2e's engine (account ``bench`` floods) plus the OTP account."""
    e2e_args = argparse.Namespace(
        persister=args.persister,
        binds=args.flood_binds,
        deliver_window=1_000,
        connector_binds=args.connector_binds,
        connector_window=args.connector_window,
    )
    otp_hash = hash_password(OTP_PASSWORD, log2_n=10)
    admission = "".join(f"{setting}\n" for setting in args.admission)
    return engine_config(e2e_args, operator_port, metrics_port, namespace) + (
        f'\n[[accounts]]\nid = "{OTP_ACCOUNT}"\npassword_hash = "{otp_hash}"\nmax_binds = 1\n'
        + (f"\n[limits.admission]\n{admission}" if admission else "")
    )


async def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Operator, engine, OTP client, then the flood; the report."""
    durable = args.backend == "redis+postgres"
    redis = Redis.from_url(args.redis_url) if durable else None
    namespace = f"bench-fair-{os.getpid()}"
    operator = ProbedSmsc(
        SimulatorConfig(
            port=0,
            response_latency=Delay(fixed_ms=1),
            receipts=ReceiptSettings(delay=Delay(fixed_ms=10)),
            deliver_window=args.connector_window,
        )
    )
    await operator.start()
    engine = Child("engine")
    try:
        async with contextlib.AsyncExitStack() as stack:
            env = None
            if durable:
                database_url = await stack.enter_async_context(
                    throwaway_database(args.database_url)
                )
                env = os.environ | {
                    "SMSGW_REDIS_URL": args.redis_url,
                    "SMSGW_DATABASE_URL": database_url,
                }
            metrics_port = free_port()
            config = directory / "smsgw.toml"
            config.write_text(fairness_config(args, operator.port, metrics_port, namespace))
            credit = CREDIT_MESSAGES * PRICE
            if durable:
                argv = python_module("smsgw.cli", "serve", "--config", str(config))
            else:
                argv = python_module(
                    "bench.e2e", "--serve-embedded", str(config), "--credit", str(credit)
                )
            if durable and args.persister == "process":
                await stack.enter_async_context(_persister_process(namespace, env))
            await engine.start(argv, env=env)
            _unniced(engine)
            try:
                ready = await engine.wait_event(READY_EVENT[args.backend])
                if redis is not None:
                    ledger = RedisLedger(redis, LedgerConfig(namespace=namespace), shard="bench")
                    await ledger.start()
                    for account in (ACCOUNT, OTP_ACCOUNT):
                        await ledger.adjust(account, credit, reason="bench", reference="bench")
                await CounterSampler(metrics_port).wait_bound(args.connector_binds)
                port = int(ready["ports"][0])
                report = await _phases(args, operator, engine, port, metrics_port)
            finally:
                report_code = await engine.stop()
            report["engine_exit_code"] = report_code
            report["engine_problems"] = dict(engine.problems)
            report["engine_first_problems"] = engine.first_problems
            return report
    finally:
        await operator.stop()
        if redis is not None:
            await delete_namespace(redis, namespace)
            await redis.aclose()


async def _phases(
    args: argparse.Namespace, operator: ProbedSmsc, engine: Child, port: int, metrics_port: int
) -> dict[str, Any]:
    client = OtpClient(args.otp_rate)
    sending = asyncio.create_task(client.run(port))
    quiet_start = time.perf_counter()
    await asyncio.sleep(args.quiet_seconds)
    fleet = Child("flood")
    flood_start = time.perf_counter()
    await fleet.start(
        fleet_command(
            port,
            ACCOUNT,
            binds=args.flood_binds,
            window=args.flood_window,
            count=CREDIT_MESSAGES,
            timeout=args.flood_warmup + args.flood_seconds,
            receipt_wait=1,
        )
    )
    _unniced(fleet)
    await asyncio.sleep(args.flood_warmup)
    sampler = CounterSampler(metrics_port)
    cpu_before, measured_from = engine.cpu_seconds(), time.perf_counter()
    accepted_before = (await sampler.scrape()).get("accepted", 0.0)
    await asyncio.sleep(args.flood_seconds - 0.5)
    cpu = engine.cpu_seconds() - cpu_before
    measured_to = time.perf_counter()
    accepted = (await sampler.scrape()).get("accepted", 0.0) - accepted_before
    await fleet.wait(args.flood_seconds + 30)
    await asyncio.sleep(2.0)  # the last probes reach the operator
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    flood = json_report(fleet, "accepted")
    return {
        "backend": args.backend,
        "otp_rate": args.otp_rate,
        "otp_without_flood": otp_phase(client, operator, quiet_start + 1.0, flood_start),
        "otp_with_flood": otp_phase(client, operator, measured_from, measured_to),
        "flood_accepted": flood["accepted"],
        "flood_accepted_per_s": flood["accepted_per_s"],
        "flood_refused": flood["refused"],
        "flood_binds": args.flood_binds,
        "flood_window": args.flood_window,
        "admission": args.admission,
        "engine_cpu_share_during_flood": round(cpu / (measured_to - measured_from), 3),
        "engine_cpu_us_per_accepted": round(cpu * 1e6 / accepted, 1) if accepted else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@contextlib.asynccontextmanager
async def _persister_process(namespace: str, env: dict[str, str] | None) -> AsyncIterator[None]:
    """`smsgw ledger persist` beside the engine, as `bench.e2e --persister process` runs it."""
    persister = Child("persister")
    await persister.start(
        python_module("smsgw.cli", "ledger", "persist", "--namespace", namespace), env=env
    )
    _unniced(persister)
    try:
        await persister.wait_until(
            lambda: any("persisting" in line for line in persister.stdout_tail), "persisting"
        )
        yield
    finally:
        await persister.stop()


def _unniced(child: Child) -> None:
    """``child`` back at the usual priority: only this process runs ahead."""
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, child.pid, 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fairness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--json", action="store_true", help="one JSON object")
    add("--backend", choices=BACKENDS, default=BACKENDS[0])
    add(
        "--persister",
        choices=("in-process", "process"),
        default="in-process",
        help="redis+postgres: the shard's own persister (the default) or `smsgw ledger persist`",
    )
    add("--otp-rate", type=float, default=20.0, help="OTP probes per second")
    add("--quiet-seconds", type=float, default=6.0, help="OTP alone (its first second left out)")
    add("--flood-seconds", type=float, default=12.0, help="OTP measured during the flood")
    add("--flood-warmup", type=float, default=2.0, help="flood seconds left out at its start")
    add("--flood-binds", type=int, default=4)
    add("--flood-window", type=int, default=500, help="flood's submit_sm in flight per bind")
    add("--connector-binds", type=int, default=2, help="engine's binds to the operator")
    add("--connector-window", type=int, default=200, help="engine's submit_sm per operator bind")
    add(
        "--admission",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [limits.admission] setting of the engine, e.g. target_delay=0.01",
    )
    add("--redis-url", default=os.environ.get("SMSGW_REDIS_URL", "redis://127.0.0.1:6379/0"))
    add(
        "--database-url",
        default=os.environ.get(
            "SMSGW_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where the benchmark may create and drop a database",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.suppress(PermissionError):
        os.nice(-NICE)
    with tempfile.TemporaryDirectory(prefix="smsgw-fairness-") as scratch:
        report = uvloop.run(run(args, Path(scratch)))
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
