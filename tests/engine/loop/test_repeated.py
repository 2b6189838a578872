"""A repeated warning is one line per burst, then one counted line per interval."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.loop.repeated import RepeatedWarning


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


async def test_a_flood_is_one_line_then_one_per_interval_with_its_counts() -> None:
    logger = Lines()
    warning = RepeatedWarning(logger, "receipts unknown", by="connectors", interval=0.05)
    for n in range(100_000):
        warning.add("op-a" if n % 4 else "op-b", id=str(n))
    await asyncio.sleep(0)
    assert logger.lines == [
        ("receipts unknown", {"connectors": {"op-b": 25_000, "op-a": 75_000}, "id": "99999"})
    ]
    warning.add("op-a", 3, id="late")
    warning.add("op-a", id="last")
    assert len(logger.lines) == 1, "quiet until the interval ends"
    async with asyncio.timeout(5):
        while len(logger.lines) < 2:
            await asyncio.sleep(0.01)
    assert logger.lines[1] == ("receipts unknown", {"connectors": {"op-a": 4}, "id": "last"})
    assert warning.total == 100_004
    warning.close()


async def test_nothing_more_is_told_once_quiet() -> None:
    logger = Lines()
    warning = RepeatedWarning(logger, "overflow", by="accounts", interval=0.01)
    warning.add("acme")
    await asyncio.sleep(0.05)
    assert logger.lines == [("overflow", {"accounts": {"acme": 1}})]
    warning.close()
