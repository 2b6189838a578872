"""`cancelled` ends a task that swallowed its first cancellation, and
`run_together` ends all of its tasks even when one swallows it."""

from __future__ import annotations

import asyncio

import pytest

from engine.loop.cancelling import cancelled, run_together


class Stubborn:
    """Listens for ever and swallows its first cancellation, as 3.11's
    wait_for does when its awaitable finishes at the same moment."""

    def __init__(self) -> None:
        self.swallowed = 0

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.swallowed += 1
        await asyncio.Event().wait()


async def test_a_task_that_swallows_one_cancel_is_cancelled_again() -> None:
    stubborn = Stubborn()
    task = asyncio.create_task(stubborn.run())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancelled(task, again=0.01), 5)
    assert stubborn.swallowed == 1 and task.cancelled()


async def test_what_a_task_ended_with_stays_on_it() -> None:
    async def failing() -> None:
        raise ValueError("broken")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancelled(task)
    with pytest.raises(ValueError, match="broken"):
        task.result()


async def test_run_together_stops_a_task_that_swallowed_its_cancel() -> None:
    """A TaskGroup would wait for ever here: it cancels its tasks only once."""
    stubborn = Stubborn()
    other = asyncio.Event()
    parent = asyncio.create_task(run_together(stubborn.run(), other.wait(), again=0.01))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(cancelled(parent, again=0.01), 5)
    assert stubborn.swallowed == 1 and parent.cancelled()


async def test_run_together_raises_the_failure_after_stopping_the_others() -> None:
    stopped = asyncio.Event()

    async def listening() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        await asyncio.wait_for(run_together(listening(), failing()), 5)
    assert stopped.is_set()
