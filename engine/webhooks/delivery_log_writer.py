"""Writes delivery-log entries off the webhook workers' path, in batches.

A worker hands its entry over with a plain method call and goes on to the
next delivery; one writer task takes everything that piled up since its last
write (lingering a moment after the first entry) and records it in one call
(one Redis pipeline). So there is never
more than one log write in flight, a slow log store makes batches bigger
rather than workers slower, and the entries waiting are bounded: beyond
``max_pending`` the oldest are dropped and counted. The log is a debugging
view for customers, so losing entries while Redis is away is the right trade
against holding up receipts. After a failed write the writer pauses a
second, so an outage costs one warning a second, not one per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import structlog

from engine.loop.cancelling import cancelled
from engine.webhooks.delivery_log import DeliveryAttempt, DeliveryLog

log = structlog.get_logger("smsgw.webhooks")

_PAUSE_AFTER_FAILURE = 1.0
"""Seconds the writer waits after a failed write (unless it is being stopped)."""
_LINGER = 0.02
"""Seconds the writer lets entries gather after the first one comes: a Redis
pipeline costs about as much CPU for one entry as for a hundred, and webhooks
answered one by one would otherwise be written one by one (40 µs of CPU each)."""


class DeliveryLogWriter:
    def __init__(self, delivery_log: DeliveryLog, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, not {max_pending!r}")
        self._log = delivery_log
        self._pending: deque[DeliveryAttempt] = deque(maxlen=max_pending)
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writing = 0
        self.dropped = 0
        """Entries never written: pushed out while waiting, or in a failed write."""

    def add(self, entry: DeliveryAttempt) -> None:
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(entry)
        self._wake.set()

    def start(self) -> None:
        self._closing.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, timeout: float) -> None:
        """Write what is pending (for at most ``timeout`` seconds), then end."""
        if self._task is None:
            return
        self._closing.set()
        self._wake.set()
        done, _ = await asyncio.wait((self._task,), timeout=timeout)
        if not done:
            await cancelled(self._task)
            self.dropped += self._writing + len(self._pending)
            self._pending.clear()
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing.is_set():
                await asyncio.sleep(_LINGER)
            self._wake.clear()
            while self._pending:
                batch = list(self._pending)
                self._pending.clear()
                if not await self._write(batch) and not self._closing.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), _PAUSE_AFTER_FAILURE)
            if self._closing.is_set():
                return

    async def _write(self, batch: list[DeliveryAttempt]) -> bool:
        self._writing = len(batch)
        try:
            await self._log.record(*batch)
        except Exception as exc:
            self._writing = 0
            self.dropped += len(batch)
            log.warning("webhook delivery log not written", entries=len(batch), error=repr(exc))
            return False
        self._writing = 0
        return True
