"""Folds a batch's events into one row per message, as `messages` stores it.

A message's accept (the ledger's hold), its ACCEPTED, SUBMITTED and DELIVERED
changes and its capture used to be five rows and three updates of the same
`messages` row in PostgreSQL. Folding them in Python first leaves one row per
message per batch, its state changes as a JSON `history` PostgreSQL appends in
one update (ledger.pgstore). All events of a message sit in its account's
bucket stream, in order, so the last one seen is the newest.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import msgspec

from ledger.events import EventKind, LedgerEvent, MessageEvent, MessageState, Position, Pricing

PRICING_COLUMNS = (
    "currency", "list_price", "list_currency", "exchange_rate", "cost_per_part",
    "cost_currency", "route_id", "network", "country",
)  # fmt: skip
"""`messages` columns of the message's `Pricing` (sql/0005), in its field order."""

MESSAGE_STAGE_COLUMNS = (
    "message_id", "account", "state", "parts", "held", "charged", "connector",
    "operator_message_id", "error_code", "destination", "source", "reference",
    "price_per_part", "accepted_at", "by_hold", "accepted_here", "updated_at", "first_at",
    "history", "history_ms", "history_seq", "bucket", "stream_ms", "stream_seq",
    *PRICING_COLUMNS,
)  # fmt: skip
"""Columns of `stage_messages_rows`: times in unix ms; `state` and the position
are those of the newest state change (None when the batch has none for the
message, e.g. only its capture); `history_ms/seq` is the position of its first
change in `history`, which an update appends only once (see ledger.pgstore)."""

_encode = msgspec.json.Encoder().encode
_HOLD, _CAPTURE, _ACCEPTED = EventKind.HOLD, EventKind.CAPTURE, MessageState.ACCEPTED
"""Module names: an enum member as a class attribute costs 90 ns a lookup in Python 3.11."""


class _Message:
    """What one batch says about one message."""

    __slots__ = (
        "accepted_at",
        "account",
        "by_hold",
        "charged",
        "connector",
        "destination",
        "error_code",
        "first_at",
        "held",
        "history",
        "history_at",
        "operator_message_id",
        "parts",
        "position",
        "price_per_part",
        "pricing",
        "reference",
        "source",
        "state",
        "updated_at",
    )  # fmt: skip

    def __init__(self, account: str, first_at: int) -> None:
        self.account = account
        self.first_at = first_at
        self.state: str | None = None
        self.parts = 0
        self.held: int | None = None
        self.charged: int | None = None
        self.connector: str | None = None
        self.operator_message_id: str | None = None
        self.error_code: int | None = None
        self.destination: str | None = None
        self.source: str | None = None
        self.reference: str | None = None
        self.price_per_part: int | None = None
        self.pricing: Pricing | None = None
        self.accepted_at: int | None = None
        self.by_hold = False
        self.updated_at: int | None = None
        self.history: list[tuple[str, int, str | None, str | None, int | None]] = []
        self.history_at: Position | None = None
        self.position: Position | None = None


class MessageRows:
    """Collects the message side of a batch's events; `rows()` gives the staged rows."""

    def __init__(self) -> None:
        self._messages: dict[str, _Message] = {}

    def add_money(self, event: LedgerEvent) -> None:
        """A hold accepts the message (its commit point); a capture says what it cost."""
        message_id = event.message_id
        if not message_id:
            return
        kind = event.kind
        if kind is not _HOLD and kind is not _CAPTURE:
            return
        message = self._messages.get(message_id)
        if message is None:
            message = self._messages[message_id] = _Message(event.account, event.ts_ms)
        if kind is _CAPTURE:
            message.charged = event.amount
            return
        ts_ms = event.ts_ms
        message.held = event.amount
        if event.parts > message.parts:
            message.parts = event.parts
        message.accepted_at, message.by_hold = ts_ms, True
        message.state, message.updated_at = _ACCEPTED, ts_ms
        message.position = event.position

    def add_change(self, event: MessageEvent) -> None:
        # Three of these per message in every batch: the dict lookup and the
        # comparisons are inline (0.77 -> 0.53 us per event).
        message_id, state, ts_ms = event.message_id, event.state, event.ts_ms
        message = self._messages.get(message_id)
        if message is None:
            message = self._messages[message_id] = _Message(event.account, ts_ms)
        else:
            message.account = event.account
        message.state, message.updated_at = state, ts_ms
        message.position = event.position
        if event.parts > message.parts:
            message.parts = event.parts
        connector = event.connector or None
        operator_message_id = event.operator_message_id or None
        error_code = event.error_code
        if connector is not None:
            message.connector = connector
        if operator_message_id is not None:
            message.operator_message_id = operator_message_id
        if error_code is not None:
            message.error_code = error_code
        if message.destination is None and event.destination:
            message.destination = event.destination
        if message.source is None and event.source:
            message.source = event.source
        if message.reference is None and event.reference:
            message.reference = event.reference
        if message.price_per_part is None and event.price_per_part:
            message.price_per_part = event.price_per_part
        if message.pricing is None and event.pricing is not None:
            message.pricing = event.pricing
        if message.accepted_at is None and state is _ACCEPTED:
            message.accepted_at = ts_ms
        history = message.history
        if not history:
            message.history_at = event.position
        history.append((state, ts_ms, connector, operator_message_id, error_code))

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def ids(self) -> list[str]:
        return list(self._messages)

    def days(self) -> set[int]:
        """The UTC days (since the epoch) a row of this batch may be created in."""
        days = set()
        for message in self._messages.values():
            days.add(message.first_at // 86_400_000)
            if message.accepted_at is not None:
                days.add(message.accepted_at // 86_400_000)
        return days

    def rows(self) -> Iterable[tuple[object, ...]]:
        for message_id, m in self._messages.items():
            p, h = m.position, m.history_at
            yield (
                message_id, m.account, m.state, m.parts, m.held, m.charged, m.connector,
                m.operator_message_id, m.error_code, m.destination, m.source, m.reference,
                m.price_per_part, m.accepted_at, m.by_hold, m.accepted_at is not None,
                m.updated_at, m.first_at,
                _encode(m.history).decode() if m.history else None,
                None if h is None else h.ms, None if h is None else h.seq,
                None if p is None else p.bucket, None if p is None else p.ms,
                None if p is None else p.seq,
                *(_NO_PRICING if m.pricing is None else _pricing_row(m.pricing)),
            )  # fmt: skip


_NO_PRICING = (None,) * len(PRICING_COLUMNS)


@lru_cache(maxsize=1024)
def _pricing_row(pricing: Pricing) -> tuple[object, ...]:
    """Remembered: a route's pricing repeats on each of its messages, and its
    nine lookups cost 1.08 us a row, a cache hit 0.16 us."""
    return tuple(getattr(pricing, column) or None for column in PRICING_COLUMNS)
