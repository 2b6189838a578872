"""Where deliveries waiting for a customer are kept until the customer has
answered them: the store's contract, and its in-memory twin for embedded mode.

`CustomerDelivery` talks to a store in rounds: one `Batch` per round trip,
with every write, removal and read that piled up meanwhile, and one `Outcome`
back. Rounds run one after another, so what a round reads already includes
what it and earlier rounds wrote: that is what lets the shard keep only part
of an account's backlog in memory and read the rest in order
(`engine.customers.held`). Production keeps it in Redis
(`engine.customers.redis_pending`), which survives a kill -9.

A round also writes the message events recorded meanwhile
(`engine.messages.history`): an operator's receipt is answered once both its
event and our receipt for the customer are written, and one call per bucket
writing both answers it after one round trip instead of two writers' (issue 16).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from ledger.events import MessageEvent
from smpp import pdu as p


class Delivery(msgspec.Struct, frozen=True, gc=False):
    """What `CustomerDelivery.commit` takes. A Struct, not a NamedTuple: one
    is built per receipt and MO, in 0.08 us instead of 0.35 us."""

    account: str
    deliver: p.DeliverSm
    deadline: float
    """Unix time."""
    bind: int = 0
    """The bind to prefer (`BindRegistry` serial), or 0; kept in memory only:
    a serial means nothing after a restart or on another shard."""


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One stored delivery. Ids grow with each entry of an account's store, so
    one id marks where the part of a backlog kept in memory ends. A Struct,
    as `Delivery`: one is built per receipt and MO."""

    id: str
    deadline: float
    deliver: p.DeliverSm
    bind: int = 0
    """The bind to prefer (`Delivery.bind`); 0 once read back from the store."""


@dataclass(slots=True)
class Batch:
    """What one round does, in this order."""

    stored: list[Delivery] = field(default_factory=list)
    """Kept for this shard; their ids come back in order."""
    parked: list[Delivery] = field(default_factory=list)
    """For any shard with a receiving bind (stores that park only)."""
    removed: list[tuple[str, str]] = field(default_factory=list)
    """(account, entry id): answered, expired or given up."""
    loads: dict[str, tuple[str, int]] = field(default_factory=dict)
    """account -> (after this id, at most this many): the next entries of its backlog."""
    handovers: set[str] = field(default_factory=set)
    """Accounts whose stored entries go to parking (stores that park only)."""
    claims: dict[str, int] = field(default_factory=dict)
    """account -> at most this many parked entries to take into this shard's store."""
    events: list[MessageEvent] = field(default_factory=list)
    """Message events for the ledger's streams, in the order recorded."""

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.stored
            or self.parked
            or self.removed
            or self.loads
            or self.handovers
            or self.claims
        )


@dataclass(slots=True)
class Outcome:
    ids: list[str] = field(default_factory=list)
    """Of `Batch.stored`, in order."""
    loaded: dict[str, list[Entry]] = field(default_factory=dict)
    claimed: dict[str, list[Entry]] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)
    """Entries a handover has not moved yet (it moves a bounded number per round)."""
    dropped: Counter[str] = field(default_factory=Counter)
    """Parked entries the parking cap cut off, per account."""


class PendingStore(Protocol):
    parks: bool
    """Whether deliveries can be parked for another shard (Redis) or not (memory)."""

    async def run(self, batch: Batch) -> Outcome:
        """Does ``batch``, its message events included; raises when any of it
        may not have been written."""
        ...

    async def waiting(self, accounts: list[str]) -> list[str]:
        """Which of ``accounts`` have parked deliveries."""
        ...

    async def hand_over_shard(self, shard: str | None) -> int:
        """Park everything ``shard`` (None: this one) has stored; returns how many."""
        ...


class EventLog(Protocol):
    """Where `MemoryPending` writes a round's message events (the ledger)."""

    async def append_message_events(self, events: Sequence[MessageEvent]) -> None: ...


class MemoryPending:
    """Embedded mode: one shard, nothing durable, nothing to park. Entries are
    kept per account by a counter, so reading after an id is a plain lookup."""

    parks = False

    def __init__(self, events: EventLog) -> None:
        self._events = events
        self._entries: dict[str, dict[int, Entry]] = {}
        self._top: Counter[str] = Counter()

    async def run(self, batch: Batch) -> Outcome:
        if batch.events:
            await self._events.append_message_events(batch.events)
        outcome = Outcome()
        for item in batch.stored:
            account = item.account
            self._top[account] += 1
            number = self._top[account]
            entry = Entry(str(number), item.deadline, item.deliver)
            self._entries.setdefault(account, {})[number] = entry
            outcome.ids.append(entry.id)
        for account, entry_id in batch.removed:
            entries = self._entries.get(account)
            if entries is not None:
                entries.pop(int(entry_id), None)
        for account, (after, count) in batch.loads.items():
            outcome.loaded[account] = self._after(account, int(after or 0), count)
        return outcome

    def _after(self, account: str, after: int, count: int) -> list[Entry]:
        """Entries past the one kept in memory were never answered, so their
        numbers run without gaps up to the newest."""
        entries = self._entries.get(account, {})
        last = min(self._top[account], after + count)
        return [entries[n] for n in range(after + 1, last + 1) if n in entries]

    async def waiting(self, accounts: list[str]) -> list[str]:
        return []

    async def hand_over_shard(self, shard: str | None) -> int:
        return 0

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())
