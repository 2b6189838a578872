"""Which outbox entry each waiting message has, and their acknowledgement.

An accepted message sits in its shard's outbox stream (DESIGN: Commit point)
until it is settled; a message adopted from a dead peer sits in that peer's
outbox. The settlement acknowledges the shard's own entries in the same script
call as the capture or release (`own`); adopted ones are acknowledged here,
in their dead shard's outbox, per shard and batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.messages.message import MtMessage
from ledger.model import OutboxRef
from ledger.protocol import Ledger


class OutboxEntries:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._own: dict[str, str] = {}
        """This shard's outbox entry of each accepted message, until it is settled."""
        self._adopted: dict[str, tuple[str, str]] = {}
        """Entries taken over from a dead peer's outbox: message id -> (shard, entry id)."""
        self._adopted_left: dict[str, int] = {}
        """Adopted entries not yet acknowledged, per dead shard."""

    def accepted(self, message_id: str, entry_id: str) -> None:
        self._own[message_id] = entry_id

    def own(self, message_id: str) -> str:
        """This shard's entry of ``message_id`` ("" when it has none here)."""
        return self._own.get(message_id, "")

    def remember(self, message_id: str, entry_id: str, shard: str | None = None) -> bool:
        """Recovery: the outbox entry to acknowledge once ``message_id`` is
        settled, in ``shard``'s outbox (None: this shard's). False when the
        message is already known here: it must not be queued twice."""
        if message_id in self._own or message_id in self._adopted:
            return False
        if shard is None:
            self._own[message_id] = entry_id
        else:
            self._adopted[message_id] = (shard, entry_id)
            self._adopted_left[shard] = self._adopted_left.get(shard, 0) + 1
        return True

    def adopted_left(self, shard: str) -> int:
        """Messages taken from ``shard``'s outbox whose entries are not yet acknowledged."""
        return self._adopted_left.get(shard, 0)

    def entry(self, message_id: str) -> tuple[str | None, str]:
        """The shard whose outbox holds a waiting message (None: this shard's)
        and its entry id there ("" when it has none)."""
        adopted = self._adopted.get(message_id)
        if adopted is not None:
            return adopted
        return None, self._own.get(message_id, "")

    def moved(self, message_id: str, shard: str | None, entry_id: str) -> None:
        """A waiting message's outbox entry was written anew (replace_sm): its
        settlement acknowledges ``entry_id`` in ``shard``'s outbox."""
        if shard is None:
            self._own[message_id] = entry_id
        else:
            self._adopted[message_id] = (shard, entry_id)

    async def settled(self, messages: Sequence[MtMessage]) -> None:
        """Own entries were acknowledged with the settlement; adopted ones, in
        their dead shard's outbox, are acknowledged here. Entries are forgotten
        only once acknowledged: a batch retried after a failure acknowledges
        them again rather than leaving them behind."""
        for message in messages:
            self._own.pop(message.id, None)
        if self._adopted:
            await self._ack_adopted(messages)

    async def _ack_adopted(self, messages: Sequence[MtMessage]) -> None:
        by_shard: dict[str, list[tuple[str, OutboxRef]]] = {}
        for message in messages:
            found = self._adopted.get(message.id)
            if found is not None:
                shard, entry = found
                by_shard.setdefault(shard, []).append(
                    (message.id, OutboxRef(message.account, entry))
                )
        for shard, items in by_shard.items():
            await self._ledger.ack_outbox([ref for _, ref in items], shard=shard)
            for message_id, _ in items:
                del self._adopted[message_id]
            left = self._adopted_left[shard] - len(items)
            if left:
                self._adopted_left[shard] = left
            else:
                del self._adopted_left[shard]
