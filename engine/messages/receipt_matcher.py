"""Receipts from operators matched to the parts we submitted.

A connector's submit_sm_resp names the operator's ids; a receipt that follows
names only one of them. The matcher keeps, per (connector, operator id), what
the receipt will need: in memory from the moment the operator answered
(`expect`), because a receipt may beat its correlation to Redis, then in the
receipt map every shard reads (`store`, batched with the settlement). Receipts
are looked up in batches, one lookup call per batch; one not found is looked up
again a little later, since another shard may still be writing its correlation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import msgspec
import structlog

from engine.loop.batching import BackgroundTasks, TickBatcher
from engine.messages.receipt_map import ReceiptMap, SubmittedPart
from smpp import pdu as p
from smpp.receipt import MessageState, ReceiptOutcome, receipt_outcome
from smpp.tlv import Tag

log = structlog.get_logger("smsgw.pipeline")

_RECEIPT_RETRIES = (0.5, 2.0, 8.0)
"""Seconds to wait before looking a receipt's message up again: another shard
may still be writing the correlation when an operator answers very fast."""

Matched = Callable[[str, ReceiptOutcome, SubmittedPart, float], None]
"""Told of each matched receipt: connector, outcome, the part it is for, now."""


class _Incoming(msgspec.Struct, frozen=True):
    connector: str
    outcome: ReceiptOutcome
    attempt: int = 0


class ReceiptMatcher:
    def __init__(self, receipts: ReceiptMap, tasks: BackgroundTasks, matched: Matched) -> None:
        self.receipts = receipts
        self._matched = matched
        self._unsaved: dict[tuple[str, str], SubmittedPart] = {}
        """Correlations on their way to the receipt map: a receipt may beat them."""
        self._incoming: TickBatcher[_Incoming] = TickBatcher(self._match, tasks)

    def expect(self, connector: str, operator_ids: Sequence[str], part: SubmittedPart) -> None:
        """A receipt may come for each of ``operator_ids``; the last id's
        speaks for the message, an earlier one's only when it is a failure."""
        earlier = msgspec.structs.replace(part, last=False)
        for operator_id in operator_ids:
            self._unsaved[(connector, operator_id)] = earlier
        if operator_ids:
            self._unsaved[(connector, operator_ids[-1])] = part

    async def store(self, submitted: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Write the expected correlations of (connector, operator ids) pairs
        to the receipt map, one call per connector."""
        by_connector: dict[str, list[tuple[str, SubmittedPart]]] = {}
        for connector, operator_ids in submitted:
            for operator_id in operator_ids:
                part = self._unsaved.get((connector, operator_id))
                if part is not None:
                    by_connector.setdefault(connector, []).append((operator_id, part))
        await asyncio.gather(
            *(self.receipts.put_many(c, entries) for c, entries in by_connector.items())
        )
        # Kept until stored: a receipt arriving meanwhile still finds them, and
        # a retry after a failure stores them again.
        for connector, entries in by_connector.items():
            for operator_id, _ in entries:
                self._unsaved.pop((connector, operator_id), None)

    def receipt(self, connector: str, request: p.DeliverSm) -> None:
        """A delivery receipt (esm_class says so) to match in this iteration's batch."""
        rmid = request.tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
        state = request.tlvs.get(Tag.MESSAGE_STATE)
        if rmid and state == MessageState.DELIVERED and isinstance(rmid, str):
            # The common case needs nothing from the text (no error to report).
            outcome = ReceiptOutcome(rmid, MessageState.DELIVERED, None)
        else:
            outcome = receipt_outcome(
                rmid if isinstance(rmid, str) else None,
                state if isinstance(state, int) else None,
                request.short_message,
            )
        if outcome is not None:
            self._incoming.add(_Incoming(connector, outcome))

    async def _match(self, batch: list[_Incoming]) -> None:
        """Match receipts to our parts (one lookup call per batch) and hand them on."""
        parts: list[SubmittedPart | None] = [
            self._unsaved.get((item.connector, item.outcome.message_id)) for item in batch
        ]
        missing = [i for i, part in enumerate(parts) if part is None]
        if missing:
            keys = [(batch[i].connector, batch[i].outcome.message_id) for i in missing]
            for i, found in zip(missing, await self.receipts.get_many(keys), strict=True):
                parts[i] = found
        now = time.time()
        for item, part in zip(batch, parts, strict=True):
            if part is None:
                self._retry_later(item)
            else:
                self._matched(item.connector, item.outcome, part, now)

    def _retry_later(self, item: _Incoming) -> None:
        if item.attempt >= len(_RECEIPT_RETRIES):
            log.warning(
                "receipt for unknown message", connector=item.connector, id=item.outcome.message_id
            )
            return
        retry = msgspec.structs.replace(item, attempt=item.attempt + 1)
        asyncio.get_running_loop().call_later(
            _RECEIPT_RETRIES[item.attempt], self._incoming.add, retry
        )
