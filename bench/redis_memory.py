"""Bytes Redis keeps per delivered message once it is settled: `python -m bench.redis_memory`.

A private ``redis-server`` (default settings, no persistence) is started for
the run, so INFO memory's ``used_memory`` counts this run only. Every message
takes the engine's way through the real code, in batches as the engine makes
them: accept (`RedisLedger.accept_many`, accept.lua) and its ACCEPTED event,
the part's receipt correlation (`RedisReceiptMap.put_many`), the capture that
acknowledges its outbox entry (settle.lua) and its SUBMITTED event, the
receipt's lookup (`get_many`), its DELIVERED event and the correlation
forgotten (`forget_many`). The bucket event streams are drained as the
persister drains them, PostgreSQL aside: XREADGROUP, then its XACK and trim
scripts (`ledger/lua/ack_events.lua`, `trim_events.lua`).

``used_memory`` is read once a warm-up has made what every message shares
(streams, groups, scripts, accounts, the current settled slices) and again at
the end; the difference over the messages in between is what one message
keeps for as long as its settled mark lives (`LedgerConfig.settled_hold_ttl`,
defaults throughout). MEMORY USAGE of every key left, by kind, says where it
goes; a sample of hold records and correlations taken while their messages
were in flight says what those cost until settled and delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import uvloop

from bench.e2e import free_port
from bench.output import print_report
from engine.config import GatewayLimits
from engine.messages.ids import MessageIds
from engine.messages.receipt_map import RedisReceiptMap, SubmittedPart
from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import MessageEvent, MessageState
from ledger.model import AcceptOutcome, AcceptRequest, AccountLimits
from ledger.redis_client import RedisClient, open_redis
from ledger.redis_ledger import RedisLedger
from ledger.scripts import LuaScript

NAMESPACE = "smsgw"
CONNECTORS = ("op-a", "op-b", "op-c", "op-d")
PRICE = 25
PAYLOAD = bytes(160)
"""About what an encoded message waits as in the outbox."""
SAMPLED = 200
"""Holds and correlations whose MEMORY USAGE is read while in flight."""
_START_WAIT = 10.0
_GROUP = "persister"
_READ = PersisterConfig().batch_size
"""Entries read per stream per round, as the persister reads them."""
_ACK = LuaScript.from_files("ack_events", ledger_state=False)
_TRIM = LuaScript.from_files("trim_events", ledger_state=False)


@contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; yields its URL."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="smsgw-memory-")
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + _START_WAIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the private redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


class Run:
    """The engine's message flow over a ledger and a receipt map, and the persister's drain."""

    def __init__(self, redis: RedisClient, accounts: int) -> None:
        self.redis = redis
        self.ledger = RedisLedger(redis, LedgerConfig(namespace=NAMESPACE), shard="bench")
        self.receipts = RedisReceiptMap(redis, NAMESPACE, GatewayLimits().receipt_ttl)
        self.streams = [self.ledger.keys.events(b) for b in range(self.ledger.config.buckets)]
        self.accounts = [f"acct{n}" for n in range(accounts)]
        self.ids = MessageIds(1)
        self.operator_ids = itertools.count(0x5F3A_0000_0000)
        self.random = random.Random(16)
        self.sample: dict[str, list[int]] = {"hold": [], "correlation": []}

    async def start(self) -> None:
        await self.ledger.start()
        for script in (_ACK, _TRIM):
            await script.load(self.redis)
        for stream in self.streams:
            await self.redis.xgroup_create(stream, _GROUP, id="0", mkstream=True)
        # Entries as Redis sends them (RESP2 pairs or a RESP3 map): only ids are read.
        self.redis.set_response_callback("XREADGROUP", lambda response, **_: response)
        for account in self.accounts:
            await self.ledger.set_account(account, AccountLimits())
            await self.ledger.adjust(account, 10**15, reason="bench", reference="bench")

    async def messages(self, count: int, batch: int, concurrency: int) -> None:
        """``count`` messages in batches of ``batch``, ``concurrency`` batches at once."""
        sizes = [batch] * (count // batch) + ([count % batch] if count % batch else [])
        queue = iter(sizes)

        async def worker() -> None:
            for size in queue:
                await self.batch(size)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def batch(self, size: int) -> None:
        pick = self.random.choice
        connector = pick(CONNECTORS)
        requests = [
            AcceptRequest(
                message_id=self.ids(), account=pick(self.accounts), parts=1, price=PRICE,
                payload=PAYLOAD,
            )
            for _ in range(size)
        ]  # fmt: skip
        results = await self.ledger.accept_many(requests)
        accepted = [
            (r, result.outbox_id or "")
            for r, result in zip(requests, results, strict=True)
            if result.outcome is AcceptOutcome.OK
        ]
        if len(accepted) != size:
            raise RuntimeError(f"{size - len(accepted)} of {size} messages refused")
        await self._events(accepted, MessageState.ACCEPTED)
        submitted = time.time()
        parts = [(f"{next(self.operator_ids):X}", _part(r, submitted)) for r, _ in accepted]
        await self.receipts.put_many(connector, parts)
        await self._sample(accepted, connector, parts)
        await self.ledger.capture_many([(r.message_id, r.account, PRICE, o) for r, o in accepted])
        await self._events(accepted, MessageState.SUBMITTED, connector)
        keys = [(connector, operator_id) for operator_id, _ in parts]
        found = await self.receipts.get_many(keys)
        if any(part is None for part in found):
            raise RuntimeError("a correlation was not found")
        await self._events(accepted, MessageState.DELIVERED, connector)
        await self.receipts.forget_many(keys)

    async def _events(
        self, accepted: list[tuple[AcceptRequest, str]], state: MessageState, connector: str = ""
    ) -> None:
        now = int(time.time() * 1000)
        described = state is MessageState.ACCEPTED
        await self.ledger.append_message_events(
            [
                MessageEvent(
                    message_id=r.message_id, account=r.account, state=state, ts_ms=now,
                    connector=connector, parts=1,
                    destination="41790000000" if described else "",
                    source="BANK" if described else "",
                    price_per_part=PRICE if described else 0,
                )
                for r, _ in accepted
            ]
        )  # fmt: skip

    async def _sample(
        self,
        accepted: list[tuple[AcceptRequest, str]],
        connector: str,
        parts: list[tuple[str, SubmittedPart]],
    ) -> None:
        """MEMORY USAGE of a few holds and correlations while their messages are in flight."""
        if len(self.sample["hold"]) >= SAMPLED or not accepted:
            return
        request, _ = accepted[0]
        hold = self.ledger.keys.hold(request.account, request.message_id)
        correlation = self.receipts.key(connector, parts[0][0])[1]
        self.sample["hold"].append(await self.redis.memory_usage(hold) or 0)
        self.sample["correlation"].append(await self.redis.memory_usage(correlation) or 0)

    async def drain(self) -> None:
        """Reads every event waiting, then acknowledges and trims, until none is left."""
        while True:
            reply = await self.redis.xreadgroup(
                _GROUP, "bench", dict.fromkeys(self.streams, ">"), count=_READ
            )
            if not reply:
                return
            async with self.redis.pipeline(transaction=False) as pipe:
                for stream, entries in reply.items() if isinstance(reply, dict) else reply:
                    ids = b" ".join([entry[0] for entry in entries])
                    pipe.evalsha(_ACK.sha, 1, stream, _GROUP, ids)
                    pipe.evalsha(_TRIM.sha, 1, stream, _GROUP)
                await pipe.execute()


def _part(request: AcceptRequest, submitted_at: float) -> SubmittedPart:
    """What an SMPP customer's part keeps for its receipt (`submitted_part`)."""
    return SubmittedPart(
        request.message_id, request.account, 1, "BANK", "41790000000", submitted_at,
        source_addr_ton=5, preview="Your code is 123456.", bind=3,
    )  # fmt: skip


async def _drained_while(run: Run, work: asyncio.Future[None]) -> None:
    """Drains the event streams while ``work`` runs, as a persister beside the engine."""
    while not work.done():
        await run.drain()
        await asyncio.sleep(0.05)
    await work
    await run.drain()


_MEMORY_FIELDS = ("used_memory", "mem_clients_normal", "used_memory_dataset")


async def _memory(redis: RedisClient) -> dict[str, int]:
    """used_memory, what client buffers take of it (they come and go with
    the replies in flight), and its part that is data."""
    info = await redis.info("memory")
    return {name: int(info[name]) for name in _MEMORY_FIELDS}


async def _cpu(redis: RedisClient) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _kind(key: bytes) -> str:
    """`smsgw:{b7}:settled:41` -> settled, `smsgw:{dlr:op-a:3}:5F3A` -> correlation."""
    tag, found, rest = key.decode().partition("}:")
    if not found:
        return tag.rsplit(":", 1)[-1]
    return "correlation" if "{dlr:" in tag else rest.split(":", 1)[0]


async def _by_kind(redis: RedisClient) -> tuple[Counter[str], Counter[str]]:
    sizes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    async for key in redis.scan_iter(count=10_000):
        kind = _kind(key)
        sizes[kind] += await redis.memory_usage(key, samples=0) or 0
        counts[kind] += 1
    return sizes, counts


async def measure(redis_url: str, args: argparse.Namespace) -> dict[str, object]:
    redis = await open_redis(redis_url, timeout=30.0, connections=64)
    run = Run(redis, args.accounts)
    try:
        await run.start()
        await _drained_while(run, asyncio.ensure_future(run.messages(args.warmup, args.batch, 8)))
        before, cpu_before = await _memory(redis), await _cpu(redis)
        commands_before = int((await redis.info("stats"))["total_commands_processed"])
        started, client_started = time.perf_counter(), time.process_time()
        work = asyncio.ensure_future(run.messages(args.messages, args.batch, args.concurrency))
        await _drained_while(run, work)
        elapsed, client_cpu = time.perf_counter() - started, time.process_time() - client_started
        commands = int((await redis.info("stats"))["total_commands_processed"]) - commands_before
        after, server_cpu = await _memory(redis), await _cpu(redis) - cpu_before
        sizes, counts = await _by_kind(redis)
    finally:
        await run.ledger.aclose()
        await redis.aclose()
    n = args.messages
    report: dict[str, object] = {
        "messages": n,
        "bytes_per_message": round((after["used_memory"] - before["used_memory"]) / n, 1),
        "goal_bytes_per_message": 150,
        "used_memory_before": before["used_memory"],
        "used_memory_after": after["used_memory"],
    }
    for name in _MEMORY_FIELDS[1:]:
        report[f"{name}_before_after"] = f"{before[name]} {after[name]}"
    report |= {
        "in_flight_hold_bytes": _mean(run.sample["hold"]),
        "in_flight_correlation_bytes": _mean(run.sample["correlation"]),
    }
    for kind in sorted(sizes, key=sizes.__getitem__, reverse=True):
        report[f"kept_{kind}"] = f"{counts[kind]} keys, {sizes[kind] / n:.1f} B/message"
    report |= {
        "messages_per_s": round(n / elapsed),
        "client_cpu_us_per_message": round(client_cpu / n * 1e6, 1),
        "redis_cpu_us_per_message": round(server_cpu / n * 1e6, 1),
        "redis_commands_per_message": round(commands / n, 2),  # those inside scripts too
        "settled_hold_ttl_s": LedgerConfig().settled_hold_ttl,
        "receipt_ttl_s": GatewayLimits().receipt_ttl,
        "accounts": args.accounts,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "warmup_messages": args.warmup,
    }
    return report


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_memory", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=20_000, help="messages before measuring")
    parser.add_argument("--batch", type=int, default=2_000, help="messages per engine batch")
    parser.add_argument("--concurrency", type=int, default=4, help="batches in flight")
    parser.add_argument("--accounts", type=int, default=1_000)
    args = parser.parse_args(argv)
    if args.messages < 1 or args.warmup < 1 or args.batch < 1 or args.concurrency < 1:
        parser.error("--messages, --warmup, --batch and --concurrency must be >= 1")
    with private_redis() as url:
        report = uvloop.run(measure(url, args))
    print_report(report, args.json)


if __name__ == "__main__":
    main()
