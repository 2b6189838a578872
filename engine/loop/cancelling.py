"""Stopping a task for certain, even when one cancellation is lost.

On Python 3.11, `asyncio.wait_for` drops a cancellation that arrives as the
awaitable it wraps completes (CPython gh-86296, fixed in 3.12). redis-py wraps
every socket write in it, so a task cancelled as it sends a command may carry
on: `smsgw serve` on a Cluster hung at SIGTERM that way, its admin-change
subscription listening on after the one cancel that was meant to end it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

CANCEL_AGAIN = 1.0
"""Seconds between cancellations of a task that has not ended yet."""


async def cancelled(task: asyncio.Task[None], again: float = CANCEL_AGAIN) -> None:
    """Cancel ``task`` until it ends, every ``again`` seconds. What it ended
    with (an error, a result) stays on the task for the caller to read."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=again)


async def run_together(*coroutines: Coroutine[Any, Any, None], again: float = CANCEL_AGAIN) -> None:
    """Runs ``coroutines`` as tasks until one fails or this one is cancelled,
    then stops every one of them for certain.

    A TaskGroup cannot be used for long-running Redis listeners on 3.11: it
    cancels its tasks once, and a later cancellation of its own task no longer
    reaches them, so one lost cancellation (see above) keeps it waiting for
    ever. Here each task is cancelled again every ``again`` seconds until it
    ends, and cancellations of this task meanwhile do not cut that short.
    """
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            while not task.done():
                task.cancel()
                try:
                    await asyncio.wait({task}, timeout=again)
                except asyncio.CancelledError:
                    continue  # already stopping: the tasks must end first
