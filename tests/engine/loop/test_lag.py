"""LoopLag reports how late the loop ran its timer: a blocked loop is seen."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.loop.lag import LoopLag


async def test_a_blocked_loop_is_reported_late() -> None:
    delays: list[float] = []
    lag = LoopLag(0.001, delays.append)
    lag.start()
    try:
        await asyncio.sleep(0.01)
        before = len(delays)
        time.sleep(0.05)  # the loop blocked, as by a long iteration
        while len(delays) == before:
            await asyncio.sleep(0.001)
    finally:
        lag.stop()
    assert delays[before] >= 0.04  # the first look after the block saw it
    assert min(delays) >= 0.0
    count = len(delays)
    await asyncio.sleep(0.01)
    assert len(delays) == count  # stopped: no more reports


def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        LoopLag(0, print)
