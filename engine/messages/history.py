"""Message state changes, batched for the persister.

Every state change of a message becomes a `ledger.events.MessageEvent`; the
events of one event-loop iteration go to the ledger in one
`append_message_events` call (DESIGN: Persist), never one round trip each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import structlog

from ledger.events import MessageEvent, MessageState
from ledger.protocol import Ledger
from ledger.retry import Backoff, Jitter

log = structlog.get_logger("smsgw.history")

_RETRY = Backoff(1.0, 1.0, Jitter.NONE)
"""A failed batch is written again a second later (the ledger's backend was down)."""

MessageTap = Callable[[Sequence[MessageEvent]], None]
"""Sees each batch of events once, as it goes to the ledger (`smsgw dev` keeps them
in a `ledger.memory_messages.MemoryMessageStore`)."""


class MessageHistory:
    """Collects message events and writes them in batches, one batch at a time.

    Events recorded while a batch is on its way make the next batch. Two
    batches in flight at once could reach Redis in either order (they may
    take different connections), and a message's newest state is the one
    latest in its stream: a receipt's DELIVERED written before its SUBMITTED
    left the message shown as submitted (31 of 20,000 on bench.e2e).
    """

    def __init__(self, ledger: Ledger, tap: MessageTap | None = None) -> None:
        self._ledger = ledger
        self._tap = tap
        self._pending: list[MessageEvent] = []
        self._tapped = 0
        """How many events at the head of `_pending` the tap has seen: a failed batch's."""
        self._writer: asyncio.Task[None] | None = None
        self._recorded = 0
        self._written = 0
        """Events recorded and written since start: `written` waits on them."""
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    def record(
        self,
        message_id: str,
        account: str,
        state: MessageState,
        *,
        connector: str = "",
        operator_message_id: str = "",
        error_code: int | None = None,
        parts: int = 0,
        destination: str = "",
        source: str = "",
        reference: str = "",
        price_per_part: int = 0,
    ) -> None:
        """Queues one state change; what describes the message (addresses, the
        client's reference, the price per part) goes with its ACCEPTED state only."""
        self._recorded += 1
        self._pending.append(
            MessageEvent(
                message_id=message_id,
                account=account,
                state=state,
                ts_ms=int(time.time() * 1000),
                connector=connector,
                operator_message_id=operator_message_id[:65],
                error_code=error_code,
                parts=parts,
                destination=destination,
                source=source,
                reference=reference,
                price_per_part=price_per_part,
            )
        )
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        """Writes what is pending until nothing is; started on the next loop
        iteration, so the first batch holds all of the current one's events."""
        failures = 0
        try:
            while self._pending:
                if await self._write_batch():
                    failures = 0
                else:
                    failures += 1
                    await asyncio.sleep(_RETRY.compute(failures))
        finally:
            self._writer = None

    async def _write_batch(self) -> bool:
        """One batch to the ledger; on failure it goes back ahead of newer events."""
        batch, self._pending = self._pending, []
        tapped, self._tapped = self._tapped, 0
        if self._tap is not None and tapped < len(batch):
            try:
                self._tap(batch[tapped:])
            except Exception:
                log.exception("message tap failed", events=len(batch) - tapped)
        try:
            await self._ledger.append_message_events(batch)
        except Exception:
            log.exception("message events not written, retrying", events=len(batch))
            self._pending[:0] = batch
            self._tapped += len(batch)
            return False
        self._written += len(batch)
        if self._waiting:
            self._wake()
        return True

    async def written(self) -> None:
        """Return once every event recorded so far is in the ledger: an
        operator's receipt is answered only then (a crash must not lose it)."""
        if self._written >= self._recorded:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((self._recorded, future))
        await future

    def _wake(self) -> None:
        still = []
        for target, future in self._waiting:
            if target > self._written:
                still.append((target, future))
            elif not future.done():
                future.set_result(None)
        self._waiting = still

    async def drain(self) -> None:
        while self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
