"""Stopping a task for certain, even when one cancellation is lost.

On Python 3.11, `asyncio.wait_for` drops a cancellation that arrives as the
awaitable it wraps completes (CPython gh-86296, fixed in 3.12). redis-py wraps
every socket write in it, so a task cancelled as it sends a command may carry
on: `smsgw serve` on a Cluster hung at SIGTERM that way, its admin-change
subscription listening on after the one cancel that was meant to end it.
"""

from __future__ import annotations

import asyncio

CANCEL_AGAIN = 1.0
"""Seconds between cancellations of a task that has not ended yet."""


async def cancelled(task: asyncio.Task[None], again: float = CANCEL_AGAIN) -> None:
    """Cancel ``task`` until it ends, every ``again`` seconds. What it ended
    with (an error, a result) stays on the task for the caller to read."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=again)
