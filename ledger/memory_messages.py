"""Message history in memory, for `smsgw dev`: the same reads as PostgreSQL, nothing durable.

It applies events by the persister's rules (`ledger.pgstore`): the newest
event gives the state and of each of connector, operator id and error the
newest one set; what describes the message (addresses, reference, price) and
when it was accepted are kept once set; a hold sets `held` and the acceptance
time, a capture `charged`. Events count in the order `apply` gets them.

It is bounded: past `capacity` messages it forgets the ones it saw first.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger.events import Event, EventKind, LedgerEvent, MessageEvent, MessageState
from ledger.message_query import (
    MessageFilter,
    MessagePage,
    MessageRecord,
    MessageSearch,
    StateChange,
    check_page_request,
    check_search_request,
    is_message_id,
    next_cursor,
)
from ledger.model import check_account

ListKey = tuple[int, str]  # accepted_at, message_id: the order of the lists


@dataclass(slots=True)
class _Message:
    message_id: str
    account: str
    state: MessageState
    updated_at: int
    parts: int = 0
    price_per_part: int = 0
    held: int | None = None
    charged: int | None = None
    connector: str | None = None
    operator_message_id: str | None = None
    error_code: int | None = None
    destination: str | None = None
    source: str | None = None
    reference: str | None = None
    accepted_at: int | None = None
    events: list[StateChange] = field(default_factory=list)

    def record(self, *, with_events: bool) -> MessageRecord:
        return MessageRecord(
            message_id=self.message_id,
            account=self.account,
            state=self.state,
            parts=self.parts,
            price_per_part=self.price_per_part,
            held=self.held,
            charged=self.charged,
            connector=self.connector,
            operator_message_id=self.operator_message_id,
            error_code=self.error_code,
            destination=self.destination,
            source=self.source,
            reference=self.reference,
            accepted_at=self.accepted_at,
            updated_at=self.updated_at,
            events=list(self.events) if with_events else [],
        )


class MemoryMessageStore:
    """`MessageQuery` over the events it was given; see the module docstring."""

    def __init__(self, capacity: int = 100_000) -> None:
        if type(capacity) is not int or capacity < 1:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        self._capacity = capacity
        self._messages: OrderedDict[str, _Message] = OrderedDict()
        self._lists: dict[str, list[ListKey]] = {}
        """Per account, the keys of its accepted messages in ascending order."""
        self._all: list[ListKey] = []
        """The keys of every accepted message in ascending order (the staff's search)."""

    def __len__(self) -> int:
        return len(self._messages)

    def apply(self, events: Sequence[Event]) -> None:
        """Message events, and the holds and captures of ledger events; others are ignored."""
        for event in events:
            if isinstance(event, MessageEvent):
                self._apply_message_event(event)
            elif isinstance(event, LedgerEvent) and event.message_id:
                if event.kind is EventKind.HOLD:
                    self._apply_hold(event)
                elif event.kind is EventKind.CAPTURE:
                    message = self._messages.get(event.message_id)
                    if message is not None:
                        message.charged = event.amount

    def _apply_message_event(self, event: MessageEvent) -> None:
        message = self._messages.get(event.message_id)
        if message is None:
            message = self._add(_Message(event.message_id, event.account, event.state, 0))
        message.state = MessageState(event.state)
        message.updated_at = event.ts_ms
        message.parts = max(message.parts, event.parts)
        message.connector = event.connector or message.connector
        message.operator_message_id = event.operator_message_id or message.operator_message_id
        if event.error_code is not None:
            message.error_code = event.error_code
        message.destination = message.destination or event.destination or None
        message.source = message.source or event.source or None
        message.reference = message.reference or event.reference or None
        message.price_per_part = message.price_per_part or event.price_per_part
        message.events.append(
            StateChange(
                state=message.state,
                at=event.ts_ms,
                connector=event.connector or None,
                operator_message_id=event.operator_message_id or None,
                error_code=event.error_code,
            )
        )
        if message.accepted_at is None and event.state == MessageState.ACCEPTED:
            self._set_accepted_at(message, event.ts_ms)

    def _apply_hold(self, event: LedgerEvent) -> None:
        message = self._messages.get(event.message_id)
        if message is None:
            message = _Message(event.message_id, event.account, MessageState.ACCEPTED, event.ts_ms)
            message.parts = event.parts
            self._add(message)
        message.held = event.amount
        self._set_accepted_at(message, event.ts_ms)

    def _add(self, message: _Message) -> _Message:
        self._messages[message.message_id] = message
        while len(self._messages) > self._capacity:
            _, oldest = self._messages.popitem(last=False)
            self._unlist(oldest)
        return message

    def _set_accepted_at(self, message: _Message, at: int) -> None:
        self._unlist(message)
        message.accepted_at = at
        bisect.insort(self._lists.setdefault(message.account, []), (at, message.message_id))
        bisect.insort(self._all, (at, message.message_id))

    def _unlist(self, message: _Message) -> None:
        if message.accepted_at is None:
            return
        key = (message.accepted_at, message.message_id)
        keys = self._lists[message.account]
        del keys[bisect.bisect_left(keys, key)]
        del self._all[bisect.bisect_left(self._all, key)]
        if not keys:
            del self._lists[message.account]

    async def get(self, account: str, message_id: str) -> MessageRecord | None:
        check_account(account)
        if not is_message_id(message_id):
            return None
        message = self._messages.get(message_id)
        if message is None or message.account != account:
            return None
        return message.record(with_events=True)

    async def list(
        self,
        account: str,
        filter: MessageFilter | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> MessagePage:
        after = check_page_request(account, cursor, limit)
        keys = self._lists.get(account, [])
        return self._page(keys, (filter or MessageFilter()).matches, after, limit)

    async def find(self, message_id: str) -> MessageRecord | None:
        message = self._messages.get(message_id) if is_message_id(message_id) else None
        return None if message is None else message.record(with_events=True)

    async def search(
        self, search: MessageSearch, cursor: str | None = None, limit: int = 100
    ) -> MessagePage:
        after = check_search_request(cursor, limit)
        if search.message_id is not None:
            found = self._messages.get(search.message_id)
            keys: list[ListKey] = []
            if found is not None and found.accepted_at is not None:
                keys = [(found.accepted_at, found.message_id)]
        elif search.account is not None:
            keys = self._lists.get(search.account, [])
        else:
            keys = self._all
        return self._page(keys, search.matches, after, limit)

    def _page(
        self,
        keys: list[ListKey],
        matches: Callable[[MessageRecord], bool],
        after: ListKey | None,
        limit: int,
    ) -> MessagePage:
        """The matching messages of ascending `keys` before `after`, newest first."""
        position = len(keys) if after is None else bisect.bisect_left(keys, after)
        items: list[MessageRecord] = []
        more = False
        for index in range(position - 1, -1, -1):
            record = self._messages[keys[index][1]].record(with_events=False)
            if not matches(record):
                continue
            if len(items) == limit:
                more = True
                break
            items.append(record)
        return MessagePage(items=items, next_cursor=next_cursor(items, more=more))
