"""The queue in front of one connector: strict priority, fair across accounts.

Step 4 of the life of a message (DESIGN.md). Classes are served strictly in
`Priority` order: an OTP never waits behind an express, normal or bulk
message. Inside a class every account has its own FIFO queue and the active
accounts (those with something queued) take turns, one message per turn:
plain round-robin. We chose it over deficit round robin weighted by parts
because the cost we share out is waiting time, counted in messages: an
account's 1-part transactional message waits at most one turn per other
active account, whatever another account's 100,000-message campaign or its
multi-part messages look like. Parts are still paid for, in throughput
tokens by the connector and in credit by the ledger.

Push and pop are O(1): a dict of deques per class and a ring (deque) of the
active accounts. The total depth is bounded; `push` refuses beyond it with
`SchedulerFull` so the pipeline can answer ESME_RMSGQFUL at the commit point
instead of growing memory without limit.
"""

from __future__ import annotations

import asyncio
from collections import deque

from engine.messages.message import MtMessage, Priority

DEFAULT_MAX_DEPTH = 100_000


class SchedulerFull(Exception):
    """The scheduler holds its maximum number of messages."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"scheduler full ({max_depth} messages queued)")
        self.max_depth = max_depth


class _PriorityClass:
    """One priority class: a FIFO per account and the ring of accounts whose
    turn comes next, in order."""

    __slots__ = ("depth", "queues", "ring")

    def __init__(self) -> None:
        self.queues: dict[str, deque[MtMessage]] = {}
        self.ring: deque[str] = deque()
        self.depth = 0

    def add(self, message: MtMessage, *, front: bool) -> None:
        queue = self.queues.get(message.account)
        if queue is None:
            queue = self.queues[message.account] = deque()
            # A newly active account joins at the end of the ring whichever
            # way it came back, so no account is served twice in one round.
            self.ring.append(message.account)
        if front:
            queue.appendleft(message)
        else:
            queue.append(message)
        self.depth += 1

    def remove(self, account: str, message_id: str) -> MtMessage | None:
        """Take one queued message out (cancel_sm): a scan of one account's queue."""
        queue = self.queues.get(account)
        if queue is None:
            return None
        for message in queue:
            if message.id == message_id:
                queue.remove(message)
                if not queue:
                    del self.queues[account]
                    self.ring.remove(account)
                self.depth -= 1
                return message
        return None

    def take(self) -> MtMessage:
        account = self.ring.popleft()
        queue = self.queues[account]
        message = queue.popleft()
        if queue:
            self.ring.append(account)
        else:
            del self.queues[account]
        self.depth -= 1
        return message


class Scheduler:
    """Priority classes with round-robin across accounts inside each."""

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        if max_depth < 1:
            raise ValueError(f"max_depth must be >= 1, not {max_depth!r}")
        self.max_depth = max_depth
        self._classes = tuple(_PriorityClass() for _ in Priority)
        self._depth = 0
        self._account_depth: dict[str, int] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return self._depth

    def push(self, message: MtMessage) -> None:
        """Queue a new message at the back of its account's queue.

        Raises `SchedulerFull` (and queues nothing) at ``max_depth``.
        """
        if self._depth >= self.max_depth:
            raise SchedulerFull(self.max_depth)
        self._add(message, front=False)

    def push_front(self, message: MtMessage) -> None:
        """Put back a message that was taken (in flight on a bind that dropped,
        or due for a retry) ahead of its account's queue.

        Never refused: the message was already accepted and counted, and
        refusing it here would lose it, so the bound may be exceeded by the
        number of messages that were out of the queue.
        """
        self._add(message, front=True)

    def pop(self) -> MtMessage | None:
        """The next message to send, or None if nothing is queued."""
        if not self._depth:
            return None
        for priority_class in self._classes:
            if priority_class.depth:
                message = priority_class.take()
                self._depth -= 1
                remaining = self._account_depth[message.account] - 1
                if remaining:
                    self._account_depth[message.account] = remaining
                else:
                    del self._account_depth[message.account]
                return message
        raise AssertionError("depth counts a message no class holds")

    def remove(self, account: str, message_id: str) -> MtMessage | None:
        """The queued message ``message_id`` of ``account``, taken out; None
        when it is not waiting here (already sent, or never queued here)."""
        for priority_class in self._classes:
            message = priority_class.remove(account, message_id)
            if message is not None:
                self._depth -= 1
                remaining = self._account_depth[account] - 1
                if remaining:
                    self._account_depth[account] = remaining
                else:
                    del self._account_depth[account]
                return message
        return None

    async def get(self) -> MtMessage:
        """The next message to send, waiting (without polling) for one."""
        while True:
            message = self.pop()
            if message is not None:
                if self._depth:
                    self._wake_one()
                return message
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # Woken for a message we will not take: pass the turn on.
                    self._wake_one()
                else:
                    self._waiters.remove(waiter)
                raise

    def drain(self) -> list[MtMessage]:
        """Empty the scheduler: every message in the order it would have been sent."""
        drained = []
        while (message := self.pop()) is not None:
            drained.append(message)
        return drained

    def depth_by_priority(self) -> dict[Priority, int]:
        """Queued messages per priority class, for metrics."""
        return {
            priority: priority_class.depth
            for priority, priority_class in zip(Priority, self._classes, strict=True)
        }

    def depth_by_account(self) -> dict[str, int]:
        """Queued messages per account (accounts with none are absent), for metrics."""
        return dict(self._account_depth)

    def _add(self, message: MtMessage, *, front: bool) -> None:
        self._classes[message.priority].add(message, front=front)
        self._depth += 1
        self._account_depth[message.account] = self._account_depth.get(message.account, 0) + 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
