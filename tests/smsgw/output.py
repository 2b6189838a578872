"""Reading what `smsgw serve` prints, in the tests that run it as a process."""

from __future__ import annotations

import asyncio


async def read_until(stream: asyncio.StreamReader, wanted: bytes) -> None:
    """Reads ``stream`` up to a line holding ``wanted``. When the process
    exits first, AssertionError with what it printed: at EOF readline never
    waits, so a plain loop would spin for ever, out of its timeout's reach."""
    seen: list[bytes] = []
    while wanted not in (line := await stream.readline()):
        if not line:
            output = b"".join(seen).decode(errors="replace")
            raise AssertionError(f"smsgw serve exited before {wanted!r}:\n{output}")
        seen.append(line)
