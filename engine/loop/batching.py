"""Per-iteration batching: what arrives during one turn of the event loop is
handled by one call, in one task (DESIGN: no per-message round trips)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import structlog

from ledger.retry import BackoffPolicy

log = structlog.get_logger("smsgw.batching")

T = TypeVar("T")


class BackgroundTasks:
    """Keeps strong references to fire-and-forget tasks and can wait for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class TickBatcher(Generic[T]):
    """Collects items; the first one of an iteration schedules ``handle(items)``.

    With ``retry``, a batch whose handling raised (its backend is down) is
    handled again after the backoff's delay for the failures in a row, until
    it succeeds: only for handlers that are safe to repeat.
    """

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[None]],
        tasks: BackgroundTasks,
        retry: BackoffPolicy | None = None,
    ) -> None:
        self._handle = handle
        self._tasks = tasks
        self._retry = retry
        self._failures = 0
        """Failed batches since the last success: the backoff grows with them."""
        self._pending: list[T] = []

    def add(self, item: T) -> None:
        if not self._pending:
            self._tasks.spawn(self._flush())
        self._pending.append(item)

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            await self._handle(batch)
        except Exception:
            if self._retry is None:
                raise
            self._failures += 1
            log.warning("batch failed, retrying", items=len(batch), exc_info=True)
            delay = self._retry.compute(self._failures)
            asyncio.get_running_loop().call_later(delay, self._again, batch)
        else:
            self._failures = 0

    def _again(self, batch: list[T]) -> None:
        for item in batch:
            self.add(item)
