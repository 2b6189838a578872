"""Concurrent requests for one thing share one run of the work (single flight).

A check that every request of a busy client needs (a password's scrypt, an
API key's store read) must not run once per request when they arrive
together: the first starts it, the others wait on the same run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SingleFlight(Generic[K, T]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[T]] = {}

    def start(self, key: K, work: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """The run for ``key``: the one under way, or ``work()`` started now.
        Await it through `asyncio.shield`: a caller that gives up must not
        cancel the run the others wait on."""
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(work())
            self._running[key] = running
            running.add_done_callback(lambda done: self._ended(key, done))
        return running

    def _ended(self, key: K, done: asyncio.Future[T]) -> None:
        self._running.pop(key, None)
        if not done.cancelled():
            done.exception()  # a run nobody awaited (a refresh) fails quietly; callers see it
