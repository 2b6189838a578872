"""Coalesces concurrent single-item calls into batched calls, per key, per event-loop tick.

The hot path (DESIGN.md, "Commit point") must not make one round trip per
message. Callers submit one item and await its own result, or many and await
their results as one list; everything submitted for a key before the loop
turns goes out as one call of at most `max_batch` items. While `max_in_flight`
calls are outstanding, new items wait and join the next batch, so a busy
ledger makes fewer, larger calls instead of more.

Urgent items (an OTP's accept) go in batches of their own, sent first and
never held by that limit: under a flood, the limit queues the flood's items,
and an OTP queued behind them would wait for several full batches to
finish. Urgent traffic is small by nature (and bounded per account by the
engine's admission), so it cannot crowd the ledger out.

Cancelling a caller does not withdraw an item already sent: the call may have
committed it, exactly as with any network call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

BatchCall = Callable[[K, list[T]], Awaitable[list[R]]]


class _Waiter(Generic[R]):
    """One caller's items: their results fill one future, resolved once all are in.
    A future per item joined by `asyncio.gather` cost 1.35 us an item."""

    __slots__ = ("future", "missing", "results", "single")

    def __init__(self, future: asyncio.Future[Any], count: int, *, single: bool) -> None:
        self.future = future
        self.results: list[R | None] = [None] * count
        self.missing = count
        self.single = single
        """`submit`'s: the future resolves to the one result, not to a list."""

    def set_result(self, index: int, result: R) -> None:
        self.results[index] = result
        self.missing -= 1
        if not self.missing and not self.future.done():
            self.future.set_result(self.results[0] if self.single else self.results)

    def set_exception(self, error: BaseException) -> None:
        """The first error wins, as with `asyncio.gather`; the caller's other items still run."""
        if not self.future.done():
            self.future.set_exception(error)


Queued = tuple[T, _Waiter[R], int]  # item, its caller, its index among the caller's items


class BatchCoalescer(Generic[K, T, R]):
    """Runs `call(key, items) -> results` (one result per item, same order) for batches."""

    def __init__(self, call: BatchCall[K, T, R], *, max_batch: int, max_in_flight: int) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be >= 1")
        self._call = call
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: dict[K, list[Queued[T, R]]] = {}
        self._urgent: dict[K, list[Queued[T, R]]] = {}
        self._in_flight = 0
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: K, item: T, *, urgent: bool = False) -> asyncio.Future[R]:
        """Queues one item; the future resolves to its result or to the batch's error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        waiter: _Waiter[R] = _Waiter(future, 1, single=True)
        (self._urgent if urgent else self._pending).setdefault(key, []).append((item, waiter, 0))
        self._schedule(loop)
        return future

    def submit_many(
        self, items: Sequence[tuple[K, T]], *, urgent: bool = False
    ) -> asyncio.Future[list[R]]:
        """Queues (key, item) pairs; the future resolves to their results in order,
        or to the first error of their batches."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[R]] = loop.create_future()
        if not items:
            future.set_result([])
            return future
        waiter: _Waiter[R] = _Waiter(future, len(items), single=False)
        queue = self._urgent if urgent else self._pending
        for index, (key, item) in enumerate(items):
            waiting = queue.get(key)
            if waiting is None:
                waiting = queue[key] = []
            waiting.append((item, waiter, index))
        self._schedule(loop)
        return future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._urgent:
            self._send(self._urgent, counted=False)
        while self._pending and self._in_flight < self._max_in_flight:
            self._send(self._pending, counted=True)

    def _send(self, queue: dict[K, list[Queued[T, R]]], *, counted: bool) -> None:
        """One call for the first key of ``queue``; ``counted``: it takes one of
        the `max_in_flight` places."""
        key, waiting = next(iter(queue.items()))
        batch = waiting[: self._max_batch]
        del queue[key]
        if len(waiting) > self._max_batch:
            queue[key] = waiting[self._max_batch :]  # to the back: keys take turns
        self._in_flight += counted
        task = asyncio.get_running_loop().create_task(self._run(key, batch, counted))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: K, batch: list[Queued[T, R]], counted: bool) -> None:
        try:
            results = await self._call(key, [item for item, _, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch call returned {len(results)} results for {len(batch)}")
        except asyncio.CancelledError:
            for _, waiter, _ in batch:
                waiter.future.cancel()
            raise
        except Exception as error:
            for _, waiter, _ in batch:
                waiter.set_exception(error)
        else:
            for (_, waiter, index), result in zip(batch, results, strict=True):
                waiter.set_result(index, result)
        finally:
            self._in_flight -= counted
            if self._pending and not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    async def aclose(self) -> None:
        """Waits for the calls already sent; items not yet sent fail with CancelledError."""
        for queue in (self._urgent, self._pending):
            for waiting in queue.values():
                for _, waiter, _ in waiting:
                    waiter.future.cancel()
            queue.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
