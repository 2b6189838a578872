"""Our message ids, in the form each account asks for (``message_id_format``).

``hex`` (the default): the process's start in milliseconds and the shard, then
a counter, all hex: ``19a2b3c4d5e`` ``01`` ``0000000``, 20 characters (21 after
2^28 ids in one process). A restart takes a later start, so ids never repeat.

``decimal``: one integer below 2^63, for customers that keep ids in a signed
64-bit column (Kannel's ``msg-id-type``), written in decimal without leading
zeros (at most 19 digits, so never equal to a hex id)::

    bits 62..22  milliseconds since 2025-01-01 UTC (41 bits: until 2094-09)
    bits 21..14  shard_number (8 bits: 0..255, as the config allows)
    bits 13..0   counter within the millisecond (14 bits: 16,384 ids)

The millisecond is the clock's, or the last one used if the clock went back:
ids only grow. The 16,385th id in one millisecond borrows the next one, so a
shard never repeats an id; it would run ahead of the clock only above 16
million ids a second, far beyond what a shard takes. A restarted shard starts
at its new start's millisecond, after every id the previous process made, as
with hex ids; only a clock stepped back across a restart, or two processes
with one shard_number, could repeat an id (with either format).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

IdFormat = Literal["hex", "decimal"]

EPOCH_MS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
"""Millisecond 0 of decimal ids."""
TIME_BITS = 41
SHARD_BITS = 8
COUNTER_BITS = 14
MAX_SHARD = (1 << SHARD_BITS) - 1
PER_MILLISECOND = 1 << COUNTER_BITS
"""Decimal ids one shard makes in one millisecond before borrowing the next."""
_SHARD_SHIFT = COUNTER_BITS
_TIME_SHIFT = COUNTER_BITS + SHARD_BITS
_LAST_MS = (1 << TIME_BITS) - 1
_MAX_DIGITS = len(str((1 << 63) - 1))


class MessageIds:
    """Every id this process makes, in either format; `made_here` tells them
    from ids of earlier processes of the same shard (outbox recovery)."""

    def __init__(self, shard: int, clock: Callable[[], float] = time.time) -> None:
        if not 0 <= shard <= MAX_SHARD:
            raise ValueError(f"shard number must be in 0..{MAX_SHARD}, got {shard}")
        self._clock = clock
        start_ms = int(clock() * 1000)
        self.prefix = f"{start_ms:x}{shard:02x}"
        """Starts every hex id this process makes (and no other process's)."""
        self._counter = itertools.count()
        self._shard = shard
        self._first_ms = self._last_ms = _since_epoch(start_ms)
        self._in_ms = -1

    def __call__(self, form: IdFormat = "hex") -> str:
        if form == "decimal":
            return str(self._decimal())
        return f"{self.prefix}{next(self._counter):07x}"

    def made_here(self, message_id: str) -> bool:
        """Whether this process made ``message_id`` (not an earlier one of its
        shard). Hex ids have 20 characters or more, decimal ones 19 at most."""
        if len(message_id) > _MAX_DIGITS:
            return message_id.startswith(self.prefix)
        if not (message_id.isascii() and message_id.isdigit()):
            return False
        value = int(message_id)
        return (
            value >> 63 == 0
            and (value >> _SHARD_SHIFT) & MAX_SHARD == self._shard
            and value >> _TIME_SHIFT >= self._first_ms
        )

    def _decimal(self) -> int:
        now = _since_epoch(int(self._clock() * 1000))
        if now > self._last_ms:
            self._last_ms, self._in_ms = now, 0
        else:
            self._in_ms += 1
            if self._in_ms == PER_MILLISECOND:
                self._last_ms, self._in_ms = self._last_ms + 1, 0
        return self._last_ms << _TIME_SHIFT | self._shard << _SHARD_SHIFT | self._in_ms


def _since_epoch(unix_ms: int) -> int:
    """Milliseconds since `EPOCH_MS`; outside 2025-2094 decimal ids cannot be made."""
    since = unix_ms - EPOCH_MS
    if not 0 <= since <= _LAST_MS:
        raise ValueError(f"the clock ({unix_ms} ms) is outside the range of decimal ids")
    return since
