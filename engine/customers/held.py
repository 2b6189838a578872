"""deliver_sm of this shard waiting for a free window slot on one of their
account's receiving binds, in memory, bounded per account.

Every held delivery is also in the shard's store (`engine.customers.pending`).
Past the bound, new ones stay only there: the account *overflows*, and the
id of the last entry taken into memory marks where its backlog in the store
begins. Once the in-memory queue has drained to half, the next entries are
read from there, oldest first, and the account stops overflowing when a read
comes back short. Nothing is dropped at the bound; it only decides what
waits in memory and what waits in the store.
"""

from __future__ import annotations

from collections import Counter, deque

from engine.customers.pending import Entry

LOAD_BATCH = 1_000
"""Entries read from the store at once."""


class _Queue:
    __slots__ = ("after", "items", "last")

    def __init__(self) -> None:
        self.items: deque[Entry] = deque()
        self.last = ""
        """Id of the newest entry taken into memory ("": none yet)."""
        self.after: str | None = None
        """While overflowing: the store's entries after this id are not in memory."""


class HeldDeliveries:
    def __init__(self, max_per_account: int) -> None:
        if max_per_account < 1:
            raise ValueError("max_per_account must be >= 1")
        self.max_per_account = max_per_account
        self._queues: dict[str, _Queue] = {}
        self.overflowed: Counter[str] = Counter()
        """Deliveries per account that went to the store only, since start."""

    def _queue(self, account: str) -> _Queue:
        queue = self._queues.get(account)
        if queue is None:
            queue = self._queues[account] = _Queue()
        return queue

    def admit(self, account: str, entry: Entry) -> bool:
        """Hold a newly stored entry; False when the account overflows (it
        stays in the store and is read from there in its turn)."""
        queue = self._queue(account)
        if queue.after is None and len(queue.items) < self.max_per_account:
            queue.items.append(entry)
            queue.last = entry.id
            return True
        if queue.after is None:
            queue.after = queue.last
        self.overflowed[account] += 1
        return False

    def to_load(self, account: str) -> tuple[str, int] | None:
        """(after which id, how many) to read from the store now, if anything."""
        queue = self._queues.get(account)
        if queue is None or queue.after is None:
            return None
        if len(queue.items) > self.max_per_account // 2:
            return None
        return queue.after, min(LOAD_BATCH, self.max_per_account - len(queue.items))

    def loaded(self, account: str, after: str, entries: list[Entry], complete: bool) -> None:
        """Entries read from the store after ``after``; ``complete``: nothing
        more is there. A read that a handover overtook is ignored."""
        queue = self._queues.get(account)
        if queue is None or queue.after != after:
            return
        queue.items.extend(entries)
        if entries:
            queue.last = queue.after = entries[-1].id
        if complete:
            queue.after = None

    def retry(self, account: str, entry: Entry) -> None:
        """An entry sent and not answered for good goes first again (the bound
        may be passed by the few that were in flight)."""
        self._queue(account).items.appendleft(entry)

    def peek(self, account: str) -> Entry | None:
        """The entry `pop` would take, left in place."""
        queue = self._queues.get(account)
        return queue.items[0] if queue is not None and queue.items else None

    def pop(self, account: str) -> Entry | None:
        queue = self._queues.get(account)
        return queue.items.popleft() if queue is not None and queue.items else None

    def waiting(self, account: str) -> bool:
        """Whether entries of ``account`` wait, held here or in the store
        (held or overflowing, in one call: asked on every answer)."""
        queue = self._queues.get(account)
        return queue is not None and (bool(queue.items) or queue.after is not None)

    def overflowing(self, account: str) -> bool:
        queue = self._queues.get(account)
        return queue is not None and queue.after is not None

    def room(self, account: str) -> int:
        queue = self._queues.get(account)
        if queue is None:
            return self.max_per_account
        if queue.after is not None:
            return 0
        return max(0, self.max_per_account - len(queue.items))

    def forget(self, account: str) -> None:
        """The account's stored entries were parked: none of them is this shard's now."""
        self._queues.pop(account, None)

    def by_account(self) -> dict[str, int]:
        return {account: len(q.items) for account, q in self._queues.items() if q.items}

    def __len__(self) -> int:
        return sum(len(q.items) for q in self._queues.values())
