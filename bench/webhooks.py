"""CPU time of the webhook sender per webhook: ``python -m bench.webhooks``.

The sender runs in this process as it runs in ``serve``: receipts handed to
`WebhookCallbacks.settled` (which builds the payload), the dispatcher's
workers, the connection pool, the delivery log (in memory, or Redis with
``--redis``). The receiver is another process (its CPU is not counted): a
small HTTP/1.1 server answering ``204`` at once on keep-alive connections.
The figure is this process's CPU time (`os.times`, user + system, also shown
apart: on loopback the kernel's work for the receiving side is partly charged
to the sender's system time) over the webhooks sent, from the first receipt
handed over to the last webhook answered, after a warm-up; it depends less on
how busy the machine is than a rate does. Each subject runs ``--rounds``
times, taking turns, and its best round is kept.

With ``--base PATH`` (a checkout of an older commit, e.g. ``git worktree add
/tmp/webhooks-base HEAD``) the same measurement also runs on that code, in a
subprocess, for a before/after from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from typing import Any, cast

import uvloop

_ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class _Receiver(asyncio.Protocol):
    """Answers every request 204 (bodies framed by Content-Length, as ours are)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        answers = 0
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            answers += 1
        self._buffer = buffer
        if answers and self._transport is not None:
            self._transport.write(_ANSWER * answers)


def _receive(port: Any) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_Receiver, "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        await asyncio.Event().wait()

    uvloop.run(serve())


async def _measure(port: int, messages: int, batch: int, redis_url: str) -> dict[str, Any]:
    from engine.customers.accounts import AccountConfig
    from engine.messages.message import Callback
    from engine.messages.receipt_map import SubmittedPart
    from engine.webhooks import MemoryDeliveryLog, RedisDeliveryLog, WebhookDispatcher
    from engine.webhooks import WebhookLimits as Limits
    from engine.webhooks.callbacks import WebhookCallbacks
    from smpp.receipt import MessageState

    redis = None
    log: Any = MemoryDeliveryLog(length=1000)
    if redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(redis_url)
        log = RedisDeliveryLog(redis, f"bench-webhooks-{os.getpid()}", length=1000, ttl=60)
    limits = Limits(private_networks=True, queue_depth=max(100_000, messages))
    dispatcher = WebhookDispatcher(limits, log, rng=random.Random(1))
    options: dict[str, Any] = {"webhook_batch": batch} if batch > 1 else {}
    account = AccountConfig(id="bank", password_hash="", webhook_secret="whsec_b", **options)
    callbacks = WebhookCallbacks(dispatcher, {"bank": account})
    callback = Callback(url=f"http://127.0.0.1:{port}/hook")
    now = time.time()
    parts = [
        SubmittedPart(f"m{i:019d}", "bank", 1, "BANK", f"4479{i:08d}", now, callback=callback)
        for i in range(messages + messages // 10)
    ]
    dispatcher.start()

    async def send(chunk: list[SubmittedPart]) -> tuple[float, float]:
        """Hands receipts over 500 at a time (as the pipeline does, a batch per
        loop turn) and waits for their webhooks; the CPU seconds spent (user, system)."""
        sent = dispatcher.counters["sent"] + len(chunk)
        started = os.times()
        for first in range(0, len(chunk), 500):
            for part in chunk[first : first + 500]:
                callbacks.settled(part, MessageState.DELIVERED, "000")
            await asyncio.sleep(0)
        while dispatcher.counters["sent"] < sent:
            await asyncio.sleep(0.001)
        ended = os.times()
        return ended.user - started.user, ended.system - started.system

    try:
        await send(parts[messages:])  # warm-up: connections opened, code paths hot
        wall = time.perf_counter()
        user, system = await send(parts[:messages])
        wall = time.perf_counter() - wall
    finally:
        await dispatcher.stop(timeout=5.0)
        if redis is not None:
            await redis.aclose()
    return {
        "batch": batch,
        "webhooks": messages,
        "cpu_us_per_webhook": round((user + system) / messages * 1e6, 1),
        "user_us_per_webhook": round(user / messages * 1e6, 1),
        "system_us_per_webhook": round(system / messages * 1e6, 1),
        "webhooks_per_s": round(messages / wall),
        "failed": dispatcher.counters["failed"],
    }


def _run_base(base: str, port: int, messages: int, redis_url: str) -> dict[str, Any]:
    """The same measurement on the code at ``base`` (batch 1 only: older code has no batches)."""
    code = (
        f"import sys; sys.path.insert(0, {base!r}); import runpy; "
        f"sys.argv = ['bench.webhooks', '--only', '--port', '{port}', "
        f"'--messages', '{messages}', '--redis', {redis_url!r}]; "
        f"runpy.run_path({__file__!r}, run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=base
    )
    return json.loads(out.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20, help="the batched run's webhook_batch")
    parser.add_argument("--redis", default="", help="delivery log in Redis at this URL")
    parser.add_argument("--base", default="", help="also measure the code checked out here")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:  # one batch-1 run against a running receiver (the --base subprocess)
        print(json.dumps(uvloop.run(_measure(args.port, args.messages, 1, args.redis))))
        return 0
    context = multiprocessing.get_context("spawn")
    port = context.Value("i", 0)
    receiver = context.Process(target=_receive, args=(port,), daemon=True)
    receiver.start()
    try:
        while not port.value:
            time.sleep(0.01)
        subjects = {"batch 1": 1, f"batch {args.batch}": args.batch}
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.rounds):  # rounds alternate, so a burst elsewhere costs one round
            for name, batch in subjects.items():
                result = uvloop.run(_measure(port.value, args.messages, batch, args.redis))
                if (
                    name not in best
                    or result["cpu_us_per_webhook"] < best[name]["cpu_us_per_webhook"]
                ):
                    best[name] = result
            if args.base:
                result = _run_base(args.base, port.value, args.messages, args.redis)
                name = "base, batch 1"
                if (
                    name not in best
                    or result["cpu_us_per_webhook"] < best[name]["cpu_us_per_webhook"]
                ):
                    best[name] = result
    finally:
        receiver.terminate()
        receiver.join()
    for name, result in best.items():
        print(
            f"{name:>14}: {result['cpu_us_per_webhook']:7.1f} µs CPU per webhook "
            f"({result.get('user_us_per_webhook', 0):.1f} user, "
            f"{result.get('system_us_per_webhook', 0):.1f} system), "
            f"{result['webhooks_per_s']:6d} webhooks/s, {result['webhooks']} sent"
            + (f", {result['failed']} failed" if result["failed"] else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
