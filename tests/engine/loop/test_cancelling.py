"""`cancelled` ends a task that swallowed its first cancellation."""

from __future__ import annotations

import asyncio

import pytest

from engine.loop.cancelling import cancelled


async def test_a_task_that_swallows_one_cancel_is_cancelled_again() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed += 1  # as 3.11's wait_for does when its awaitable finishes at once
        await asyncio.Event().wait()

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancelled(task, again=0.01), 5)
    assert swallowed == 1 and task.cancelled()


async def test_what_a_task_ended_with_stays_on_it() -> None:
    async def failing() -> None:
        raise ValueError("broken")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancelled(task)
    with pytest.raises(ValueError, match="broken"):
        task.result()
