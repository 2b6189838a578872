"""Sends webhooks from a bounded queue with a fixed pool of workers.

The pipeline calls `WebhookDispatcher.submit` when a receipt arrives: a
plain method that encodes the body and queues it, or says no when the
dispatcher holds ``queue_depth`` deliveries already (queued, in flight, or
waiting for a retry), so a customer's dead receiver bounds our memory instead
of growing it. ``concurrency`` worker tasks take deliveries in turn (never a
task per delivery); a retry waits on a ``loop.call_later`` timer and comes
back into the queue, so no worker sleeps through a backoff.

Calls go through one `ConnectionPool` (keep-alive connections per
``(scheme, host, port)``, opened only to addresses the `AddressGuard`
checked) as bytes built once per call (`engine.webhooks.wire`): about
1.4 ms of CPU per webhook with httpx, a few tens of µs here
(``python -m bench.webhooks``). Receipts of an account with
``webhook_batch`` above 1 share calls (`engine.webhooks.jobs`).

Deliveries live in memory only: those queued or waiting for a retry when the
process stops are given up and counted (at-most-once beyond a restart).
Receivers should expect duplicates too: a call that timed out on our side
may have been handled on theirs; Smsgw-Message-Id and Smsgw-Event identify
the event.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections import deque
from typing import Annotated

import msgspec
import structlog
from msgspec import Meta

from engine.loop.cancelling import cancelled
from engine.loop.repeated import RepeatedWarning
from engine.webhooks.connections import (
    AnswerTimeout,
    ConnectionPool,
    HostRefused,
    Origin,
    TransportError,
)
from engine.webhooks.delivery_log import MAX_ERROR_LENGTH, DeliveryAttempt, DeliveryLog, Outcome
from engine.webhooks.delivery_log_writer import DeliveryLogWriter
from engine.webhooks.guard import AddressGuard, parse_networks
from engine.webhooks.http1 import RemoteProtocolError
from engine.webhooks.jobs import BatchKey, Job
from engine.webhooks.requests import WebhookDelivery, encode_delivery
from engine.webhooks.verdicts import Verdict, verdict_of_status, webhook_retry_policy

log = structlog.get_logger("smsgw.webhooks")


class WebhookLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    queue_depth: Annotated[int, Meta(ge=1)] = 100_000
    """Deliveries held at once (queued, in flight, waiting to retry); more are dropped."""
    concurrency: Annotated[int, Meta(ge=1, le=4096)] = 64
    """Worker tasks, hence calls in flight at once."""
    timeout: Annotated[float, Meta(gt=0, le=300)] = 5.0
    """Seconds one attempt may take; an answer whose status came in time counts."""
    retry_delays: tuple[Annotated[float, Meta(ge=0, le=86_400)], ...] = (1, 5, 30, 120, 600)
    """Seconds before each retry (+/-20% jitter); their number is the number of retries."""
    max_body_bytes: Annotated[int, Meta(ge=1)] = 65_536
    """Largest payload (JSON body, form body or query string) sent; larger ones fail."""
    log_length: Annotated[int, Meta(ge=1, le=100_000)] = 1_000
    """Delivery-log entries kept per account."""
    log_ttl: Annotated[int, Meta(ge=1)] = 604_800
    """Seconds an account's delivery log lives after its last entry (Redis)."""
    keepalive_idle: Annotated[float, Meta(gt=0, le=3600)] = 15.0
    """Seconds an unused connection to a receiver stays open for the next
    webhook to it (at most ``per_host`` per receiver)."""
    log_pending: Annotated[int, Meta(ge=1)] = 100_000
    """Delivery-log entries waiting to be written; beyond that the oldest are dropped."""
    private_networks: bool = False
    """Whether webhooks may call loopback, private and link-local addresses
    (the gateway's own network): off, anyone who can set a webhook URL could
    reach internal services through us. `smsgw dev` turns it on."""
    allowed_networks: tuple[str, ...] = ()
    """Networks webhooks may call although not public (``["10.20.0.0/16"]``):
    an operator's own receivers, without opening every private address."""
    per_host: Annotated[int, Meta(ge=1, le=4096)] = 16
    """Calls in flight to one host at once: a receiver that hangs holds at most
    this many workers, and the others keep serving everyone else."""

    def __post_init__(self) -> None:
        parse_networks(self.allowed_networks)


class _Answer(msgspec.Struct, frozen=True):
    verdict: Verdict
    status: int | None = None
    error: str = ""


class WebhookDispatcher:
    def __init__(
        self,
        limits: WebhookLimits,
        delivery_log: DeliveryLog,
        *,
        rng: random.Random | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits
        self._retry = webhook_retry_policy(limits.retry_delays, rng)
        self._log = DeliveryLogWriter(delivery_log, limits.log_pending)
        self._ready: asyncio.Queue[Job | None] = asyncio.Queue()
        self._waiting: dict[Job, asyncio.TimerHandle] = {}
        self.guard = AddressGuard(limits.private_networks, limits.allowed_networks)
        """Which hosts may be called; the API edge asks it too (`Engine.check_webhook`)."""
        self._tls = tls
        """Verifies receivers' certificates; the system's trust store when None."""
        self._pool: ConnectionPool | None = None
        self._busy: dict[Origin, int] = {}
        """Calls in flight per host."""
        self._parked: dict[Origin, deque[Job]] = {}
        """Jobs waiting for their host to have a call fewer in flight."""
        self._open: dict[BatchKey, Job] = {}
        """Per batch key, the job not yet sent that more deliveries may join."""
        self._sending: set[Job] = set()
        """Jobs whose attempt is in flight."""
        self._workers: list[asyncio.Task[None]] = []
        self._accepting = False
        self._held = 0
        self._unexpected = RepeatedWarning(
            log, "webhook attempts failed unexpectedly", by="hosts"
        )  # counted per host: a URL may carry a customer's token
        self.counters = dict.fromkeys(("sent", "retried", "failed", "dropped"), 0)
        """Deliveries (not calls): sent: delivered; retried: attempts to be tried
        again; failed: given up after a permanent answer or the last retry;
        dropped: refused by `submit` or given up at `stop`."""

    @property
    def held(self) -> int:
        """Deliveries queued, in flight or waiting for a retry (a gauge)."""
        return self._held

    @property
    def log_entries_dropped(self) -> int:
        return self._log.dropped

    @property
    def connections_opened(self) -> int:
        """Connections opened to receivers since start (calls beyond it reused one)."""
        return self._pool.opened if self._pool is not None else 0

    def start(self) -> None:
        self._pool = ConnectionPool(self.guard, self._tls, self.limits.keepalive_idle)
        self._log.start()
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._work()) for _ in range(self.limits.concurrency)]
        self._accepting = True

    def submit(self, delivery: WebhookDelivery) -> bool:
        """Queue a delivery; False (and counted as dropped) when full or stopped.

        True means taken: its outcome shows in the counters and the delivery
        log, including a payload over ``max_body_bytes``, which fails at once.
        """
        if not self._accepting or self._held >= self.limits.queue_depth:
            self.counters["dropped"] += 1
            return False
        try:
            request = encode_delivery(delivery, self.limits.max_body_bytes)
        except ValueError as exc:
            self.counters["failed"] += 1
            self._record(delivery, 0, _Answer(Verdict.FAILED, error=str(exc)), "failed")
            return True
        self._held += 1
        if delivery.batch > 1:
            waiting = self._open.get((delivery.account, delivery.url, delivery.secret))
            if waiting is not None and waiting.join(delivery, request, self.limits.max_body_bytes):
                return True
        job = Job(delivery, request)
        if job.key is not None:
            self._open[job.key] = job
        self._ready.put_nowait(job)
        return True

    async def try_once(self, delivery: WebhookDelivery) -> _Answer:
        """One attempt now, outside the queue and never retried (a test event,
        `engine.webhooks.probe`); its outcome goes to the delivery log."""
        try:
            request = encode_delivery(delivery, self.limits.max_body_bytes)
            answer = await self._send(Job(delivery, request))
        except ValueError as exc:
            answer = _Answer(Verdict.FAILED, error=str(exc))
        outcome: Outcome = "delivered" if answer.verdict is Verdict.DELIVERED else "failed"
        self._record(delivery, 1, answer, outcome)
        return answer

    async def stop(self, timeout: float) -> None:
        """Refuse new deliveries, finish the attempts in flight, give up the rest.

        Attempts still running after ``timeout`` seconds are cancelled; pending
        delivery-log entries get what is left of the timeout to be written.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        dropped_before = self.counters["dropped"]
        self._accepting = False
        given_up = sum(len(job.deliveries) for job in self._waiting)
        while not self._ready.empty():
            job = self._ready.get_nowait()
            given_up += len(job.deliveries) if job is not None else 0
        given_up += sum(len(job.deliveries) for jobs in self._parked.values() for job in jobs)
        self._parked.clear()
        self._open.clear()
        for handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        for _ in self._workers:
            self._ready.put_nowait(None)
        running = 0
        if self._workers:
            _, unfinished = await asyncio.wait(self._workers, timeout=timeout)
            running = sum(len(job.deliveries) for job in self._sending)
            await asyncio.gather(*(cancelled(worker) for worker in unfinished))
        self._workers = []
        self._held = 0
        self.counters["dropped"] += given_up + running
        if dropped := self.counters["dropped"] - dropped_before:
            log.warning("webhooks given up at stop", dropped=dropped, cancelled=running)
        await self._log.stop(max(0.0, deadline - asyncio.get_running_loop().time()))
        if self._pool is not None:
            self._pool.close()

    async def _work(self) -> None:
        while (job := await self._ready.get()) is not None:
            host = job.origin
            if self._busy.get(host, 0) >= self.limits.per_host:
                self._parked.setdefault(host, deque()).append(job)
                continue
            self._busy[host] = self._busy.get(host, 0) + 1
            try:
                await self._attempt(job)
            finally:
                self._host_done(host)

    def _host_done(self, host: Origin) -> None:
        """One call fewer to ``host``: the oldest job parked for it may go."""
        left = self._busy[host] - 1
        if left:
            self._busy[host] = left
        else:
            del self._busy[host]
        parked = self._parked.get(host)
        if parked:
            self._ready.put_nowait(parked.popleft())
            if not parked:
                del self._parked[host]

    async def _attempt(self, job: Job) -> None:
        if job.key is not None and self._open.get(job.key) is job:
            del self._open[job.key]
        job.attempts += 1
        self._sending.add(job)
        try:
            answer = await self._send(job)
        finally:
            self._sending.discard(job)
        count = len(job.deliveries)
        if answer.verdict is Verdict.DELIVERED:
            self.counters["sent"] += count
            self._settle(job, answer, "delivered")
            return
        delay = self._retry.next_delay(job.attempts) if answer.verdict is Verdict.RETRY else None
        if delay is None:
            self.counters["failed"] += count
            self._settle(job, answer, "failed")
        elif not self._accepting:
            self.counters["dropped"] += count
            reason = (
                f"{answer.error}; not retried: stopping"
                if answer.error
                else "not retried: stopping"
            )
            answer = _Answer(answer.verdict, answer.status, reason)
            self._settle(job, answer, "failed")
        else:
            self.counters["retried"] += count
            for delivery in job.deliveries:
                self._record(delivery, job.attempts, answer, "retrying")
            handle = asyncio.get_running_loop().call_later(delay, self._requeue, job)
            self._waiting[job] = handle

    def _requeue(self, job: Job) -> None:
        del self._waiting[job]
        self._ready.put_nowait(job)

    def _settle(self, job: Job, answer: _Answer, outcome: Outcome) -> None:
        self._held -= len(job.deliveries)
        for delivery in job.deliveries:
            self._record(delivery, job.attempts, answer, outcome)

    def _record(
        self, delivery: WebhookDelivery, attempt: int, answer: _Answer, outcome: Outcome
    ) -> None:
        self._log.add(
            DeliveryAttempt(
                account=delivery.account,
                message_id=delivery.message_id,
                url=delivery.url,
                event=delivery.event,
                attempt=attempt,
                at_ms=int(time.time() * 1000),
                status=answer.status,
                error=_short(answer.error),
                outcome=outcome,
            )
        )

    async def _send(self, job: Job) -> _Answer:
        """One HTTP call; its status is the answer even if reading its body then fails."""
        assert self._pool is not None
        try:
            wire = job.seal()
            response = await self._pool.request(
                wire.origin, wire.encode(int(time.time())), self.limits.timeout
            )
        except AnswerTimeout:
            return _Answer(Verdict.RETRY, error=f"timeout after {self.limits.timeout:g} s")
        except HostRefused as exc:
            return _Answer(Verdict.FAILED, error=str(exc))
        except (TransportError, RemoteProtocolError) as exc:
            return _Answer(Verdict.RETRY, error=_describe(exc))
        except Exception as exc:
            log.debug("webhook attempt failed unexpectedly", exc_info=True)
            self._unexpected.add(job.origin[1], error=_describe(exc))
            return _Answer(Verdict.FAILED, error=_describe(exc))
        assert response.status is not None
        return _Answer(verdict_of_status(response.status), response.status)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return _short(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"
