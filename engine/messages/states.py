"""The latest state of recent messages on this shard, for query_sm (§4.8).

Bounded: the oldest entries are forgotten first. A query for a message this
shard no longer remembers (or never accepted) fails with ESME_RQUERYFAIL; the
full history is in PostgreSQL. Another account's message, or one whose
source_addr is not the one the query names, is not found either (§4.8.1).
"""

from __future__ import annotations

from collections import OrderedDict

import msgspec

from smpp.receipt import MessageState


class KnownState(msgspec.Struct, frozen=True, array_like=True):
    account: str
    state: MessageState
    final_at: float
    """Unix time the state became final; 0 while it is not."""
    error_code: int
    source_addr: str = ""
    """The message's source_addr, which a query_sm that names one must match."""


class RecentStates:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._states: OrderedDict[str, KnownState] = OrderedDict()

    def set(self, message_id: str, state: KnownState) -> None:
        self._states[message_id] = state
        self._states.move_to_end(message_id)
        if len(self._states) > self.capacity:
            self._states.popitem(last=False)

    def put_back(self, message_id: str, state: KnownState | None) -> None:
        """What was known before a change that did not last (None: nothing)."""
        if state is None:
            self._states.pop(message_id, None)
        else:
            self.set(message_id, state)

    def get(self, message_id: str, account: str, source_addr: str = "") -> KnownState | None:
        """The state, if ``account`` owns ``message_id`` (never another's) and
        it came from ``source_addr``, when one is given."""
        known = self._states.get(message_id)
        if known is None or known.account != account:
            return None
        return None if source_addr and source_addr != known.source_addr else known
